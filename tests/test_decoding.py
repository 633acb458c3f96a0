"""core.decoding without a model: grammars (what they accept and refuse), the closing tracker, server payloads."""

import json

import pytest

from core.decoding import ENTITIES_SCHEMA, TRIPLES_SCHEMA, Bindings, constraint_for
from core.decoding.build import schema_tree, triples_tree
from core.decoding.payloads import openai_response_format, server_schema, strict_ok, vllm_extra_body
from core.decoding.track import Tracker

TEXT = "长江发源于青藏高原，流入东海。"
RELS = ["发源地", "流入"]


@pytest.fixture(scope="module")
def tok(toy_llama_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(toy_llama_path)


@pytest.mark.parametrize("answer, ok", [
    ("(长江,发源地,青藏高原)", True),
    ("(长江,发源地,青藏高原)(长江,流入,东海)", True),
    ("(长江,作者,青藏高原)", False),  # relation not in the record's list
    ("(黄河,发源地,青藏高原)", False),  # head not in the input
    ("(长江,发源地,青藏高原)(,流入,东海)", False),  # empty head
    ("(长江发源于青藏高原，流入,流入,东海)", False),  # a full-width comma is structure, never part of a name
    ("(长江,发源地,青藏高原", False),  # not closed
    ("(长江, 发源地,青藏高原)", False),  # the format has no spaces
    ("(长江,发源地,青藏高原 )", False),  # nor names that the parser would strip
    ("", False),  # min_items=1
])
def test_triples_grammar_takes_only_copied_names_and_allowed_relations(tok, answer, ok):
    constraint = constraint_for("schema", answer_format="triples", input_text=TEXT, relations=RELS, min_items=1)
    assert constraint.accepts(tok, answer) is ok


@pytest.mark.parametrize("schema, answer, ok", [
    (TRIPLES_SCHEMA, '[["长江","发源地","青藏高原"]]', True),
    (TRIPLES_SCHEMA, "[]", True),
    (TRIPLES_SCHEMA, '[["长江","作者","青藏高原"]]', False),
    (TRIPLES_SCHEMA, '[["长","发源地","海。"],["高原","流入","东海"]]', True),
    (TRIPLES_SCHEMA, '[["长江","发源地","黄河"]]', False),
    (TRIPLES_SCHEMA, '[["长江", "发源地", "青藏高原"]]', False),  # compact JSON only
    (TRIPLES_SCHEMA, '[["长江","发源地"]]', False),
    (ENTITIES_SCHEMA, '[{"E":"地点","W":"青藏高原"},{"E":"河流","W":"长江"}]', True),
    (ENTITIES_SCHEMA, '[{"E":"人物","W":"青藏高原"}]', False),
    (ENTITIES_SCHEMA, '[{"W":"青藏高原","E":"地点"}]', False),  # properties in the schema's order
])
def test_schema_grammar_binds_the_record(tok, schema, answer, ok):
    constraint = constraint_for("schema", schema=schema, input_text=TEXT, relations=RELS, entity_types=["地点", "河流"])
    assert constraint.accepts(tok, answer) is ok


@pytest.mark.parametrize("answer, ok", [('{"a":[1,{"b":"x\\"y"}],"c":null}', True), ("{}", True), ("[1]", False),
                                        ('{"a":1', False), ('{"a": 1}', False)])
def test_json_mode_takes_any_compact_object(tok, answer, ok):
    assert constraint_for("json").accepts(tok, answer) is ok


def test_without_bindings_the_markers_fall_back_to_the_schema(tok):
    constraint = constraint_for("schema", schema=TRIPLES_SCHEMA)  # no input text, no relations
    assert constraint.accepts(tok, '[["黄河","任何关系","x"]]')
    assert not constraint.accepts(tok, '[["黄河","任何关系"]]')


def test_rest_is_the_shortest_closing_text():
    tree = triples_tree(TEXT, RELS)
    cases = [("", ""), ("(", "长,流入,长)"), ("(长江,发", "源地,长)"), ("(长江,发源地,青藏", ")"),
             ("(长江,流入,东海)", "")]
    for prefix, rest in cases:
        t = Tracker(tree)
        t.feed_bytes(prefix.encode())
        assert t.rest() == rest.encode(), prefix
    t = Tracker(triples_tree("Mount Everest is in Nepal.", ["located in"]))
    t.feed_bytes(b"(Mount ")  # a name may not end in a space: the shortest way on is the next character
    assert t.rest() == b"E,located in,M)"
    t = Tracker(schema_tree(TRIPLES_SCHEMA, Bindings(TEXT, RELS)))
    t.feed_bytes('[["长'.encode())
    assert t.rest() == '","流入","长"]]'.encode()  # "流入" is shorter than "发源地"
    t = Tracker(triples_tree(TEXT, RELS))
    t.feed_bytes("(长江,发源地,青".encode()[:-1])  # a character cut in the middle: 青 is the only one that fits
    assert t.rest() == "青".encode()[-1:] + b")"


@pytest.mark.parametrize("kind", ["triples", "schema", "json"])
def test_every_prefix_plus_its_rest_is_a_whole_answer(tok, kind):
    if kind == "triples":
        constraint = constraint_for("schema", answer_format="triples", input_text=TEXT, relations=RELS)
        answer = "(长江,发源地,青藏高原)(长江,流入,东海)"
    elif kind == "schema":
        constraint = constraint_for("schema", schema=ENTITIES_SCHEMA, input_text=TEXT, entity_types=["地点"])
        answer = '[{"E":"地点","W":"青藏高原"},{"E":"地点","W":"东海"}]'
    else:
        constraint = constraint_for("json")
        answer = '{"a":[-1.5e3,{"b":"x\\"\\u001fy"}],"c":[true,null],"长":"江"}'  # llguidance writes \\u only below 0x20
    data = answer.encode()
    for k in range(len(data) + 1):
        t = Tracker(constraint.tree)
        t.feed_bytes(data[:k])
        rest = t.rest()
        assert rest is not None, data[:k]
        assert constraint.accepts(tok, (data[:k] + rest).decode()), data[:k] + rest


def test_nothing_to_copy_leaves_names_free(tok):
    constraint = constraint_for("schema", answer_format="triples", input_text=" ,()", relations=RELS)
    assert constraint.accepts(tok, "(黄河,流入,渤海)")


def test_an_invalid_schema_is_refused_before_generation():
    assert constraint_for("schema", schema=TRIPLES_SCHEMA).validate()
    with pytest.raises(ValueError, match="invalid constraint"):
        constraint_for("schema", schema={"type": "object", "properties": {"a": {"type": "strin"}}}).validate()


def test_modes_and_formats_are_checked():
    assert constraint_for("free") is None
    with pytest.raises(ValueError, match="unknown decoding mode"):
        constraint_for("grammar")
    with pytest.raises(ValueError, match="triples text format"):
        constraint_for("json", answer_format="triples")
    with pytest.raises(ValueError, match="answer schema"):
        constraint_for("schema")
    with pytest.raises(ValueError, match="unknown x-kgllm 'cpy'"):
        constraint_for("schema", schema={"type": "string", "x-kgllm": "cpy"})


def test_openai_response_format_binds_enums_and_wraps_a_list():
    fmt = openai_response_format("schema", schema=ENTITIES_SCHEMA, bindings=Bindings(TEXT, entity_types=["地点"]),
                                 name="ner answer")
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "ner_answer"
    body = fmt["json_schema"]["schema"]
    assert body["required"] == ["output"] and body["additionalProperties"] is False
    item = body["properties"]["output"]["items"]
    assert item["properties"] == {"E": {"type": "string", "enum": ["地点"]}, "W": {"type": "string"}}
    assert fmt["json_schema"]["strict"] is True
    assert "x-kgllm" not in json.dumps(fmt)
    tuples = openai_response_format("schema", schema=TRIPLES_SCHEMA, bindings=Bindings(relations=RELS))
    assert tuples["json_schema"]["strict"] is False  # prefixItems: not in OpenAI's strict subset
    assert openai_response_format("json") == {"type": "json_object"}
    assert openai_response_format("free") is None


def test_vllm_uses_structured_outputs_not_the_removed_guided_fields():
    body = vllm_extra_body("schema", schema=TRIPLES_SCHEMA, bindings=Bindings(relations=RELS))
    assert body == {"structured_outputs": {"json": server_schema(TRIPLES_SCHEMA, Bindings(relations=RELS))}}
    assert body["structured_outputs"]["json"]["items"]["prefixItems"][1] == {"type": "string", "enum": RELS}
    lark = constraint_for("schema", answer_format="triples", input_text=TEXT, relations=RELS).lark
    assert vllm_extra_body("schema", lark=lark) == {"structured_outputs": {"grammar": lark}}
    assert vllm_extra_body("json") == {"structured_outputs": {"json": {"type": "object"}}}
    assert "guided" not in json.dumps([body, vllm_extra_body("json")])


def test_strict_ok_needs_every_property_required():
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    assert not strict_ok(loose)
    assert strict_ok({**loose, "required": ["a"]})
