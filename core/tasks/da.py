"""DA: new labelled relation samples, asked per relation or per entity-type pair, checked, deduplicated, counted.

    python LLMICL/preprocess.py task=da language=en text_input=org:founded_by k=2 number=3

The one data-augmentation implementation (LLMICL task=da, UnleashLLMRE gpt3DA.py). A sample is LLMICL's few-shot
layout {"text", "head_entity", "head_type", "tail_entity", "tail_type", "relation"}. `augment_plan`: one request per
group, showing up to k of its demos (file order, or drawn with `seed`), asking for `number` new samples; by="relation":
a group per relation; by="types": per (head type, tail type) pair of the demos, any relation they show for it. Prompts:
sectioned (da.<language>[-types], core.prompts.build_prompt) or header/demo/query lines (da.tacred[-types]).
`DA.parse` (never eval'd): a JSON list, or objects one after another (one a line or pretty-printed over several:
core.parsing.answers.json_objects; any other line kept, as `not an object`), fences, numbering, json_repair, the 2023
tagged lines (`Relation: r. Context: ... Head Entity: h. Head Type: T. Tail Entity: t. Tail Type: T.`);
context/head/subj/... keys.
`select` keeps a sample if it has every field (no relation: the group's), the group's relation (any case), allowed
types (`labels`, else the demos'; upper-case, spaces as `_`, MISCELLANEOUS = MISC) that are the group's, head and tail
in the text as whole tokens (any case; the text's spelling kept) on different tokens, is new (text, head, tail token
by token, case-folded, against demos, `seen`, kept ones) and its group has fewer than `number`; else it counts the
reason (not an object, missing <field>, other relation, head type not allowed, other entity types, head not in text,
head and tail overlap, duplicate of a demo, duplicate, more than asked; per answer: unreadable answer, request failed,
no sample in the answer (e.g. `[]`)), so the report accounts for every answer.
Tokens, spans, the sample key and the type key: core.tasks.da_tokens (shared with core.tasks.tacred_data).
"""

from __future__ import annotations

import random
import re
import sys
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from core.errors import UserError
from core.parsing.answers import dumps, json_objects, load_json, pick, unwrap
from core.records import FAILED, OK, REPAIRED, UNPARSABLE, Parsed
from core.tasks.base import Task, register_task
from core.tasks.da_tokens import find_span, sample_key, tokenize, type_key

FIELDS = ("text", "head_type", "head_entity", "tail_type", "tail_entity", "relation")
BY = ("relation", "types")
NO_SAMPLE = "no sample in the answer"
_ALIASES = {"text": ("text", "context", "sentence"), "head_entity": ("head_entity", "head", "subj", "subject"),
            "head_type": ("head_type", "subj_type"), "tail_entity": ("tail_entity", "tail", "obj", "object"),
            "tail_type": ("tail_type", "obj_type"), "relation": ("relation",)}
_TAGGED = re.compile(
    r"relation:\s*(?P<relation>.+?)\.?\s+context:\s*(?P<context>.+?)\s+head entity:\s*(?P<head>.+?)\.?\s+"
    r"head type:\s*(?P<head_type>.+?)\.?\s+tail entity:\s*(?P<tail>.+?)\.?\s+tail type:\s*(?P<tail_type>.+?)\.?\s*$",
    re.IGNORECASE)


def _key(sample: dict) -> str:
    return sample_key(sample["text"], sample["head_entity"], sample["tail_entity"])


@dataclass(frozen=True)
class Group:
    """What one request asks for: samples of `relation` (by relation), or with the types `types` and one of
    `relations` (by types)."""

    key: str
    relation: str | None = None
    types: tuple[str, str] | None = None
    relations: tuple[str, ...] = ()

    def holds(self, demo: dict) -> bool:
        if self.types is None:
            return demo.get("relation") == self.relation
        return (type_key(demo.get("head_type") or ""), type_key(demo.get("tail_type") or "")) == tuple(
            type_key(t) for t in self.types)

    def values(self) -> dict:
        if self.types is None:
            return {"relation": self.relation}
        return {"head_type": self.types[0], "tail_type": self.types[1], "relations": ", ".join(self.relations)}


def groups_of(demos: list[dict], by: str, relations: list[str] | None = None) -> dict[str, Group]:
    """The requests' groups in first-seen order; `relations` (by relation) are the groups, else the demos'."""
    if by == "relation":
        names = [r.strip() for r in (relations or dict.fromkeys(d["relation"] for d in demos)) if r.strip()]
        return {r: Group(r, relation=r) for r in names}
    pairs: dict[tuple[str, str], tuple[tuple[str, str], dict]] = {}
    for d in demos:
        if d.get("head_type") and d.get("tail_type") and (not relations or d["relation"] in relations):
            types = (d["head_type"], d["tail_type"])
            pairs.setdefault((type_key(types[0]), type_key(types[1])), (types, {}))[1][d["relation"]] = None
    return {f"{t[0]} -> {t[1]}": Group(f"{t[0]} -> {t[1]}", types=t, relations=tuple(r)) for t, r in pairs.values()}


