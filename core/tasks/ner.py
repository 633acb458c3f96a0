r"""NER: typed entity mentions, scored entity-level (type and words exact), micro P/R/F1.

    python -c "import sys; from core.tasks import get_task; print(get_task('ner').parse('[{\"E\": \"PER\", \"W\": \"Ann\"}]', {'text': 'Ann left.'}, ['PER']))"

Record (few-shot file data/ner_<lang>.json is DeepKE's 2023 `{"samples": [...]}`; an input file may be JSONL):
    {"id": "1", "text": "Japan beat Syria.", "data": [{"E": "Country", "W": "Japan"}, {"E": "Country", "W": "Syria"}]}
`text` is ours (DeepKE's 2023 samples had none; a demo without it shows only its answer); `data` is the gold, optional
in an input file. Prediction: `pred` in the same shape, an entity that breaks a rule gets a `flag`.
"""

from __future__ import annotations

from core.metrics import micro_prf
from core.parsing.answers import dumps, load_json, pick, short, unwrap
from core.records import UNPARSABLE, Parsed
from core.tasks.base import Task, dict_list, in_text, marked, register_task

UNIT = "entity"
# the answer the prompt asks for: [{"E": type, "W": words of the text}] (core.decoding marks: per record, the types
# are the allowed labels and the words are copied from the text)
ENTITIES_SCHEMA: dict = {
    "type": "array",
    "items": {"type": "object", "properties": {"E": marked("entity_type"), "W": marked("copy")},
              "required": ["E", "W"], "additionalProperties": False},
}


def entity_key(ent: dict) -> tuple[str, str]:
    return (str(ent["E"]).strip(), str(ent["W"]).strip())


class NER(Task):
    name = "ner"
    units = (UNIT,)
    wrapper = "samples"
    required: dict = {}
    optional = {"id": (str, int), "text": str, "data": list}

    def check_more(self, rec: dict) -> None:
        if rec.get("data") is not None:
            for i, ent in enumerate(dict_list(rec["data"], "data")):
                if not isinstance(ent.get("E"), str) or not isinstance(ent.get("W"), str):
                    raise ValueError(f"data: item {i} needs string E (type) and W (words)")

    def query_vars(self, rec: dict) -> dict:
        return {"text": rec["text"]}

    def demo_vars(self, rec: dict, style: str = "json") -> dict:
        answer = [{"E": e["E"], "W": e["W"]} for e in rec.get("data") or []]
        return {"text": rec.get("text") or "", "answer": dumps(answer)}

    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        value, status = load_json(text)
        value = unwrap(value, ("entities", "data", "output"))
        if isinstance(value, dict) and pick(value, ("E", "type")) and pick(value, ("W", "text", "entity")):
            value = [value]
        if not isinstance(value, list):
            parsed = Parsed([], UNPARSABLE)
            parsed.flag("no JSON list of entities in the answer", UNIT)
            return parsed
        parsed = Parsed([], status)
        for item in value:
            etype = pick(item, ("E", "type", "label", "entity_type")) if isinstance(item, dict) else None
            words = pick(item, ("W", "text", "entity", "span", "word")) if isinstance(item, dict) else None
            if not etype or not words:
                parsed.flag(f"item {short(item)}: needs E (type) and W (words)", UNIT)
                continue
            ent = {"E": etype, "W": words}
            problems = []
            if labels and etype not in labels:
                problems.append(f"type {etype!r} not allowed")
            if not in_text(words, rec.get("text") or ""):
                problems.append("not in the text")
            if problems:
                ent["flag"] = "; ".join(problems)
                parsed.flag(f"{words!r} ({etype}): {ent['flag']}")
            parsed.pred.append(ent)
        return parsed.finish()

    def answer_schema(self, rec: dict, labels: list[str] | None) -> dict:
        item = {**ENTITIES_SCHEMA["items"], "properties": {"E": marked("entity_type", labels), "W": marked("copy")}}
        return {**ENTITIES_SCHEMA, "items": item}

    def has_gold(self, rec: dict) -> bool:
        return rec.get("data") is not None

    def score(self, pairs: list[tuple[dict, Parsed]], labels: list[str] | None = None, language: str = "en") -> dict:
        return {UNIT: micro_prf([[entity_key(e) for e in rec["data"]] for rec, _ in pairs],
                                [[entity_key(e) for e in parsed.pred] for _, parsed in pairs],
                                extra_wrong=sum(parsed.bad.get(UNIT, 0) for _, parsed in pairs))}


register_task(NER())
