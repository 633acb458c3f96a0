"""Scoring: the one precision/recall/F1, the one relation-classification scorer, the one negative-label list.

    python -c "from core.metrics import prf, re_scores; print(prf(1, 2, 4)); print(re_scores(['a', 'NA'], ['a', None])['micro_f1'])"

Every scorer of the project counts through `micro_prf` (items per record, micro-averaged) or `prf` (counts).
Unreadable answers are wrong predictions everywhere: a caller adds them to the predicted count, never skips them.
The CCKS2023 instruction-KGC score (triple F1 + Rouge-2) is CCKS-only and lives in `core.metrics.ccks`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Hashable, Sequence

MATCHES = ("set", "normal")
# The labels that mean "no relation", in the order they are looked for: the first one present is the negative label.
NEGATIVE_LABELS = ("NA", "na", "no_relation", "Other", "Others", "false", "unanswerable", "none", "None", "无关系")


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    """Precision, recall and F1 from counts; any division by zero gives 0."""
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def micro_prf(
    gold_sets: Sequence[Collection[Hashable]],
    pred_sets: Sequence[Collection[Hashable]],
    match: str = "set",
    extra_wrong: int = 0,
) -> dict[str, float | int]:
    """Micro P/R/F1 over records: `gold_sets[i]` and `pred_sets[i]` are the items of record i.

    `set` drops duplicates within each record; `normal` counts them (multiset intersection). `extra_wrong`:
    predictions that could not be read as items (malformed, unparsable, failed requests), counted as wrong ones.
    Returns precision, recall, f1 and the counts gold, pred, correct.
    """
    if match not in MATCHES:
        raise ValueError(f"match must be one of {', '.join(MATCHES)}, got {match!r}")
    if len(gold_sets) != len(pred_sets):
        raise ValueError(f"{len(gold_sets)} gold records but {len(pred_sets)} predictions")
    tp = n_gold = 0
    n_pred = extra_wrong
    for gold, pred in zip(gold_sets, pred_sets, strict=True):
        g, p = (Counter(set(x)) if match == "set" else Counter(x) for x in (gold, pred))
        tp += sum((g & p).values())
        n_gold += sum(g.values())
        n_pred += sum(p.values())
    return {**prf(tp, n_pred, n_gold), "gold": n_gold, "pred": n_pred, "correct": tp}


def negative_label(labels: Sequence[str] | None, golds: Sequence[str] = ()) -> str | None:
    """The first of NEGATIVE_LABELS among the labels or the gold relations, or None (every label is positive)."""
    present = {*(labels or ()), *golds}
    return next((name for name in NEGATIVE_LABELS if name in present), None)


def re_scores(
    gold: Sequence[str], pred: Sequence[str | None], labels: Sequence[str] | None = None, failed: int = 0
) -> dict:
    """Relation classification: one predicted label per (head, tail) pair; `pred[i] is None` = no label read
    (unparsable, or a failed request: `failed` of them).

    accuracy = correct / all pairs; micro P/R/F1 over positive labels (tp = gold == pred != negative; predicted =
    every prediction other than the negative label, unreadable ones included; gold = gold labels other than the
    negative); per relation one-vs-rest P/R/F1 (the negative label included, for information).
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    missing = sum(p is None for p in pred)
    if not 0 <= failed <= missing:
        raise ValueError(f"failed={failed} but only {missing} predictions are None")
    pairs = list(zip(gold, pred, strict=True))
    labels = list(dict.fromkeys([*(labels or []), *gold, *(p for p in pred if p is not None)]))
    neg = negative_label(labels)
    correct = sum(g == p for g, p in pairs)
    tp = sum(g == p and g != neg for g, p in pairs)
    n_pred = sum(p is None or p != neg for p in pred)
    n_gold = sum(g != neg for g in gold)
    micro = prf(tp, n_pred, n_gold)
    per_relation = {}
    for label in labels:
        r_tp = sum(g == p == label for g, p in pairs)
        r_pred, r_gold = sum(p == label for p in pred), sum(g == label for g in gold)
        per_relation[label] = {**prf(r_tp, r_pred, r_gold), "tp": r_tp, "n_pred": r_pred, "n_gold": r_gold}
    return {
        "n": len(gold), "acc": correct / len(gold) if gold else 0.0,
        "micro_p": micro["precision"], "micro_r": micro["recall"], "micro_f1": micro["f1"],
        "tp": tp, "n_pred": n_pred, "n_gold": n_gold,
        "unparsed": missing - failed, "failed": failed, "negative_label": neg, "per_relation": per_relation,
    }
