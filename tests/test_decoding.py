"""core.decoding without a model: grammars (what they accept and refuse), the closing tracker, server payloads."""

import json

import pytest

from core.decoding import Bindings, constraint_for
from core.decoding.build import schema_tree, triples_tree
from core.decoding.payloads import openai_response_format, server_schema, strict_ok, vllm_extra_body
from core.decoding.track import Tracker
from core.tasks.ner import ENTITIES_SCHEMA
from core.tasks.rte import TRIPLES_SCHEMA

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


@pytest.mark.parametrize("answer, ok", [
    ('[["长江","任何关系","青藏高原"]]', True),  # no relation list: any relation name
    ('[["长江","","青藏高原"]]', False),  # but never an empty one
    ('[["长江"," 发源地","青藏高原"]]', False),  # nor one the parser would strip
    ('[["长江","发源地\\n","青藏高原"]]', False),  # nor one with escapes
    ('[["黄河","发源地","青藏高原"]]', False),  # names are still copied from the input
])
def test_a_relation_without_a_list_is_any_non_empty_name(tok, answer, ok):
    assert constraint_for("schema", schema=TRIPLES_SCHEMA, input_text=TEXT).accepts(tok, answer) is ok


def test_an_entity_type_without_a_list_is_any_non_empty_name(tok):
    constraint = constraint_for("schema", schema=ENTITIES_SCHEMA, input_text=TEXT)
    assert constraint.accepts(tok, '[{"E":"地点","W":"青藏高原"}]')
    assert not constraint.accepts(tok, '[{"E":"","W":"青藏高原"}]')


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
    t = Tracker(schema_tree(TRIPLES_SCHEMA, Bindings(TEXT)))  # no relation list: the shortest name is one character
    t.feed_bytes('[["长","'.encode())
    assert t.rest() == 'x","长"]]'.encode()
    t.feed_bytes(b"rel ")  # a name may not end in a space
    assert t.rest() == 'x","长"]]'.encode()
    t = Tracker(triples_tree(TEXT, RELS))
    t.feed_bytes("(长江,发源地,青".encode()[:-1])  # a character cut in the middle: 青 is the only one that fits
    assert t.rest() == "青".encode()[-1:] + b")"


@pytest.mark.parametrize("kind", ["triples", "schema", "named", "json"])
def test_every_prefix_plus_its_rest_is_a_whole_answer(tok, kind):
    if kind == "triples":
        constraint = constraint_for("schema", answer_format="triples", input_text=TEXT, relations=RELS)
        answer = "(长江,发源地,青藏高原)(长江,流入,东海)"
    elif kind == "schema":
        constraint = constraint_for("schema", schema=ENTITIES_SCHEMA, input_text=TEXT, entity_types=["地点"])
        answer = '[{"E":"地点","W":"青藏高原"},{"E":"地点","W":"东海"}]'
    elif kind == "named":  # a relation without a list: any non-empty name
        constraint = constraint_for("schema", schema=TRIPLES_SCHEMA, input_text=TEXT)
        answer = '[["长江","source of","青藏高原"],["长江","流 入","东海"]]'
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


# ---- AnswerSpec: one answer's constraint as data, and the task schemas ---------------------------------------------
def _compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_answer_spec_round_trips_and_refuses_bad_fields():
    from core.decoding.spec import AnswerSpec

    spec = AnswerSpec("triples", {"type": "array", "items": {"type": "string"}}, TEXT)
    assert AnswerSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    for data, message in [({"format": "xml"}, "answer.format: expected one of json, triples"),
                          ({"schema": {"type": "string", "x-kgllm": "cpy"}}, "unknown x-kgllm"),
                          ({"input_text": 3}, "answer.input_text: expected a string"),
                          ({"text": "x"}, "unknown field 'text'"), (["json"], "expected an object")]:
        with pytest.raises(ValueError, match=message):
            AnswerSpec.from_dict(data)


def test_plan_is_the_one_rule_of_what_each_mode_enforces(tok):
    from core.decoding.spec import NO_SCHEMA, AnswerSpec, local_plan
    from core.tasks import get_task

    rec = get_task("ccks").check({"instruction": f"关系：{RELS}", "input": TEXT}, "x", 1)
    ccks = AnswerSpec("triples", get_task("ccks").answer_schema(rec, None), TEXT)
    assert ccks.options("relation") == RELS and ccks.min_items() == 1
    assert ccks.plan("free") is None
    assert ccks.plan("schema").accepts(tok, "(长江,发源地,青藏高原)")
    assert not ccks.plan("schema").accepts(tok, "(黄河,发源地,青藏高原)")
    syntax = ccks.plan("json")  # the (h,r,t) syntax only
    assert syntax.mode == "json" and syntax.accepts(tok, "(黄河,任何关系,渤海)") and not syntax.accepts(tok, "")
    rte = AnswerSpec("json", TRIPLES_SCHEMA, TEXT)
    assert rte.plan("json").accepts(tok, '{"a":1}') and not rte.plan("json").accepts(tok, "[]")
    assert rte.plan("schema").accepts(tok, "[]")
    assert local_plan("schema", None) == (None, "free", NO_SCHEMA)
    constraint, mode, why = local_plan("schema", AnswerSpec("json", None, TEXT))
    assert mode == "json" and "no schema" in why and constraint.accepts(tok, "{}")
    assert local_plan("json", None)[1:] == ("json", None)


