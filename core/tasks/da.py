"""DA: new labelled relation-extraction samples, N per relation, each checked, deduplicated, counted.

    python LLMICL/preprocess.py task=da language=en text_input=org:founded_by k=2 number=3

A sample (few-shot file data/da_<lang>.json, the seed's format, the same as re_<lang>.json):
    {"text": "...", "head_type": "ORGANIZATION", "head_entity": "...", "tail_type": "PERSON", "tail_entity": "...",
     "relation": "org:founded_by"}
One request per relation shows up to k demos of that relation and asks for `number` new samples as a JSON list.
A generated sample is kept only if it has every field, its relation is the one asked for, its entity types are
allowed (`labels`, else the types in the demo file), head and tail occur in its text, and its text is new (not a
demo's, not an earlier kept sample's; compared case-folded with whitespace collapsed); at most `number` per relation.
Every dropped sample is counted under its reason. Kept samples are written in the few-shot format, so the file can
be used as data/re_<lang>.json or data/da_<lang>.json.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from core.errors import UserError
from core.parsing.answers import dumps, load_json, pick, unwrap
from core.records import FAILED, UNPARSABLE, Parsed
from core.tasks.base import Task, in_text, register_task

FIELDS = ("text", "head_type", "head_entity", "tail_type", "tail_entity", "relation")


def text_key(text: str) -> str:
    return " ".join(text.casefold().split())


def check_sample(item: Any, relation: str, types: set[str] | None) -> tuple[dict | None, str | None]:
    """(sample in the few-shot layout, None) or (None, reason it is dropped)."""
    if not isinstance(item, dict):
        return None, "not an object"
    sample = {name: pick(item, (name,)) for name in FIELDS}
    if sample["relation"] is None:
        sample["relation"] = relation
    missing = [name for name in FIELDS if sample[name] is None]
    if missing:
        return None, f"missing {missing[0]}"
    if sample["relation"] != relation:
        return None, "other relation"
    for side in ("head", "tail"):
        if types and sample[f"{side}_type"] not in types:
            return None, f"{side} type not allowed"
    for side in ("head", "tail"):
        if not in_text(sample[f"{side}_entity"], sample["text"]):
            return None, f"{side} not in text"
    return sample, None


def select(answers: dict[str, Parsed], demos: list[dict], types: set[str] | None, number: int) -> tuple[list, dict]:
    """Kept samples (relation order) and a report {relation: {asked, generated, kept, dropped: {reason: n}}}."""
    demo_keys = {text_key(d["text"]) for d in demos}
    seen = set(demo_keys)
    kept: list[dict] = []
    report: dict[str, dict] = {}
    for relation, parsed in answers.items():
        dropped: Counter = Counter()
        generated = n_kept = 0
        if parsed.status in (UNPARSABLE, FAILED):
            dropped["unreadable answer" if parsed.status == UNPARSABLE else "request failed"] += 1
        for item in parsed.pred:
            generated += 1
            sample, reason = check_sample(item, relation, types)
            if sample is not None:
                key = text_key(sample["text"])
                if key in seen:
                    reason = "duplicate of a demo" if key in demo_keys else "duplicate"
                elif n_kept >= number:
                    reason = "more than asked"
            if reason:
                dropped[reason] += 1
                continue
            seen.add(key)
            kept.append(sample)
            n_kept += 1
        report[relation] = {"asked": number, "generated": generated, "kept": n_kept, "dropped": dict(dropped)}
    return kept, report


class DA(Task):
    name = "da"
    required = {"text": str, "head_entity": str, "tail_entity": str, "relation": str}
    optional = {"id": (str, int), "head_type": str, "tail_type": str}

    def demo_vars(self, rec: dict, style: str = "json") -> dict:
        return {"answer": dumps({name: rec.get(name) or "" for name in FIELDS})}

    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        """The generated items as they came (checked later by `select`, which knows the demos and the others)."""
        value, status = load_json(text)
        value = unwrap(value, ("samples", "data", "output"))
        if isinstance(value, dict) and "text" in value:
            value = [value]
        if not isinstance(value, list):
            return Parsed([], UNPARSABLE, ["no JSON list of samples in the answer"])
        return Parsed(value, status)

    def has_gold(self, rec: dict) -> bool:
        return False


register_task(DA())


def augment_plan(task: Task, demos: list[dict], *, relations: list[str] | None, labels: list[str] | None,
                 number: int | None, k: int | None, domain: str | None, language: str
                 ) -> tuple[list[str], set[str], int, list[tuple[str, str]]]:
    """(relations, allowed entity types, number, [(relation, prompt)]): one request per relation, k of its demos."""
    from core.prompts import build_prompt

    relations = [r.strip() for r in (relations or dict.fromkeys(d["relation"] for d in demos)) if r.strip()]
    if not relations:
        raise UserError("task=da: no relation to augment: give text_input=RELATION or demos in the data file")
    types = set(labels or []) or {d[f"{s}_type"] for d in demos for s in ("head", "tail") if d.get(f"{s}_type")}
    number = number or 5
    items = []
    for relation in relations:
        own = [d for d in demos if d["relation"] == relation]
        if not own:
            print(f"warning: no demo of relation {relation!r} in the data file; asking without examples",
                  file=sys.stderr)
        shown = [task.demo_vars(d) for d in (own if k is None else own[:k])]
        extra = {"relation": relation, "number": number}
        prompt = build_prompt("da", language, extra, shown, domain=domain, labels=labels or sorted(types) or None,
                              extra=extra)
        items.append((relation, prompt))
    return relations, types, number, items


def augment_report(task: Task, demos: list[dict], plan: tuple, answers: dict, language: str) -> tuple[list, dict]:
    """(kept samples, metrics) from the answers to `augment_plan`'s requests."""
    from core.pipeline import read_answer

    relations, types, number, _ = plan
    parsed = {relation: read_answer(task, {}, answers[relation][0], None) for relation in relations}
    kept, report = select(parsed, demos, types or None, number)
    dropped: Counter = Counter()
    for rel in report.values():
        dropped.update(rel["dropped"])
    metrics = {"task": "da", "language": language, "asked": number * len(relations),
               "generated": sum(r["generated"] for r in report.values()), "kept": len(kept),
               "dropped": dict(dropped), "relations": report}
    return kept, metrics
