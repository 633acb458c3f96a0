"""DA answers: pretty-printed objects are read whole, an answer without a sample is counted, nothing goes uncounted."""

import json

import pytest

from core.parsing.answers import json_objects
from core.records import OK, REPAIRED, Parsed
from core.tasks import da, get_task

TASK = get_task("da")
REL = "org:founded_by"
TYPES = ["PERSON", "ORGANIZATION"]
GOOD = {"text": "Ann Lee founded Acme Corp in 2001.", "head_entity": "Acme Corp", "head_type": "ORGANIZATION",
        "tail_entity": "Ann Lee", "tail_type": "PERSON", "relation": REL}
ABSENT = {"text": "Bo Chen runs a bakery.", "head_entity": "Chen Bakes", "head_type": "ORGANIZATION",
          "tail_entity": "Bo Chen", "tail_type": "PERSON", "relation": REL}  # head not in text
NO_TYPE = {"text": "Cy Diaz set up Delta Labs.", "head_entity": "Delta Labs", "head_type": "ORGANIZATION",
           "tail_entity": "Cy Diaz", "relation": REL}  # missing tail_type
PRETTY = [json.dumps(x, indent=2) for x in (GOOD, ABSENT, NO_TYPE)]
THREE = {"asked": 5, "generated": 3, "kept": 1, "dropped": {"head not in text": 1, "missing tail_type": 1}}


def report_of(answer, number=5):
    kept, report = da.select({REL: TASK.parse(answer, {}, None)}, [], TYPES, number)
    return kept, report[REL]


@pytest.mark.parametrize("answer", ["Here you go: extracted = []", "[]", "```json\n[]\n```", '{"samples": []}'])
def test_an_answer_without_a_sample_is_counted_with_its_reason(answer):
    parsed = TASK.parse(answer, {}, None)
    assert parsed.pred == [] and parsed.issues == ["no sample in the answer"]
    assert report_of(answer, number=3) == ([], {"asked": 3, "generated": 0, "kept": 0,
                                               "dropped": {"no sample in the answer": 1}})


def test_every_answer_is_accounted_for_in_the_report():
    answers = {"r1": TASK.parse("[]", {}, None), "r2": TASK.parse("no idea", {}, None),
               "r3": TASK.parse(json.dumps([{**GOOD, "relation": "r3"}]), {}, None)}
    kept, report = da.select(answers, [], TYPES, 2)
    assert [s["relation"] for s in kept] == ["r3"]
    assert {k: (r["generated"], r["dropped"]) for k, r in report.items()} == {
        "r1": (0, {"no sample in the answer": 1}), "r2": (0, {"unreadable answer": 1}), "r3": (1, {})}


@pytest.mark.parametrize("answer, status", [
    pytest.param("\n".join(PRETTY), OK, id="one-after-another"),
    pytest.param("\n\n".join(PRETTY), OK, id="blank-lines-between"),
    pytest.param("```json\n" + ",\n".join(PRETTY) + "\n```", OK, id="fence-and-commas"),
    pytest.param("\n".join(f"```json\n{p}\n```" for p in PRETTY), OK, id="a-fence-each"),
    pytest.param("\n".join(f"{n}. {p}" for n, p in enumerate(PRETTY, 1)), OK, id="numbered"),
    pytest.param("\n".join(f"Sample {n}: {p}" for n, p in enumerate(PRETTY, 1)), REPAIRED, id="labelled"),
    pytest.param("Here you go:\n" + json.dumps([GOOD, ABSENT, NO_TYPE], indent=2), REPAIRED, id="list-after-prose"),
    pytest.param("\n".join([PRETTY[0].replace('"\n}', '",\n}'),  # a trailing comma
                            PRETTY[1], PRETTY[2][: PRETTY[2].index('"tail_entity"')]]),  # cut off
                 REPAIRED, id="malformed-and-cut-off"),
])
def test_three_pretty_printed_objects_are_three_samples(answer, status):
    parsed = TASK.parse(answer, {}, None)
    assert parsed.status == status and len(parsed.pred) == 3
    assert report_of(answer) == ([GOOD], THREE)


def test_prose_before_pretty_objects_counts_as_one_line_like_in_a_json_lines_answer():
    answer = "Here are 3 new samples:\n" + "\n".join(PRETTY)
    parsed = TASK.parse(answer, {}, None)
    assert parsed == Parsed(["Here are 3 new samples:", GOOD, ABSENT, NO_TYPE], REPAIRED)
    assert report_of(answer)[1]["dropped"] == {"not an object": 1, "head not in text": 1, "missing tail_type": 1}


def test_one_object_per_line_reads_as_before():
    lines = [json.dumps(GOOD), json.dumps(ABSENT), json.dumps(NO_TYPE)]
    assert TASK.parse("\n".join(lines), {}, None) == Parsed([GOOD, ABSENT, NO_TYPE], OK)
    answer = "\n".join([*lines[:2], "Ann met Bob.", lines[2]])
    assert TASK.parse(answer, {}, None) == Parsed([GOOD, ABSENT, "Ann met Bob.", NO_TYPE], REPAIRED)
    assert report_of(answer) == ([GOOD], {"asked": 5, "generated": 4, "kept": 1, "dropped": {
        "head not in text": 1, "not an object": 1, "missing tail_type": 1}})


@pytest.mark.parametrize("text, expected", [
    ('1. {"a": 1},\n{\n  "b": [1, 2]\n}\nnote', [({"a": 1}, True), ({"b": [1, 2]}, True), ("note", False)]),
    ('{"a": "b", "c": "d"\n{"e": 1}', [({"a": "b", "c": "d"}, False), ({"e": 1}, True)]),  # a brace missing
    ('{"x": "}"} {"y": 2}', [({"x": "}"}, True), ({"y": 2}, True)]),  # two on one line
    ('{\n  "t": "a { b",\n}\n{"u": 1}', [({"t": "a { b"}, False), ({"u": 1}, True)]),  # a brace inside a string
    ("{not json", [("{not json", False)]),
    ("```\n\n```", []),
])
def test_json_objects_reads_objects_over_lines_and_keeps_other_lines(text, expected):
    assert json_objects(text) == expected