def test_server_body_per_server_kind():
    from core.decoding.spec import AnswerSpec

    ccks = AnswerSpec("triples", {**TRIPLES_SCHEMA, "minItems": 1}, TEXT)
    assert ccks.server_body("schema", "openai")[:2] == ({}, "free") and "JSON only" in ccks.server_body(
        "schema", "openai")[2]
    body, mode, why = ccks.server_body("schema", "vllm")
    assert mode == "schema" and why is None and body["structured_outputs"]["grammar"] == ccks.plan("schema").lark
    body, mode, _ = ccks.server_body("json", "kgllm")
    assert body == {"kgllm": {"decoding": "json", "answer": ccks.to_dict()}} and mode == "json"
    rte = AnswerSpec("json", TRIPLES_SCHEMA, TEXT)
    assert rte.server_body("json", "openai")[0] == {"response_format": {"type": "json_object"}}
    assert rte.server_body("schema", "openai")[0]["response_format"]["json_schema"]["schema"]["required"] == ["output"]
    assert rte.server_body("free", "vllm") == ({}, "free", None)


GOLD = [  # (task, record, labels, its gold answer as the task's prompt asks for it, the same with a foreign label)
    ("rte", {"text": TEXT}, RELS, [["长江", "发源地", "青藏高原"]], [["长江", "作者", "青藏高原"]]),
    ("ner", {"text": TEXT}, ["地点", "河流"], [{"E": "河流", "W": "长江"}], [{"E": "人物", "W": "长江"}]),
    ("re", {"text": TEXT, "head_entity": "长江", "tail_entity": "东海"}, ["流入", "no_relation"],
     {"relation": "流入"}, {"relation": "作者"}),
    ("kg", {"text": TEXT}, RELS, {"triples": [{"head": "长江", "relation": "流入", "tail": "东海"}]},
     {"triples": [{"head": "长江", "relation": "作者", "tail": "东海"}]}),
    ("ee", {"text": "他们在上海结婚。"}, ["Marriage"],
     [{"event_type": "Marriage", "trigger": "结婚", "arguments": [{"role": "Place", "argument": "上海"}]}],
     [{"event_type": "Attack", "trigger": "结婚", "arguments": []}]),
]


@pytest.mark.parametrize("name, rec, labels, gold, foreign", GOLD, ids=[g[0] for g in GOLD])
def test_each_task_schema_takes_its_gold_answer_refuses_a_foreign_label_and_the_parser_reads_it(
        tok, name, rec, labels, gold, foreign):
    from core.decoding.spec import AnswerSpec
    from core.tasks import get_task

    task = get_task(name)
    rec = task.check(rec, "x", 1)
    spec = AnswerSpec(task.answer_format(rec), task.answer_schema(rec, labels), task.text_of(rec))
    constraint = spec.plan("schema")
    assert constraint.accepts(tok, _compact(gold))
    assert not constraint.accepts(tok, _compact(foreign))
    parsed = task.parse(_compact(gold), rec, labels)
    assert parsed.status == "ok" and parsed.pred, parsed
    if name in ("rte", "ner", "ee"):  # a list: one copied string that is not in the text is refused too
        wrong = json.loads(_compact(gold).replace("长江", "黄河").replace("上海", "北京"))
        assert not constraint.accepts(tok, _compact(wrong))


def test_the_ccks_records_answer_format_is_the_triples_text():
    from core.decoding.spec import AnswerSpec
    from core.tasks import get_task

    for name in ("rte", "ccks"):
        task = get_task(name)
        rec = task.check({"instruction": f"关系：{RELS}", "input": TEXT}, "x", 1)
        spec = AnswerSpec(task.answer_format(rec), task.answer_schema(rec, None), task.text_of(rec))
        assert (spec.format, spec.input_text, spec.options("relation"), spec.min_items()) == ("triples", TEXT, RELS, 1)
    assert get_task("rte").answer_format({"text": TEXT}) == "json"
    assert get_task("code").answer_schema({"text": TEXT}, None) is None  # no schema: schema decoding asks it free
