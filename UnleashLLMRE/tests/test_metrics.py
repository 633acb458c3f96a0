"""The RE scores gpt3ICL.py prints: core.metrics.re_scores (the one RE scorer) and the tacred task's table."""

import pytest

from core.metrics import negative_label, re_scores
from core.tasks.tacred import format_table

NEG = "no_relation"


def test_unparsed_and_failed_answers_count_as_wrong_positive_predictions():
    gold = ["a", "a", "b", "b", NEG, NEG, "a", "b"]
    pred = ["a", NEG, "b", "a", NEG, "b", None, None]  # the last two: one unparsed, one failed
    m = re_scores(gold, pred, failed=1)
    # correct: 0, 2, 4 -> 3/8; tp: 0, 2 -> 2; n_pred: every pred but the two NEG -> 6; n_gold: 6 positives
    assert (m["acc"], m["tp"], m["n_pred"], m["n_gold"]) == (3 / 8, 2, 6, 6)
    assert m["micro_p"] == pytest.approx(2 / 6) and m["micro_r"] == pytest.approx(2 / 6)
    assert m["micro_f1"] == pytest.approx(1 / 3)
    assert (m["unparsed"], m["failed"], m["negative_label"]) == (1, 1, NEG)
    assert m["per_relation"]["a"] == {"precision": 0.5, "recall": pytest.approx(1 / 3), "f1": pytest.approx(0.4),
                                      "tp": 1, "n_pred": 2, "n_gold": 3}
    assert m["per_relation"]["b"]["tp"] == 1 and m["per_relation"]["b"]["n_pred"] == 2
    assert m["per_relation"][NEG] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1, "n_pred": 2, "n_gold": 2}


def test_skipping_unanswered_items_would_inflate_f1():
    gold, pred = ["a", "b", "c", "a"], ["a", "b", None, None]
    honest = re_scores(gold, pred)
    seed_style = re_scores(gold[:2], pred[:2])
    assert honest["micro_f1"] == pytest.approx(2 * 0.5 * 0.5 / 1.0)  # p = 2/4, r = 2/4
    assert seed_style["micro_f1"] == 1.0


def test_all_negative_gold_set():
    m = re_scores([NEG, NEG, NEG], [NEG, "a", None])
    assert (m["acc"], m["tp"], m["n_pred"], m["n_gold"]) == (1 / 3, 0, 2, 0)
    assert (m["micro_p"], m["micro_r"], m["micro_f1"]) == (0.0, 0.0, 0.0)
    assert m["unparsed"] == 1


def test_all_negative_and_all_right_is_zero_f1_not_an_error():
    m = re_scores([NEG, NEG], [NEG, NEG])
    assert (m["acc"], m["micro_p"], m["micro_r"], m["micro_f1"]) == (1.0, 0.0, 0.0, 0.0)


def test_perfect_predictions():
    m = re_scores(["a", "b", NEG], ["a", "b", NEG])
    assert (m["acc"], m["micro_p"], m["micro_r"], m["micro_f1"]) == (1.0, 1.0, 1.0, 1.0)


@pytest.mark.parametrize("labels, negative", [
    (["a", "Other", "NA"], "NA"),
    (["a", "false", "Others"], "Others"),
    (["a", "unanswerable"], "unanswerable"),
    (["a", "b"], None),
])
def test_negative_label_is_the_first_present_in_the_seed_order(labels, negative):
    assert negative_label(labels) == negative


def test_without_a_negative_label_every_label_is_positive():
    m = re_scores(["a", "b", "b"], ["a", "a", "b"], labels=["a", "b"])
    assert (m["tp"], m["n_pred"], m["n_gold"], m["negative_label"]) == (2, 3, 3, None)
    assert m["micro_f1"] == pytest.approx(2 / 3)


def test_empty_set_and_bad_counts():
    assert re_scores([], [])["acc"] == 0.0
    with pytest.raises(ValueError):
        re_scores(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        re_scores(["a"], ["a"], failed=1)


def test_table_lists_every_relation():
    table = format_table(re_scores(["a", NEG], ["a", None], failed=1))
    assert table.splitlines()[0] == ("n=2 acc=0.5000 micro_p=0.5000 micro_r=1.0000 micro_f1=0.6667 unparsed=0 "
                                     "failed=1 negative_label=no_relation")
    assert [ln.split()[0] for ln in table.splitlines()[2:]] == ["a", NEG]
