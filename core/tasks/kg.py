"""KG: schema-guided triple extraction (typed head, relation, typed tail), one JSON object per line; triple P/R/F1.

    python -c "from core.tasks import get_task; print(get_task('kg').parse('{\"head\": \"Ann\", \"relation\": \"born in\", \"tail\": \"Oslo\"}', {'text': 'Ann was born in Oslo.'}, None))"

Record: {"text": "...", "triples": [{"head", "relation", "tail", "head_type"?, "tail_type"?} | [h, r, t]]?, "id"?}
(`triples` is the gold, optional). The prompt (core/prompts/kg.<language>.v1.txt) lists the schema batch -- entity
types, relation types with their descriptions, allowed (head type, relation, tail type) patterns -- and asks for one
JSON object per line; a gleaning pass (`document_prompt(..., found=[...])`) lists what earlier passes found and asks
only for what is missing. The document pipeline (core.extract) calls `document_prompt` and `parse`: any task that
has both can extract from documents.

Parsing: JSON lines, or one JSON array (of objects or [h, r, t] lists, or wrapped as {"triples": [...]}); keys
head/subject, relation/predicate, tail/object, head_type/subject_type, tail_type/object_type. A line that is not a
fact is one malformed prediction (`bad`); a relation outside `labels` is flagged (it stays in `pred`: the document
pipeline keeps it, flagged). Duplicates are dropped. Status: ok, repaired (a line needed repair or stray text was
skipped), invalid (something flagged), unparsable (text, but no fact in it). An empty answer is ok with no facts.
"""

from __future__ import annotations

import json

from core.metrics import micro_prf
from core.parsing.answers import load_json, pick, short, unwrap
from core.prompts import fill, load_sections
from core.records import OK, REPAIRED, UNPARSABLE, Parsed
from core.tasks.base import Task, marked, register_task

UNIT = "triple"
KEYS = {"head": ("head", "subject", "h"), "relation": ("relation", "predicate", "r"), "tail": ("tail", "object", "t"),
        "head_type": ("head_type", "subject_type"), "tail_type": ("tail_type", "object_type")}
_FENCE_LINES = ("```", "```json", "```jsonl")


def as_fact(item) -> dict | None:
    """{"head", "relation", "tail"[, "head_type", "tail_type"]} from an object or a [h, r, t] list; None if not one."""
    if isinstance(item, (list, tuple)) and len(item) == 3 and all(isinstance(x, str) and x.strip() for x in item):
        return {"head": item[0].strip(), "relation": item[1].strip(), "tail": item[2].strip()}
    if not isinstance(item, dict):
        return None
    fact = {k: pick(item, keys) for k, keys in KEYS.items()}
    if not (fact["head"] and fact["relation"] and fact["tail"]):
        return None
    return {k: v for k, v in fact.items() if v is not None}


def fact_key(fact: dict) -> tuple[str, str, str]:
    return (fact["head"], fact["relation"], fact["tail"])


