"""The code-answer parser (core.tasks.code_parse): a table of answers -> triples and statuses (core.records' one
vocabulary); hostile code is rejected and never runs."""

import uuid
from pathlib import Path

import pytest

from core.tasks.code_parse import parse_code
from core.tasks.code_schema import schema_from_code

ROOT = Path(__file__).resolve().parents[2]


def T(h, ht, r, t, tt, **extra):
    return {"head": h, "head_type": ht, "relation": r, "tail": t, "tail_type": tt, **extra}


WF = T("Ann Lee", "person", "Work for", "Acme", "organization")
KILL = T("Bob", "person", "Kill", "Carl", "person")

CASES = [
    ("one_line", "extract = Extract([Triple(person('Ann Lee'), Rel('Work for'), organization('Acme')),])", [WF], "ok"),
    ("two_lines_seed_layout",
     "extract = Extract([Triple(person('Ann Lee'), Rel('Work for'), organization('Acme')),\n"
     "                   Triple(person('Bob'), Rel('Kill'), person('Carl')),])", [WF, KILL], "ok"),
    ("no_triples", "extract = Extract([])", [], "ok"),
    ("markdown_fence_and_prose",
     "Here you go:\n```python\nextract = Extract([Triple(person(\"Ann Lee\"), Rel(\"Work for\"), "
     "organization(\"Acme\"))])\n```\nHope this helps!", [WF], "repaired"),
    ("markdown_fence_alone", "```python\nextract = Extract([Triple(person('Ann Lee'), Rel('Work for'), "
     "organization('Acme'))])\n```", [WF], "ok"),
    ("text_after_statement",
     "extract = Extract([Triple(person('Bob'), Rel('Kill'), person('Carl'))])\n\"\"\" next sentence \"\"\"", [KILL],
     "repaired"),
    ("truncated_keeps_complete_triples",
     "extract = Extract([Triple(person('Ann Lee'), Rel('Work for'), organization('Acme')),\n"
     "                   Triple(person('Bob'), Rel('Ki", [WF], "repaired"),
    ("truncated_before_first_triple", "extract = Extract([Triple(person('Ann", [], "repaired"),
    ("escaped_quote", r"extract = Extract([Triple(person('O\'Neil'), Rel('Kill'), person('Carl'))])",
     [T("O'Neil", "person", "Kill", "Carl", "person")], "ok"),
    ("triple_quoted_and_keywords",
     "extract = Extract(triples=[Triple(head=person('''Bob'''), relation=Rel(name=\"Kill\"), tail=person('Carl'))])",
     [KILL], "ok"),
    ("curly_quotes_fallback", "extract = Extract([Triple(person(\u2018Bob\u2019), Rel(\u2018Kill\u2019), "
     "person(\u2018Carl\u2019))])", [KILL], "repaired"),
    ("relation_as_schema_class", "extract = Extract([Triple(person('Bob'), Kill('Kill'), person('Carl'))])", [KILL],
     "ok"),
    ("relation_underscored", "extract = Extract([Triple(person('Ann Lee'), Rel('Work_for'), organization('Acme'))])",
     [WF], "ok"),
    ("bare_list_without_extract", "[Triple(person('Bob'), Rel('Kill'), person('Carl'))]", [KILL], "ok"),
    ("duplicates_kept_once", "extract = Extract([Triple(person('Bob'), Rel('Kill'), person('Carl')), "
     "Triple(person('Bob'), Rel('Kill'), person('Carl'))])", [KILL], "ok"),
    ("unknown_class_and_relation_kept_flagged",
     "extract = Extract([Triple(person('Bob'), Rel('Born in'), city('Paris'))])",
     [T("Bob", "person", "Born in", "Paris", "city", flags=["relation_not_in_schema", "tail_type_not_in_schema"])],
     "invalid"),
    ("base_entity_class_is_untyped", "extract = Extract([Triple(Entity('Bob'), Rel('Kill'), person('Carl'))])",
     [T("Bob", None, "Kill", "Carl", "person", flags=["head_untyped"])], "ok"),
    ("non_triple_element_is_skipped_and_reported",
     "extract = Extract([Triple(person('Bob'), Rel('Kill'), person('Carl')), 'oops'])", [KILL], "invalid"),
    ("empty", "", [], "unparsable"),
    ("blank", "  \n ", [], "unparsable"),
    ("prose_only", "I could not find any relation in this sentence.", [], "unparsable"),
    ("unbalanced", "extract = Extract([Triple(person('Bob'), Rel('Kill'), person('Carl')))", [], "unparsable"),
]