def fields_of(item: dict) -> dict[str, str | None]:
    """The sample fields of a generated object, whatever key names of _ALIASES it used."""
    lowered = {"_".join(str(k).lower().split()): v for k, v in item.items()}
    return {name: pick(lowered, keys) for name, keys in _ALIASES.items()}


def _same(a: str, b: str) -> bool:
    return a.strip().strip(".'\"").casefold() == b.strip().strip(".'\"").casefold()


def check_sample(item: Any, group: Group | str, types: Collection[str] | None) -> tuple[dict | None, str | None]:
    """(sample in the few-shot layout, None) or (None, the reason it is dropped)."""
    group = group if isinstance(group, Group) else Group(group, relation=group)
    if not isinstance(item, dict):
        return None, "not an object"
    got = fields_of(item)
    if got["relation"] is None and group.relation is not None:
        got["relation"] = group.relation
    missing = [name for name in FIELDS if got[name] is None]
    if missing:
        return None, f"missing {missing[0]}"
    known = [group.relation] if group.types is None else list(group.relations)
    relation = next((r for r in known if _same(got["relation"], r)), None)
    if relation is None:
        return None, "other relation"
    allowed = {type_key(t): t for t in types} if types else None
    spelled = {side: allowed.get(type_key(got[f"{side}_type"])) if allowed else got[f"{side}_type"]
               for side in ("head", "tail")}
    for side in ("head", "tail"):
        if spelled[side] is None:
            return None, f"{side} type not allowed"
    if group.types is not None and not group.holds({"head_type": spelled["head"], "tail_type": spelled["tail"]}):
        return None, "other entity types"
    text = got["text"]
    tokens = tokenize(text)
    head = find_span(tokens, got["head_entity"])
    if head is None:
        return None, "head not in text"
    if find_span(tokens, got["tail_entity"]) is None:
        return None, "tail not in text"
    tail = find_span(tokens, got["tail_entity"], avoid=head)
    if tail is None:
        return None, "head and tail overlap"
    return {"text": text, "head_type": spelled["head"], "head_entity": text[tokens[head[0]][1] : tokens[head[1]][2]],
            "tail_type": spelled["tail"], "tail_entity": text[tokens[tail[0]][1] : tokens[tail[1]][2]],
            "relation": relation}, None


def select(answers: dict[str, Parsed], demos: list[dict], types: Collection[str] | None, number: int, *,
           seen: Iterable[dict] = (), groups: dict[str, Group] | None = None) -> tuple[list, dict]:
    """Kept samples (group order) and a report {group: {asked, generated, kept, dropped: {reason: n}}}. `answers`
    are keyed by group (a relation unless `groups` says otherwise); `seen`: samples kept by an earlier run."""
    demo_keys = {_key(d) for d in demos}
    known = demo_keys | {_key(s) for s in seen}
    kept: list[dict] = []
    report: dict[str, dict] = {}
    for key, parsed in answers.items():
        group = (groups or {}).get(key) or Group(key, relation=key)
        dropped: Counter = Counter()
        generated = n_kept = 0
        if parsed.status in (UNPARSABLE, FAILED):
            dropped["unreadable answer" if parsed.status == UNPARSABLE else "request failed"] += 1
        elif not parsed.pred:
            dropped[NO_SAMPLE] += 1
        for item in parsed.pred or []:
            generated += 1
            sample, reason = check_sample(item, group, types)
            if sample is not None:
                sample_id = _key(sample)
                if sample_id in known:
                    reason = "duplicate of a demo" if sample_id in demo_keys else "duplicate"
                elif n_kept >= number:
                    reason = "more than asked"
            if reason:
                dropped[reason] += 1
                continue
            known.add(sample_id)
            kept.append(sample)
            n_kept += 1
        report[key] = {"asked": number, "generated": generated, "kept": n_kept, "dropped": dict(dropped)}
    return kept, report


def _tagged(item: Any) -> Any:
    """A line in the 2023 tagged layout as a dict; anything else unchanged."""
    match = _TAGGED.search(item) if isinstance(item, str) else None
    return {k: v.strip() for k, v in match.groupdict().items()} if match else item


