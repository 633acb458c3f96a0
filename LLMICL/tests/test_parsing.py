"""Parsers: tables of answers (valid, repairable JSON, wrong label, span not in text, garbage) -> expected records."""

from __future__ import annotations

import pytest

TEXT = "Ann Lee met Bob Ray in Oslo."
PER = [{"E": "PER", "W": "Ann Lee"}]

NER_CASES = [
    # answer, labels, expected pred, status, bad entity count, issue substring
    ('[{"E": "PER", "W": "Ann Lee"}]', ["PER"], PER, "ok", 0, None),
    ('```json\n[{"E": "PER", "W": "Ann Lee"}]\n```', None, PER, "ok", 0, None),
    ('{"entities": [{"type": "PER", "text": "Ann Lee"}]}', None, PER, "ok", 0, None),
    ('Sure! Here they are: [{"E": "PER", "W": "Ann Lee"}', None, PER, "repaired", 0, None),
    ('[{"E": "PER", "W": "Ann Lee",}]', None, PER, "repaired", 0, None),
    ('[{"E": "ORG", "W": "Ann Lee"}]', ["PER", "LOC"], [{"E": "ORG", "W": "Ann Lee", "flag": "type 'ORG' not allowed"}],
     "invalid", 0, "type 'ORG' not allowed"),
    ('[{"E": "PER", "W": "Carl"}]', None, [{"E": "PER", "W": "Carl", "flag": "not in the text"}], "invalid", 0,
     "'Carl' (PER): not in the text"),
    ('[{"E": "PER"}, "Bob Ray", {"E": "LOC", "W": "Oslo"}]', None, [{"E": "LOC", "W": "Oslo"}], "invalid", 2,
     "needs E (type) and W (words)"),
    ("[]", None, [], "ok", 0, None),
    ("I could not find any.", None, [], "unparsable", 1, "no JSON list"),
    ("", None, [], "unparsable", 1, "no JSON list"),
]


@pytest.mark.parametrize("answer, labels, pred, status, bad, issue", NER_CASES)
def test_ner_parser(m, answer, labels, pred, status, bad, issue):
    parsed = m.icl.get_task("ner").parse(answer, {"text": TEXT}, labels)
    assert parsed.pred == pred
    assert parsed.status == status
    assert parsed.bad.get("entity", 0) == bad
    assert (issue is None and parsed.issues == []) or any(issue in i for i in parsed.issues)


RE_LABELS = ["founded_by", "city_of_birth", "no_relation"]
RE_CASES = [
    ('{"relation": "founded_by"}', RE_LABELS, "founded_by", "ok", None),
    ('"city_of_birth"', RE_LABELS, "city_of_birth", "ok", None),
    ("city_of_birth", RE_LABELS, "city_of_birth", "repaired", None),
    ("Answer: Founded_By.", RE_LABELS, "founded_by", "repaired", None),
    ("The relation between them is city_of_birth, I think.", RE_LABELS, "city_of_birth", "repaired", None),
    ('{"relation": founded_by', RE_LABELS, "founded_by", "repaired", None),
    ('{"relation": "FOUNDED_BY"}', RE_LABELS, "founded_by", "repaired", None),
    ('{"relation": "married_to"}', RE_LABELS, "married_to", "invalid", "'married_to' not allowed"),
    ("It could be founded_by or city_of_birth.", RE_LABELS, None, "unparsable", None),
    ("", RE_LABELS, None, "unparsable", None),
    ("parent of", None, "parent of", "repaired", None),
]


@pytest.mark.parametrize("answer, labels, relation, status, flag", RE_CASES)
def test_re_parser(m, answer, labels, relation, status, flag):
    parsed = m.icl.get_task("re").parse(answer, {"text": TEXT, "head_entity": "Ann Lee", "tail_entity": "Oslo"},
                                        labels)
    assert parsed.pred == relation
    assert parsed.status == status
    if flag:
        assert any(flag in issue for issue in parsed.issues)
    elif status != "unparsable":
        assert parsed.issues == []
    assert bool(parsed.bad) == (status == "unparsable")


EE_TEXT = "Ann Lee married Bob Ray in Oslo."
MARRIAGE = {"event_type": "Marriage", "trigger": "married",
            "arguments": [{"role": "Person", "argument": "Ann Lee"}, {"role": "Place", "argument": "Oslo"}]}