@pytest.mark.parametrize("text, triples, status", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_completion_table(conll_schema, text, triples, status):
    result = parse_code(text, conll_schema)
    assert (result.pred, result.status, result.raw) == (triples, status, text), result


def test_partial_names_the_skipped_element(conll_schema):
    result = parse_code("Extract([Triple(person('Bob'), Rel('Kill'), person('Carl')), 'oops'])", conll_schema)
    assert result.issues == ["element 2: not a Triple(...)"]


def test_out_of_schema_triple_is_an_issue_but_untyped_is_not(conll_schema):
    result = parse_code("Extract([Triple(person('Bob'), Rel('Born in'), city('Paris')), "
                        "Triple(Entity('Bob'), Rel('Kill'), person('Carl'))])", conll_schema)
    assert result.status == "invalid"
    assert result.issues == ["element 1: relation not in schema, tail type not in schema"]


def test_a_repair_and_an_issue_together_are_invalid(conll_schema):
    result = parse_code("extract = Extract([Triple(person('Bob'), Rel('Born in'), person('Carl')),\n"
                        "                   Triple(person('Ann", conll_schema)
    assert (result.status, len(result.pred)) == ("invalid", 1)


def test_without_schema_class_names_are_types_and_nothing_is_flagged():
    result = parse_code("Extract([Triple(city('Paris'), Rel('Located in'), country('France'))])")
    assert result.pred == [T("Paris", "city", "Located in", "France", "country")] and result.status == "ok"


HOSTILE = [
    "__import__('os').system('touch {p}')",
    "extract = Extract([Triple(person('a'), Rel('Kill'), person('b'))]); __import__('os').system('touch {p}')",
    "extract = Extract([__import__('os').system('touch {p}')])",
    "extract = Extract([Triple(person(__import__('os').system('touch {p}')), Rel('Kill'), person('b'))])",
    "extract = Extract([Triple(person(eval(\"__import__('os').system('touch {p}')\")), Rel('Kill'), person('b'))])",
    "extract = Extract([exec(\"import os; os.system('touch {p}')\")])",
    "extract = Extract([Triple(person(open('{p}', 'w')), Rel('Kill'), person('b'))])",
    "extract = Extract([Triple(person(f\"{{__import__('os').system('touch {p}')}}\"), Rel('Kill'), person('b'))])",
    "extract = Extract([(lambda: __import__('os').system('touch {p}'))()])",
    "extract = Extract([Triple(person(().__class__.__bases__[0].__subclasses__()), Rel('Kill'), person('b'))])",
    "extract = Extract([Triple(person('a' + 'b'), Rel('Kill'), person([x for x in 'touch {p}']))])",
    "extract = Extract([getattr(os, 'system')('touch {p}')])",
    "extract = Extract([Triple(person(**{{'name': 'a'}}), Rel('Kill'), person('b'))])",
    "```python\nimport os\nos.system('touch {p}')\nextract = Extract([Triple(person(os.name), Rel('Kill'), person('b'))])\n```",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_code_is_unparsable_and_never_runs(conll_schema, template):
    marker = Path(f"/tmp/pwned_{uuid.uuid4().hex}")
    result = parse_code(template.format(p=marker), conll_schema)
    assert result.status == "unparsable" and result.pred == []
    assert result.issues and result.issues[0]
    assert not marker.exists()


@pytest.mark.parametrize("module", ["code_parse.py", "code_safety.py", "code_schema.py", "code.py"])
def test_parser_modules_never_call_eval_or_exec(module):
    source = (ROOT / "core" / "tasks" / module).read_text(encoding="utf-8")
    assert "eval(" not in source.replace("literal_eval(", "").replace('mode="eval"', "")
    assert "exec(" not in source.replace("exec_module(", "")


def test_deeply_nested_garbage_is_unparsable_not_a_crash():
    result = parse_code("extract = Extract([" + "(" * 5000 + ")" * 5000 + "])")
    assert result.status == "unparsable"


def test_a_schema_class_named_like_a_builtin_is_allowed_but_builtins_are_not():
    schema = schema_from_code("class Entity:\n    pass\nclass property(Entity):\n    pass\n")
    good = parse_code("Extract([Triple(property('Villa X'), Rel('owned by'), Entity('Y'))])", schema)
    assert good.status == "ok" and good.pred[0]["head_type"] == "property"
    bad = parse_code("Extract([Triple(open('Villa X'), Rel('owned by'), Entity('Y'))])", schema)
    assert bad.status == "unparsable" and bad.issues == ["rejected: name 'open' is not allowed"]


def test_the_registered_task_parses_with_the_schema_it_was_given(conll_schema):
    from core.tasks import get_task
    from core.tasks.code import CodeTask

    answer = "Extract([Triple(person('Bob'), Rel('Born in'), person('Carl'))])"
    assert get_task("code").parse(answer, {"text": "x"}).status == "ok"  # no schema: nothing flagged
    assert CodeTask(conll_schema).parse(answer, {"text": "x"}).status == "invalid"