def _several(body: str) -> Parsed | None:
    """Several samples one after another (JSON objects, each on one line or over several, or tagged lines), or None;
    every other non-blank line is kept as it is (`select` drops it as `not an object`: nothing goes uncounted)."""
    objects = json_objects(body)
    items = [_tagged(item) for item, _ in objects]
    tagged = sum(isinstance(new, dict) and isinstance(old, str) for new, (old, _) in zip(items, objects, strict=True))
    tried = sum(isinstance(old, dict) or old.startswith("{") for old, _ in objects)
    if not any(isinstance(item, dict) for item in items) or (tried < 2 and not tagged):
        return None
    return Parsed(items, OK if all(clean for _, clean in objects) else REPAIRED)


class DA(Task):
    name = "da"
    required = {"text": str, "head_entity": str, "tail_entity": str, "relation": str}
    optional = {"id": (str, int), "head_type": str, "tail_type": str}

    def demo_vars(self, rec: dict, style: str = "json") -> dict:
        return {"answer": dumps({name: rec.get(name) or "" for name in FIELDS})}

    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        """The generated items as they came (checked later by `select`, which knows the demos and the others)."""
        body = "\n".join(ln for ln in (text or "").splitlines() if not ln.strip().startswith("```"))
        value, status = load_json(body)
        listed = isinstance(value, list) and re.search(r"[\[{]", body).group() == "["  # json-repair lists objects too
        several = _several(body) if status != OK and not listed else None
        if several is not None:
            return several
        value = unwrap(value, ("samples", "data", "output"))
        if isinstance(value, dict) and any(fields_of(value)[name] for name in ("text", "head_entity", "tail_entity")):
            value = [value]
        if not isinstance(value, list):
            return Parsed([], UNPARSABLE, ["no JSON list of samples in the answer"])
        return Parsed(value, status, [] if value else [NO_SAMPLE])

    def has_gold(self, rec: dict) -> bool:
        return False


register_task(DA())


class Plan(NamedTuple):
    groups: dict[str, Group]
    types: set[str]
    number: int
    by: str
    items: list[tuple[str, str]]


def augment_plan(task: Task, demos: list[dict], *, relations: list[str] | None, labels: list[str] | None,
                 number: int | None, k: int | None, domain: str | None, language: str, by: str = "relation",
                 prompt: str | None = None, seed: Any = None, extra: dict | None = None) -> Plan:
    """One request per group (see the module doc): (groups, allowed types, number, by, [(group key, prompt)]).
    `prompt`: a prompt file name (default da.<language>, da.<language>-types by types); `seed`: draw each group's
    k demos with random.Random(f"{seed}:{key}") instead of taking the first k; `extra`: more prompt values."""
    from core.prompts import build_prompt, load_sections

    if by not in BY:
        raise UserError(f"da: by={by!r}: expected one of {', '.join(BY)}")
    groups = groups_of(demos, by, relations)
    if not groups:
        raise UserError("task=da: nothing to augment: give text_input=RELATION or demos in the data file")
    types = set(labels or []) or {d[f"{s}_type"] for d in demos for s in ("head", "tail") if d.get(f"{s}_type")}
    number = number or 5
    name = prompt or (f"da.{language}" if by == "relation" else f"da.{language}-types")
    sections = load_sections(name, required=())
    items = []
    for key, group in groups.items():
        own = [d for d in demos if group.holds(d)]
        if not own:
            print(f"warning: no demo of relation {key!r} in the data file; asking without examples", file=sys.stderr)
        n = len(own) if k is None else min(k, len(own))
        chosen = own[:n] if seed is None else random.Random(f"{seed}:{key}").sample(own, n)
        shown = [task.demo_vars(d) for d in chosen]
        values = {**(extra or {}), **group.values(), "number": number}
        if "header" in sections:
            from core.tasks.tacred import line_prompt

            items.append((key, line_prompt(sections, values, shown)))
        else:
            items.append((key, build_prompt(*name.split(".", 1), values, shown, domain=domain,
                                            labels=labels or sorted(types) or None, extra=values)))
    return Plan(groups, types, number, by, items)


def augment_report(task: Task, demos: list[dict], plan: Plan, answers: dict, language: str,
                   seen: Iterable[dict] = ()) -> tuple[list, dict]:
    """(kept samples, metrics) from the answers to `augment_plan`'s requests; `seen`: an earlier run's samples."""
    from core.pipeline import read_answer

    parsed = {key: read_answer(task, {}, answers[key][0], None) for key in plan.groups}
    kept, report = select(parsed, demos, plan.types or None, plan.number, seen=seen, groups=plan.groups)
    dropped: Counter = Counter()
    for group in report.values():
        dropped.update(group["dropped"])
    metrics = {"task": "da", "language": language, "asked": plan.number * len(plan.groups),
               "generated": sum(r["generated"] for r in report.values()), "kept": len(kept),
               "dropped": dict(dropped), "relations" if plan.by == "relation" else "types": report}
    return kept, metrics
