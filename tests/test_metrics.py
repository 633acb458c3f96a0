"""core.metrics: P/R/F1 helpers and the CCKS2023 score, checked against values worked out by hand."""

import pytest

from core.io import DataError
from core.metrics import micro_prf, prf
from core.metrics.ccks import ccks_scores, mean_rouge2, rouge2


# rouge_chinese's F: 2 * p * r / (p + r + 1e-8)
def rouge_f(p, r):
    return 2 * p * r / (p + r + 1e-8)


def test_prf_by_hand():
    assert prf(1, 2, 4) == {"precision": 0.5, "recall": 0.25, "f1": pytest.approx(1 / 3)}


@pytest.mark.parametrize(("tp", "n_pred", "n_gold"), [(0, 0, 0), (0, 0, 3), (0, 3, 0), (0, 2, 2)])
def test_prf_division_by_zero_gives_zero(tp, n_pred, n_gold):
    assert prf(tp, n_pred, n_gold) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_micro_prf_sums_counts_over_records():
    # record 1: gold {a,b}, pred {a}; record 2: gold {c}, pred {c,d,e} -> tp 2, pred 4, gold 3
    out = micro_prf([["a", "b"], ["c"]], [["a"], ["c", "d", "e"]])
    assert (out["correct"], out["pred"], out["gold"]) == (2, 4, 3)
    assert out["precision"] == 0.5
    assert out["recall"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))  # 4/7


def test_set_and_normal_modes_differ_on_duplicates():
    gold, pred = [["a", "a", "b"]], [["a", "a", "a", "c"]]
    # set: gold {a,b}, pred {a,c}: tp 1 of 2 / 2
    assert micro_prf(gold, pred, "set") == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "gold": 2, "pred": 2,
                                           "correct": 1}
    # normal: gold a,a,b; pred a,a,a,c: tp min(2,3)=2, pred 4, gold 3 -> P 1/2, R 2/3, F1 4/7
    normal = micro_prf(gold, pred, "normal")
    assert (normal["correct"], normal["pred"], normal["gold"]) == (2, 4, 3)
    assert normal["f1"] == pytest.approx(4 / 7)


def test_micro_prf_rejects_unknown_mode():
    with pytest.raises(ValueError, match="match"):
        micro_prf([], [], "fuzzy")


def test_rouge2_zh_matches_the_measured_value():
    # jieba: ( 弗雷泽 , 获奖 , 铜牌 ) -> 6 distinct bigrams, all in the reference's 12 distinct bigrams
    value = rouge2("(弗雷泽,获奖,铜牌)", "(弗雷泽,获奖,铜牌),(弗雷泽,国家,澳大利亚)", "zh")
    assert value == 0.6666666622222223
    assert value == rouge_f(1.0, 6 / 12)


def test_rouge2_en_normalises_case_punctuation_and_articles():
    # both become: cat sat on mat -> identical, 3 bigrams each
    assert rouge2("The cat sat on the mat.", "A cat sat on a mat", "en") == rouge_f(1.0, 1.0)


def test_rouge2_en_by_hand():
    # hyp: smith born in usa (3 bigrams); ref: smith born in usa smith work for ibm (7 distinct bigrams)
    assert rouge2("(Smith,born in,USA)", "(Smith,born in,USA)(Smith,work for,IBM)", "en") == rouge_f(1.0, 3 / 7)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rouge2_empty_cases(lang):
    assert rouge2("", "", lang) == 1.0
    assert rouge2("  ", "\n", lang) == 1.0
    assert rouge2("", "(a,b,c)", lang) == 0.0
    assert rouge2("(a,b,c)", "", lang) == 0.0


def test_rouge2_en_text_of_only_articles_counts_as_empty():
    assert rouge2("The.", "", "en") == 1.0


def test_rouge2_one_word_texts_have_no_bigrams():
    assert rouge2("铜牌", "铜牌", "zh") == 0.0


def test_mean_rouge2_averages_over_records():
    assert mean_rouge2(["", "x y"], ["", "z w"], "en") == 0.5  # 1 (both empty) and 0 (no shared bigram)


def gold(i, output, kg=None, **extra):
    rec = {"id": i, "output": output, **extra}
    if kg is not None:
        rec["kg"] = kg
    return rec


