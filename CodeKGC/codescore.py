"""Self-consistency vote over sampled answers, and triple scoring: micro and per-relation P/R/F1, parse failures.

    python CodeKGC/codescore.py CodeKGC/output/pred.jsonl

A triple is compared as (head, relation, tail), each stripped, case-sensitive; duplicates within a record count once.
Predictions whose relation or entity class is outside the schema count as predictions (wrong ones, unless they match
gold). Records without `triple_list` are not scored. Parse failures are records whose answer was `unparsable` or
`empty`; request failures (`error`) are counted apart.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from core.metrics import prf

FIELDS = ("head", "head_type", "relation", "tail", "tail_type")
PARSE_FAILURES = ("unparsable", "empty")


def key(triple: dict | list | tuple) -> tuple[str, str, str]:
    """What scoring compares: (head, relation, tail), stripped."""
    if isinstance(triple, dict):
        return (str(triple["head"]).strip(), str(triple["relation"]).strip(), str(triple["tail"]).strip())
    return tuple(str(x).strip() for x in triple[:3])  # type: ignore[return-value]


def vote(samples: list[list[dict]], n: int, threshold: float) -> list[dict]:
    """Triples found in at least `threshold` of the `n` samples (failed samples vote for nothing).

    Each sample votes once per (head, relation, tail); the typed form most samples used is kept, and the triples come
    out in the order they were first seen. n == 1 keeps the one sample as it is.
    """
    if n <= 1 and len(samples) <= 1:
        return list(samples[0]) if samples else []
    need = max(1, math.ceil(threshold * n - 1e-9))
    votes: Counter = Counter()
    forms: dict[tuple, Counter] = defaultdict(Counter)
    first: dict[tuple, dict] = {}
    for triples in samples:
        seen = set()
        for t in triples:
            k = key(t)
            form = tuple(t.get(f) for f in FIELDS)
            forms[k][form] += 1
            first.setdefault(k, t)
            if k not in seen:
                seen.add(k)
                votes[k] += 1
    out = []
    for k in first:
        if votes[k] >= need:
            form = forms[k].most_common(1)[0][0]
            triple = next(t for s in samples for t in s if tuple(t.get(f) for f in FIELDS) == form)
            out.append({**triple, "votes": votes[k]})
    return out


def score(records: list[dict]) -> dict[str, Any]:
    """Metrics for output records (`triples` predicted, `triple_list` gold, `status`)."""
    statuses = Counter(r.get("status", "ok") for r in records)
    tp = n_pred = n_gold = 0
    per: dict[str, Counter] = defaultdict(Counter)
    scored = 0
    for rec in records:
        if rec.get("triple_list") is None:
            continue
        scored += 1
        gold = {key(t) for t in rec["triple_list"]}
        pred = {key(t) for t in rec.get("triples") or []}
        tp += len(gold & pred)
        n_pred += len(pred)
        n_gold += len(gold)
        for k in gold:
            per[k[1]]["gold"] += 1
        for k in pred:
            per[k[1]]["pred"] += 1
            per[k[1]]["tp"] += k in gold
    per_relation = {
        rel: {**prf(c["tp"], c["pred"], c["gold"]), "tp": c["tp"], "pred": c["pred"], "gold": c["gold"]}
        for rel, c in sorted(per.items())
    }
    return {
        "records": len(records),
        "scored": scored,
        "micro": {**prf(tp, n_pred, n_gold), "tp": tp, "pred": n_pred, "gold": n_gold},
        "per_relation": per_relation,
        "parse_failures": sum(statuses[s] for s in PARSE_FAILURES),
        "request_failures": statuses["error"],
        "out_of_schema": sum(1 for r in records for t in r.get("triples") or [] if t.get("flags")),
        "status_counts": dict(sorted(statuses.items())),
    }


def summary_lines(metrics: dict) -> list[str]:
    """The metrics as a few aligned lines for the terminal."""
    m = metrics["micro"]
    statuses = ", ".join(f"{k} {v}" for k, v in metrics["status_counts"].items())
    lines = [
        f"records {metrics['records']} ({statuses}); parse failures {metrics['parse_failures']}, "
        f"request failures {metrics['request_failures']}, out-of-schema triples {metrics['out_of_schema']}",
    ]
    if not metrics["scored"]:
        return lines + ["no gold triple_list in the input: nothing scored"]
    width = max([5] + [len(r) for r in metrics["per_relation"]])
    for name, s in [("micro", m), *metrics["per_relation"].items()]:
        lines.append(f"{name:<{width}}  P {s['precision']:.4f}  R {s['recall']:.4f}  F1 {s['f1']:.4f}  "
                     f"(tp {s['tp']}, pred {s['pred']}, gold {s['gold']})")
    return lines


if __name__ == "__main__":
    import sys

    from core.errors import guard
    from core.io import read_records

    @guard
    def _main(path: str) -> None:
        print("\n".join(summary_lines(score(read_records(path)))))

    from pathlib import Path

    _main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent / "output" / "pred.jsonl"))
