"""Scorers against hand-computed P/R/F1; unreadable answers are wrong predictions, never skipped."""

from __future__ import annotations

import pytest


def P(m, pred, status="ok", bad=None):
    return m.answers.Parsed(pred, status, [], bad or {})


def test_ner_entity_micro_prf_counts_duplicates_once_and_garbage_as_wrong(m):
    pairs = [
        ({"data": [{"E": "PER", "W": "Ann"}, {"E": "LOC", "W": "Oslo"}]},
         P(m, [{"E": "PER", "W": "Ann"}, {"E": "PER", "W": " Ann "}, {"E": "ORG", "W": "Oslo", "flag": "x"}])),
        ({"data": [{"E": "PER", "W": "Bob"}]}, P(m, [], "unparsable", {"entity": 1})),
        ({"data": []}, P(m, [{"E": "LOC", "W": "Rome"}])),
    ]
    # tp 1 (PER Ann); pred 2 + 1 (garbage) + 1 = 4; gold 3 -> P 1/4, R 1/3, F1 2/7
    scores = m.icl.get_task("ner").score(pairs)["entity"]
    assert (scores["correct"], scores["pred"], scores["gold"]) == (1, 4, 3)
    assert scores["precision"] == pytest.approx(1 / 4)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(2 / 7)


def test_ner_type_and_span_must_both_match(m):
    pairs = [({"data": [{"E": "PER", "W": "Ann Lee"}]}, P(m, [{"E": "PER", "W": "Ann"}, {"E": "ORG", "W": "Ann Lee"}]))]
    assert m.icl.get_task("ner").score(pairs)["entity"]["correct"] == 0


def test_re_accuracy_and_micro_f1_without_the_negative_label(m):
    golds = ["a", "no_relation", "b", "no_relation"]
    preds = ["a", "no_relation", None, "a"]
    pairs = [({"relation": g}, P(m, p)) for g, p in zip(golds, preds, strict=True)]
    scores = m.icl.get_task("re").score(pairs, ["a", "b", "no_relation"])["relation"]
    # correct 2 of 4; tp 1; predicted positives a, None, a = 3; gold positives a, b = 2
    assert scores["accuracy"] == pytest.approx(0.5)
    assert (scores["correct"], scores["pred"], scores["gold"]) == (1, 3, 2)
    assert scores["precision"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(1 / 2)
    assert scores["f1"] == pytest.approx(2 / 5)
    assert scores["negative_label"] == "no_relation"


@pytest.mark.parametrize("labels, golds, expected", [
    (["Other", "NA"], [], "NA"),
    (None, ["无关系", "创始人"], "无关系"),
    (["a", "b"], ["a"], None),
])
def test_negative_label_is_the_first_known_one_present(m, labels, golds, expected):
    assert m.metrics.negative_label(labels, golds) == expected


def test_re_without_a_negative_label_counts_every_relation(m):
    pairs = [({"relation": "a"}, P(m, "a")), ({"relation": "b"}, P(m, "a"))]
    scores = m.icl.get_task("re").score(pairs, ["a", "b"])["relation"]
    assert (scores["correct"], scores["pred"], scores["gold"], scores["f1"]) == (1, 2, 2, 0.5)


def test_ee_trigger_and_argument_prf(m):
    gold = [{"event_type": "Marriage", "trigger": "married",
             "arguments": [{"role": "Person", "argument": "Ann"}, {"role": "Place", "argument": "Oslo"}]},
            {"event_type": "Attack", "trigger": "fired", "arguments": [{"role": "Attacker", "argument": "tank"}]}]
    pred = [{"event_type": "Marriage", "trigger": "married",
             "arguments": [{"role": "Person", "argument": "Ann"}, {"role": "Place", "argument": "Rome"}]},
            {"event_type": "Attack", "trigger": "shot", "arguments": [{"role": "Attacker", "argument": "tank"}]}]
    pairs = [({"event_list": gold}, P(m, pred, "invalid", {"argument": 1})),
             ({"event_list": gold[:1]}, P(m, [], "unparsable", {"trigger": 1, "argument": 1}))]
    scores = m.icl.get_task("ee").score(pairs)
    # triggers: tp 1 (Marriage/married); pred 2 + 1; gold 2 + 1
    assert (scores["trigger"]["correct"], scores["trigger"]["pred"], scores["trigger"]["gold"]) == (1, 3, 3)
    # arguments: tp 2 (Person Ann; Attacker tank: its unit is (type, role, argument), the trigger is not part of it)
    # pred 3 + 1 malformed + 1 garbage = 5; gold 3 + 2 = 5
    assert (scores["argument"]["correct"], scores["argument"]["pred"], scores["argument"]["gold"]) == (2, 5, 5)
    assert scores["argument"]["f1"] == pytest.approx(0.4)
    assert scores["trigger"]["f1"] == pytest.approx(1 / 3)


def test_rte_triple_prf(m):
    pairs = [({"__gold__": [["A", "r", "B"], ["A", "s", "C"]]}, P(m, [["A", "r", "B"], ["A", "r", "C"]])),
             ({"__gold__": [["D", "r", "E"]]}, P(m, [], "unparsable", {"triple": 1}))]
    scores = m.icl.get_task("rte").score(pairs)["triple"]
    assert (scores["correct"], scores["pred"], scores["gold"]) == (1, 3, 3)
    assert scores["f1"] == pytest.approx(1 / 3)


def test_zero_predictions_and_zero_gold_give_zero_not_an_error(m):
    scores = m.icl.get_task("ner").score([({"data": []}, P(m, []))])["entity"]
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)