def test_ccks_scores_by_hand():
    golds = [
        gold(0, "(甲,属于,乙)(甲,国家,丙)", [["甲", "属于", "乙"], ["甲", "国家", "丙"]]),
        gold(1, "(丁,位于,戊)"),  # no kg: gold triples parsed from output
    ]
    preds = [
        {"id": 0, "output": "(甲,属于,乙)(甲,国家,丙)"},  # exact: rouge2 = rouge_f(1, 1)
        {"id": 1, "output": "(丁,位于,己)"},
    ]
    out = ccks_scores(golds, preds, "zh")
    # triples: gold 3, pred 3, correct 2
    assert (out["gold_triples"], out["pred_triples"], out["correct"]) == (3, 3, 2)
    assert out["f1"] == pytest.approx(2 / 3)
    expected_rouge = (rouge_f(1, 1) + rouge2("(丁,位于,己)", "(丁,位于,戊)")) / 2
    assert out["rouge2"] == pytest.approx(expected_rouge)
    assert out["score"] == pytest.approx(0.5 * (2 / 3) + 0.5 * expected_rouge)
    assert out["pred_parsed_from_text"] == 2


def test_ccks_scores_elements_are_stripped_and_case_sensitive():
    golds = [gold(0, "x", [["Apple", "founded by", "Jobs"], ["a", "b", "c"]])]
    preds = [{"id": 0, "raw": "x", "kg": [[" Apple ", "founded by", "Jobs "], ["A", "b", "c"]], "status": "ok"}]
    out = ccks_scores(golds, preds, "en")
    assert out["correct"] == 1 and out["precision"] == 0.5


def test_ccks_scores_missing_prediction_is_empty():
    golds = [gold(0, "(a,b,c) (d,e,f)", [["a", "b", "c"]]), gold(1, "(d,e,f) (g,h,i)", [["d", "e", "f"]])]
    preds = [{"id": 0, "output": "(a,b,c) (d,e,f)"}]
    out = ccks_scores(golds, preds, "en")
    assert out["missing_pred"] == 1
    assert (out["correct"], out["pred_triples"], out["gold_triples"]) == (1, 2, 2)  # pred parsed: (a,b,c),(d,e,f)
    assert out["f1"] == pytest.approx(0.5)
    assert out["rouge2"] == pytest.approx((rouge_f(1, 1) + 0.0) / 2)


def test_ccks_scores_nothing_right_is_zero():
    out = ccks_scores([gold(0, "", [])], [{"id": 0, "output": ""}], "zh")
    assert (out["precision"], out["recall"], out["f1"]) == (0.0, 0.0, 0.0)
    assert out["rouge2"] == 1.0 and out["score"] == 0.5


def test_raw_output_copied_gold_kg_is_not_used_as_prediction():
    g = gold(0, "(a,b,c)", [["a", "b", "c"]])
    pred = {"id": 0, "output": "(x,y,z)", "kg": [["a", "b", "c"]]}  # inference copies the input record's kg
    assert ccks_scores([g], [pred], "en")["correct"] == 0


def test_normal_mode_counts_repeats_in_raw_answers():
    g = gold(0, "(a,b,c)", [["a", "b", "c"]])
    pred = {"id": 0, "output": "(a,b,c)(a,b,c)"}
    assert ccks_scores([g], [pred], "en", "set")["precision"] == 1.0
    assert ccks_scores([g], [pred], "en", "normal")["precision"] == 0.5


@pytest.mark.parametrize(
    ("golds", "preds", "message"),
    [
        ([{"id": 0, "__line__": 3}], [], 'gold:3: field "output": missing'),
        ([gold(0, "x")], [{"id": 7, "output": "", "__line__": 2}], 'pred:2: field "id": id 7 is not in the gold file'),
        ([gold(0, "x")], [{"id": 0, "__line__": 1}], 'pred:1: field "output": missing'),
        ([gold(0, "x", kg=[["a", "b"]])], [], 'field "kg"'),
        ([gold(0, "x"), gold(0, "y")], [], "duplicate id 0"),
        ([], [], "no gold records"),
    ],
)
def test_ccks_scores_bad_records_raise_data_error(golds, preds, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        ccks_scores(golds, preds, "zh")


def test_ccks_scores_rejects_unknown_lang_and_match():
    with pytest.raises(DataError, match="lang"):
        ccks_scores([gold(0, "x")], [], "fr")
    with pytest.raises(DataError, match="match"):
        ccks_scores([gold(0, "x")], [], "zh", "fuzzy")
