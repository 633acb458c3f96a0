r"""IEPile / OneKE: schema-based NER, RE and EE with JSON answers keyed by schema item; IEPile's micro F1 per task and
per source.

    python -c "from core.tasks import get_task; t = get_task('iepile'); r = t.check({'task': 'NER', 'instruction': {'instruction': '', 'schema': ['person'], 'input': 'Ann left.'}}, 'x', 1); print(t.parse('{\"person\": [\"Ann\"]}', r, None))"

Record = one IEPile test record, i.e. one schema batch of one input (core.iepile.convert writes them):
    {"id": "7", "task": "NER", "source": "CoNLL2003", "instruction": <the instruction object as a JSON string>,
     "label": <the gold of the whole input: a JSON string of [{"entity", "entity_type"}] ...>}
`instruction` may also be the object itself; `task` may be left out when the instruction's sentence shows it;
`label` (a JSON string or a list) is optional. The prompt is the instruction string itself (the model template wraps
it). `parse` reads one answer against its batch's schema (core.iepile.spec); core.iepile.predict merges the batches
of an input into one prediction, and `score` takes those merged pairs: micro P/R/F1 (IEPile's `normal` match:
duplicates count) per task -- NER entity, RE triple, EE trigger and argument -- overall and `by_source`. Unreadable
answers and malformed items are wrong predictions (IEPile's own script only counts them as errors).
"""

from __future__ import annotations

import json

from core.iepile.records import record_task
from core.iepile.spec import TASKS, UNITS, check_items, parse_answer, read_instruction, unit_keys
from core.metrics import micro_prf
from core.records import Parsed
from core.tasks.base import Task, register_task

MATCH = "normal"


def score_pairs(pairs: list[tuple[dict, Parsed]], match: str = MATCH) -> dict:
    """Per task: every unit's P/R/F1 (core.metrics.micro_prf) over merged (record, prediction) pairs, `inputs`, and
    the same per source."""
    out = {}
    for task in TASKS:
        mine = [(rec, parsed) for rec, parsed in pairs if rec["__task__"] == task]
        if not mine:
            continue
        sources = sorted({str(rec.get("source")) for rec, _ in mine})
        out[task] = {**_units(task, mine, match), "by_source": {
            s: _units(task, [(r, p) for r, p in mine if str(r.get("source")) == s], match) for s in sources}}
    return out


def _units(task: str, pairs: list[tuple[dict, Parsed]], match: str) -> dict:
    gold = [unit_keys(task, rec["__label__"]) for rec, _ in pairs]
    pred = [unit_keys(task, parsed.pred) for _, parsed in pairs]
    res: dict = {unit: micro_prf([g[unit] for g in gold], [p[unit] for p in pred], match=match,
                                 extra_wrong=sum(parsed.bad.get(unit, 0) for _, parsed in pairs))
                 for unit in UNITS[task]}
    res["inputs"] = len(pairs)
    return res


class IEPile(Task):
    name = "iepile"
    units = ("entity", "triple", "trigger", "argument")
    required = {"instruction": (str, dict)}
    optional = {"id": (str, int), "task": str, "source": str, "label": (str, list), "output": str}

    def check_more(self, rec: dict) -> None:
        instruction = read_instruction(rec["instruction"])
        task = record_task(rec, instruction)
        rec["__task__"], rec["__schema__"], rec["__input__"] = task, instruction["schema"], instruction["input"]
        if rec.get("label") is not None:
            label = rec["label"]
            if isinstance(label, str):
                try:
                    label = json.loads(label)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"label: not JSON ({exc.msg})") from None
            rec["__label__"] = check_items(task, label, "label")

    def prompt(self, rec: dict) -> str:
        """What the model is asked: the instruction string as written (an object is dumped as IEPile does)."""
        value = rec["instruction"]
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def query_vars(self, rec: dict) -> dict:
        return {"text": rec["__input__"]}

    def text_of(self, rec: dict) -> str | None:
        return rec.get("__input__")

    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        return parse_answer(rec["__task__"], text, rec["__schema__"], rec["__input__"])

    def has_gold(self, rec: dict) -> bool:
        return rec.get("__label__") is not None

    def score(self, pairs: list[tuple[dict, Parsed]], labels: list[str] | None = None, language: str = "en") -> dict:
        return score_pairs(pairs)


register_task(IEPile())
