"""RE scores as the seed defines them, without its inflation: an answer that names no label is a wrong positive.

    python -c "import sys; sys.path.insert(0, 'UnleashLLMRE'); import re_metrics; print(re_metrics.score(['a', 'no_relation'], ['a', None]))"

- accuracy: correct / all items (an unparsed or failed answer is wrong);
- micro P/R/F1 (core.metrics.prf) over positive labels: the negative label is the first present of NA, na,
  no_relation, Other, Others, false, unanswerable. tp = gold == pred != negative; n_pred = predictions other than the
  negative label, unparsed and failed answers included (never skipped); n_gold = gold labels other than the negative;
- per relation: P/R/F1 of each label one-vs-rest (the negative label included, for information).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.metrics import prf

NEGATIVE_NAMES = ("NA", "na", "no_relation", "Other", "Others", "false", "unanswerable")


def negative_label(labels: Sequence[str]) -> str | None:
    """The first of NEGATIVE_NAMES that is a label, or None (then every label is positive)."""
    present = set(labels)
    return next((name for name in NEGATIVE_NAMES if name in present), None)


def score(
    gold: Sequence[str], pred: Sequence[str | None], labels: Sequence[str] | None = None, failed: int = 0
) -> dict:
    """Scores of predicted labels against gold; `pred[i] is None` means no label (unparsed, or `failed` of them)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    missing = sum(p is None for p in pred)
    if not 0 <= failed <= missing:
        raise ValueError(f"failed={failed} but only {missing} predictions are None")
    labels = list(dict.fromkeys([*(labels or []), *gold, *(p for p in pred if p is not None)]))
    neg = negative_label(labels)
    correct = sum(g == p for g, p in zip(gold, pred, strict=True))
    tp = sum(g == p and g != neg for g, p in zip(gold, pred, strict=True))
    n_pred = sum(p is None or p != neg for p in pred)
    n_gold = sum(g != neg for g in gold)
    micro = prf(tp, n_pred, n_gold)
    per_relation = {}
    for label in labels:
        r_tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        r_pred, r_gold = sum(p == label for p in pred), sum(g == label for g in gold)
        r = prf(r_tp, r_pred, r_gold)
        per_relation[label] = {"precision": r["precision"], "recall": r["recall"], "f1": r["f1"],
                               "tp": r_tp, "n_pred": r_pred, "n_gold": r_gold}
    return {
        "n": len(gold), "acc": correct / len(gold) if gold else 0.0,
        "micro_p": micro["precision"], "micro_r": micro["recall"], "micro_f1": micro["f1"],
        "tp": tp, "n_pred": n_pred, "n_gold": n_gold,
        "unparsed": missing - failed, "failed": failed, "negative_label": neg, "per_relation": per_relation,
    }


def format_table(metrics: dict) -> str:
    """The scores as a small text table for the terminal."""
    lines = [
        f"n={metrics['n']} acc={metrics['acc']:.4f} micro_p={metrics['micro_p']:.4f} "
        f"micro_r={metrics['micro_r']:.4f} micro_f1={metrics['micro_f1']:.4f} "
        f"unparsed={metrics['unparsed']} failed={metrics['failed']} negative_label={metrics['negative_label']}",
    ]
    width = max([len("relation"), *(len(r) for r in metrics["per_relation"])])
    lines.append(f"{'relation':<{width}}  {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'pred':>4} {'gold':>4}")
    for rel, s in metrics["per_relation"].items():
        lines.append(f"{rel:<{width}}  {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} "
                     f"{s['tp']:4d} {s['n_pred']:4d} {s['n_gold']:4d}")
    return "\n".join(lines)