EE_CASES = [
    ('[{"event_type": "Marriage", "trigger": "married", "arguments": [{"role": "Person", "argument": "Ann Lee"}, '
     '{"role": "Place", "argument": "Oslo"}]}]', ["Marriage"], [MARRIAGE], "ok", {}),
    ('{"events": [{"type": "Marriage", "trigger": "married", "arguments": [{"role": "Person", "text": "Ann Lee"}, '
     '{"role": "Place", "argument": "Oslo"}]}]}', None, [MARRIAGE], "ok", {}),
    ('Events: [{"event_type": "Marriage", "trigger": "married", "arguments": [{"role": "Person", "argument": '
     '"Ann Lee"}, {"role": "Place", "argument": "Oslo"}', None, [MARRIAGE], "repaired", {}),
    ('[{"event_type": "Divorce", "trigger": "split", "arguments": []}]', ["Marriage"],
     [{"event_type": "Divorce", "trigger": "split", "arguments": [],
       "flag": "event type 'Divorce' not allowed; trigger 'split' not in the text"}], "invalid", {}),
    ('[{"event_type": "Marriage", "trigger": "married", "arguments": [{"role": "Place", "argument": "Paris"}, '
     '{"argument": "Oslo"}]}, {"trigger": "met"}]', None,
     [{"event_type": "Marriage", "trigger": "married",
       "arguments": [{"role": "Place", "argument": "Paris", "flag": "not in the text"}]}], "invalid",
     {"argument": 2, "trigger": 1}),
    ("No events.", None, [], "unparsable", {"trigger": 1, "argument": 1}),
]


@pytest.mark.parametrize("answer, labels, pred, status, bad", EE_CASES)
def test_ee_parser(m, answer, labels, pred, status, bad):
    parsed = m.icl.get_task("ee").parse(answer, {"text": EE_TEXT}, labels)
    assert parsed.pred == pred
    assert parsed.status == status
    assert parsed.bad == bad


RTE_TEXT = "Ann Lee founded Acme in Oslo."
RTE_CASES = [
    ('[["Acme", "founded by", "Ann Lee"]]', None, [["Acme", "founded by", "Ann Lee"]], "ok", 0),
    ('[["Acme", "founded by", "Ann Lee"], ["Acme", "founded by", "Ann Lee"]]', None,
     [["Acme", "founded by", "Ann Lee"]], "ok", 0),
    ('{"triples": [{"subject": "Acme", "predicate": "located in", "object": "Oslo"}]}', None,
     [["Acme", "located in", "Oslo"]], "ok", 0),
    ('["Acme", "located in", "Oslo"]', None, [["Acme", "located in", "Oslo"]], "ok", 0),
    ('Triples: [["Acme", "located in", "Oslo"]', None, [["Acme", "located in", "Oslo"]], "repaired", 0),
    ("(Acme,founded by,Ann Lee)（Acme，located in，Oslo）", None,
     [["Acme", "founded by", "Ann Lee"], ["Acme", "located in", "Oslo"]], "repaired", 0),
    ('[["Acme", "owns", "Oslo"]]', ["founded by", "located in"], [["Acme", "owns", "Oslo"]], "invalid", 0),
    ('[["Acme", "located in", "Paris"]]', None, [["Acme", "located in", "Paris"]], "invalid", 0),
    ('[["Acme", "located in"], "Oslo", ["Acme", "located in", "Oslo"]]', None, [["Acme", "located in", "Oslo"]],
     "invalid", 2),
    ("Nothing to extract here", None, [], "unparsable", 1),
]


@pytest.mark.parametrize("answer, labels, pred, status, bad", RTE_CASES)
def test_rte_parser(m, answer, labels, pred, status, bad):
    parsed = m.icl.get_task("rte").parse(answer, {"text": RTE_TEXT}, labels)
    assert parsed.pred == pred
    assert parsed.status == status
    assert parsed.bad.get("triple", 0) == bad


CCKS_REC = {"id": 1, "instruction": "抽取关系类型为{'位于','创始人'}", "input": "甲公司由乙创办，位于丙市。"}
CCKS_CASES = [
    ("(甲公司,创始人,乙)(甲公司,位于,丙市)", [["甲公司", "创始人", "乙"], ["甲公司", "位于", "丙市"]], "ok"),
    ("输入中包含的关系三元组是：（甲公司，位于，丙市）", [["甲公司", "位于", "丙市"]], "repaired"),
    ('[["甲公司", "位于", "丙市"]]', [["甲公司", "位于", "丙市"]], "repaired"),
    ("(甲公司,总部,丙市)", [["甲公司", "总部", "丙市"]], "invalid"),
    ("", [], "ok"),
]


@pytest.mark.parametrize("answer, pred, status", CCKS_CASES)
def test_ccks_records_are_read_with_the_instructkgc_parser(m, answer, pred, status):
    parsed = m.icl.get_task("rte").parse(answer, CCKS_REC, None)
    assert parsed.pred == pred
    assert parsed.status == status


@pytest.mark.parametrize("answer", ["{{{{", "[" * 500, '{"a": ' * 200, "\x00\x01", "null", "42", "true"])
def test_no_answer_makes_a_parser_raise(m, answer):
    for name in ("ner", "re", "ee", "rte", "da"):
        parsed = m.icl.get_task(name).parse(answer, {"text": TEXT, "head_entity": "Ann Lee", "tail_entity": "Oslo"},
                                            None)
        assert parsed.status in ("ok", "repaired", "invalid", "unparsable")
