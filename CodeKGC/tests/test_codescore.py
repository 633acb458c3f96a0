"""Scoring (micro and per-relation P/R/F1, parse failures) and the self-consistency vote, against hand-computed values."""

import pytest


def t(h, r, tl, ht="person", tt="person", **extra):
    return {"head": h, "head_type": ht, "relation": r, "tail": tl, "tail_type": tt, **extra}


def test_micro_and_per_relation_scores_match_hand_computed_values(codescore):
    records = [
        {"status": "ok", "triples": [t("A", "Kill", "B"), t("A", "Live in", "X")],
         "triple_list": [["A", "Kill", "B"], ["C", "Kill", "D"]]},
        {"status": "ok", "triples": [t(" A ", "Kill", "B"), t("Q", "Born in", "Z", flags=["relation_not_in_schema"])],
         "triple_list": [["A", "Kill", "B"]]},
        {"status": "unparsable", "triples": [], "triple_list": [["E", "Live in", "F"]]},
        {"status": "empty", "triples": [], "triple_list": []},
        {"status": "error", "triples": [], "triple_list": [["G", "Kill", "H"]]},
        {"status": "ok", "triples": [t("U", "Kill", "V")]},  # no gold: not scored
    ]
    m = codescore.score(records)
    # tp: 1 + 1 = 2; pred: 2 + 2 = 4; gold: 2 + 1 + 1 + 0 + 1 = 5
    assert m["micro"] == {"precision": 0.5, "recall": 0.4, "f1": pytest.approx(4 / 9), "tp": 2, "pred": 4, "gold": 5}
    assert m["per_relation"]["Kill"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                         "tp": 2, "pred": 2, "gold": 4}
    assert m["per_relation"]["Live in"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "pred": 1, "gold": 1}
    assert m["per_relation"]["Born in"]["pred"] == 1
    assert (m["records"], m["scored"], m["parse_failures"], m["request_failures"], m["out_of_schema"]) == (6, 5, 2, 1, 1)
    assert m["status_counts"] == {"empty": 1, "error": 1, "ok": 3, "unparsable": 1}


def test_no_predictions_and_no_gold_give_zero_not_a_crash(codescore):
    m = codescore.score([{"status": "ok", "triples": [], "triple_list": []}])
    assert m["micro"]["f1"] == 0.0 and m["per_relation"] == {}


def test_vote_keeps_triples_in_at_least_threshold_of_samples(codescore):
    a, b, c = t("A", "Kill", "B"), t("C", "Kill", "D"), t("E", "Kill", "F")
    samples = [[a, b], [a, c, a], [b, a], []]  # a: 3 votes (duplicates count once), b: 2, c: 1; n = 5
    assert codescore.vote(samples, n=5, threshold=0.5) == [{**a, "votes": 3}]
    assert codescore.vote(samples, n=5, threshold=0.4) == [{**a, "votes": 3}, {**b, "votes": 2}]
    assert codescore.vote(samples, n=5, threshold=0.2) == [{**a, "votes": 3}, {**b, "votes": 2}, {**c, "votes": 1}]


def test_vote_keeps_the_typed_form_most_samples_used(codescore):
    odd = t("A", "Work for", "B", tt="location")
    usual = t("A", "Work for", "B", tt="organization")
    assert codescore.vote([[odd], [usual], [usual]], n=3, threshold=0.5) == [{**usual, "votes": 3}]


def test_single_sample_is_kept_as_it_is(codescore):
    a = t("A", "Kill", "B")
    assert codescore.vote([[a]], n=1, threshold=0.5) == [a]


def test_summary_lines_show_micro_and_each_relation(codescore):
    m = codescore.score([{"status": "ok", "triples": [t("A", "Kill", "B")], "triple_list": [["A", "Kill", "B"]]}])
    lines = codescore.summary_lines(m)
    assert lines[0].startswith("records 1 (ok 1); parse failures 0")
    assert lines[1] == "micro  P 1.0000  R 1.0000  F1 1.0000  (tp 1, pred 1, gold 1)"
    assert lines[2] == "Kill   P 1.0000  R 1.0000  F1 1.0000  (tp 1, pred 1, gold 1)"
