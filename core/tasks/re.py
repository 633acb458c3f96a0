"""RE: the relation between a given head and tail entity; accuracy, and micro P/R/F1 without the negative label.

    python -c "import sys; from core.tasks import get_task; print(get_task('re').parse('Answer: founded_by.', {'text': 'x'}, ['founded_by', 'NA']))"

Record (few-shot file data/re_<lang>.json, DeepKE's 2023 format; relation is the gold, optional in an input file):
    {"text": "...", "head_entity": "Olmert", "head_type": "PERSON", "tail_entity": "...", "tail_type": "...",
     "relation": "org:founded_by"}
Prediction: `pred` = the label (null when none could be read); a label outside `labels` is kept and flagged in
`issues` (it counts as wrong). `python -m core.kg build` reads these lines as (head, pred, tail) edges.
Scored by core.metrics.re_scores (its negative-label list is the project's one).
"""

from __future__ import annotations

import re

from core.errors import UserError
from core.metrics import re_scores
from core.parsing.answers import dumps, load_json, pick, short
from core.records import FAILED, REPAIRED, UNPARSABLE, Parsed
from core.tasks.base import Task, marked, register_task

UNIT = "relation"
_LABEL_SHAPE = re.compile(r"^[\w:/.-]+$")
_LEAD = re.compile(r"^\s*(answer|relation|output|答案|关系|输出)\s*[:：]\s*", re.IGNORECASE)


def _plain_label(text: str, labels: list[str] | None) -> str | None:
    """A label from a plain-text answer: the first line, or the one allowed label the answer names. With allowed
    labels, a first line shaped like a label (one word such as `per:title`) that is not one of them is still returned,
    so that the parser flags it as not allowed rather than calling the answer unreadable."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if not lines:
        return None
    first = _LEAD.sub("", lines[0]).strip().strip("\"'“”‘’`").rstrip(".。").strip()
    if not labels:
        return first if first and len(first.split()) <= 5 else None
    by_case = {name.lower(): name for name in labels}
    if first.lower() in by_case:
        return by_case[first.lower()]
    named = [name for name in labels if re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", text, re.IGNORECASE)]
    if len(named) == 1:
        return named[0]
    return first if _LABEL_SHAPE.match(first) else None


class RE(Task):
    name = "re"
    units = (UNIT,)
    required = {"text": str, "head_entity": str, "tail_entity": str}
    optional = {"id": (str, int), "head_type": str, "tail_type": str, "relation": str}

    def from_settings(self, settings) -> dict:
        rec = super().from_settings(settings)
        if not settings.head_entity or not settings.tail_entity:
            raise UserError("task=re needs head_entity=... and tail_entity=... (and head_type / tail_type)")
        for key in ("head_entity", "head_type", "tail_entity", "tail_type"):
            rec[key] = getattr(settings, key)
        return rec

    def query_vars(self, rec: dict) -> dict:
        def entity(name: str) -> str:
            kind = rec.get(f"{name}_type")
            return f"{rec[f'{name}_entity']} ({kind})" if kind else rec[f"{name}_entity"]

        return {"text": rec["text"], "head": entity("head"), "tail": entity("tail")}

    def demo_vars(self, rec: dict, style: str = "json") -> dict:
        return {**self.query_vars(rec), "answer": dumps({"relation": rec.get("relation") or ""})}

    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        value, status = load_json(text)
        if isinstance(value, list) and value:
            value = value[0]
        label = None
        if isinstance(value, str):
            label = value.strip() or None
        elif isinstance(value, dict):
            label = pick(value, ("relation", "label", "relation_type", "answer"))
        if label is None and not isinstance(value, dict):
            label, status = _plain_label(text, labels), REPAIRED
        if label is None:
            parsed = Parsed(None, UNPARSABLE)
            parsed.flag(f"no relation in the answer {short(text or '')!r}", UNIT)
            return parsed
        parsed = Parsed(label, status)
        if labels and label not in labels:
            by_case = {name.lower(): name for name in labels}
            if label.lower() in by_case:
                parsed.pred = by_case[label.lower()]
                parsed.status = REPAIRED
            else:
                parsed.flag(f"relation {label!r} not allowed")
        return parsed.finish()

    def demo_labels(self, demos: list[dict]) -> list[str] | None:
        return list(dict.fromkeys(d["relation"] for d in demos if d.get("relation"))) or None

    def answer_schema(self, rec: dict, labels: list[str] | None) -> dict:
        """{"relation": one of the allowed labels}, as the prompt asks."""
        return {"type": "object", "properties": {"relation": marked("relation", labels)}, "required": ["relation"],
                "additionalProperties": False}

    def has_gold(self, rec: dict) -> bool:
        return rec.get("relation") is not None

    def score(self, pairs: list[tuple[dict, Parsed]], labels: list[str] | None = None, language: str = "en") -> dict:
        s = re_scores([rec["relation"] for rec, _ in pairs], [parsed.pred for _, parsed in pairs], labels,
                      failed=sum(parsed.status == FAILED for _, parsed in pairs))
        return {UNIT: {"accuracy": s["acc"], "precision": s["micro_p"], "recall": s["micro_r"], "f1": s["micro_f1"],
                       "correct": s["tp"], "pred": s["n_pred"], "gold": s["n_gold"],
                       "negative_label": s["negative_label"]}}


register_task(RE())