class KG(Task):
    name = "kg"
    pred_field = "triples"
    units = (UNIT,)
    required = {"text": str}
    optional = {"id": (str, int), "triples": list}

    def check_more(self, rec: dict) -> None:
        gold = rec.get("triples")
        if gold is not None:
            facts = [as_fact(t) for t in gold]
            if any(f is None for f in facts):
                raise ValueError("triples: expected {head, relation, tail} objects or [head, relation, tail] lists")
            rec["__gold__"] = facts

    # ---- prompts ----------------------------------------------------------------------------------------------
    def document_prompt(self, text: str, schema, language: str = "en", found: list[dict] | None = None) -> str:
        """The prompt for one passage and one schema batch; with `found`, the gleaning prompt of a later pass."""
        s = load_sections(f"{self.name}.{language}", required=("instruction", "format", "glean", "query"))
        blocks = [fill(s["instruction"], {"schema": schema_text(s, schema)}), s["format"]]
        if found is not None:
            lines = "\n".join(json.dumps(f, ensure_ascii=False) for f in found)
            blocks.append(fill(s["glean"], {"found": lines}))
        blocks.append(fill(s["query"], {"text": text}))
        return "\n\n".join(blocks)

    # ---- answers ----------------------------------------------------------------------------------------------
    def answer_schema(self, rec: dict, labels: list[str] | None) -> dict:
        """{"triples": [{"head", "relation", "tail"}]}: heads and tails copied from the text, relations from
        `labels` (the schema batch's relation types). One JSON value, which the parser reads like JSON lines."""
        fact = {"type": "object", "properties": {"head": marked("copy"), "relation": marked("relation", labels),
                                                 "tail": marked("copy")},
                "required": ["head", "relation", "tail"], "additionalProperties": False}
        return {"type": "object", "properties": {"triples": {"type": "array", "items": fact}},
                "required": ["triples"], "additionalProperties": False}

    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        items, status, bad = _items(text)
        parsed = Parsed([], status)
        for line in bad:
            parsed.flag(f"could not read {short(line)!r} as a fact", UNIT)
        seen = set()
        for item in items:
            fact = as_fact(item)
            if fact is None:
                parsed.flag(f"item {short(item)} is not a fact with head, relation and tail", UNIT)
                continue
            if fact_key(fact) in seen:
                continue
            seen.add(fact_key(fact))
            parsed.pred.append(fact)
            if labels and fact["relation"] not in labels:
                parsed.flag(f"{list(fact_key(fact))}: relation {fact['relation']!r} not allowed")
        if status == UNPARSABLE:
            parsed.flag("no facts in the answer", UNIT)
            return parsed
        return parsed.finish()

    def has_gold(self, rec: dict) -> bool:
        return rec.get("__gold__") is not None

    def score(self, pairs: list[tuple[dict, Parsed]], labels: list[str] | None = None, language: str = "en") -> dict:
        return {UNIT: micro_prf([[fact_key(f) for f in rec["__gold__"]] for rec, _ in pairs],
                                [[fact_key(f) for f in parsed.pred] for _, parsed in pairs],
                                extra_wrong=sum(parsed.bad.get(UNIT, 0) for _, parsed in pairs))}

    def output_fields(self, rec: dict, parsed: Parsed) -> dict:
        return {"triples": parsed.pred}


def schema_text(sections: dict[str, str], schema) -> str:
    """The schema block of the instruction: entity types, relation types (with descriptions), patterns."""
    def items(names: list[str], descriptions: dict[str, str]) -> str:
        return "\n".join(f"- {n}: {descriptions[n]}" if n in descriptions else f"- {n}" for n in names)

    blocks = []
    if schema.entity_types:
        blocks.append(fill(sections["entity_types"], {"items": items(schema.entity_types, schema.entity_descriptions)}))
    if schema.relation_types:
        blocks.append(fill(sections["relation_types"],
                           {"items": items(schema.relation_types, schema.relation_descriptions)}))
    if schema.patterns:
        lines = "\n".join(f"- ({h}, {r}, {t})" for h, r, t in schema.patterns)
        blocks.append(fill(sections["patterns"], {"items": lines}))
    return "\n".join(blocks)


def _items(text: str) -> tuple[list, str, list[str]]:
    """(items, status, unreadable lines) of an answer: one JSON value, else one per line."""
    text = (text or "").strip()
    if not text:
        return [], OK, []
    try:
        value = json.loads(text)
        if isinstance(value, (list, dict)):
            return _as_list(value), OK, []
    except json.JSONDecodeError:
        pass
    items, bad, repaired, skipped = [], [], False, False
    for line in text.split("\n"):
        line = line.strip().rstrip(",")
        if not line or line in _FENCE_LINES:
            continue
        if line[0] not in "[{":
            skipped = True  # prose around the facts
            continue
        try:
            value, how = json.loads(line), OK
        except json.JSONDecodeError:
            value, how = load_json(line)
        if value is None:
            bad.append(line)
            continue
        repaired |= how != OK
        items.extend(_as_list(value) if not as_fact(value) else [value])
    if not items and not bad:
        value, how = load_json(text)  # a JSON array spread over several lines, maybe with prose around it
        if value is None:
            return [], UNPARSABLE, []
        return _as_list(value), REPAIRED, []
    return items, REPAIRED if repaired or skipped else OK, bad


def _as_list(value) -> list:
    value = unwrap(value, ("triples", "facts", "kg"))
    if isinstance(value, dict) or as_fact(value) is not None:
        return [value]
    return value if isinstance(value, list) else [value]


register_task(KG())
