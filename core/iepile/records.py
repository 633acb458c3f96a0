"""Inputs of every shape we know -> IEPile samples; IEPile records and predictions -> our records.

    python -c "from core.iepile.records import sample_of; print(sample_of({'text': 'Ann left.', 'data': [{'E': 'person', 'W': 'Ann'}]}, 'NER'))"

A sample is `{"id", "text", "gold": [items] | None, "schema": [types] | None, "source": str | None}` (items in the
IEPile annotation shape, core.iepile.spec). `sample_of` reads, by task:
    NER  IEPile `entity` [{"entity", "entity_type"}] | our ner task's `data` [{"E", "W"}]
    RE   IEPile `relation` [{"head", "relation", "tail"}] | our kg task's `triples` ({"head", ...} or [h, r, t])
         | a CCKS2023 record: `input`, `kg` [[h, r, t]] (else its `output` parsed), the candidate relations of its
         `instruction` as the record's own schema
    EE   IEPile `event` [{"event_type", "event_trigger", "arguments": [{"argument", "role"}]}]
         | our ee task's `event_list` [{"event_type", "trigger", "arguments": [{"role", "argument"}]}]
The text is `text`, else `input`, else `sentence`; a record without annotation is a test input (gold None).

`our_record` is the way back, in the shapes our tasks and core.kg read: NER -> `data` + `entities` (graph nodes);
RE -> `triples`; EE -> `event_list` + one triple (trigger, role, argument) per argument, the trigger typed by its
event type. `samples_from_iepile` reads IEPile training records (instruction + output) or test records (instruction
+ label) back into one sample per input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.iepile.spec import GOLD_KEY, check_items, infer_task, norm_task, parse_answer, read_instruction, schema_names
from core.io import DataError
from core.records import OK, REPAIRED

TEXT_KEYS = ("text", "input", "sentence")


def _text(rec: dict) -> str:
    for key in TEXT_KEYS:
        if isinstance(rec.get(key), str):
            return rec[key]
    raise ValueError("text: missing (expected text, input or sentence)")


def _ours(task: str, rec: dict) -> tuple[str, list] | None:
    """(field, items in the IEPile shape) from our own record shapes, or None."""
    if task == "NER" and isinstance(rec.get("data"), list):
        items = rec["data"]
        if not all(isinstance(e, dict) for e in items):
            raise ValueError("data: expected a list of {E, W} objects")
        return "data", [{"entity": e.get("W"), "entity_type": e.get("E")} for e in items]
    if task == "RE":
        for field in ("triples", "kg"):
            if rec.get(field) is not None:
                items = rec[field]
                if not isinstance(items, list):
                    raise ValueError(f"{field}: expected a list of triples")
                out = []
                for t in items:
                    if isinstance(t, (list, tuple)) and len(t) == 3:
                        out.append({"head": t[0], "relation": t[1], "tail": t[2]})
                    elif isinstance(t, dict):
                        out.append({k: v for k, v in t.items() if k in ("head", "relation", "tail", "head_type",
                                                                          "tail_type")})
                    else:
                        raise ValueError(f"{field}: a triple must be [head, relation, tail] or an object")
                return field, out
    if task == "EE" and isinstance(rec.get("event_list"), list):
        return "event_list", rec["event_list"]
    return None


def sample_of(rec: Any, task: str, index: int = 0) -> dict:
    """One input record -> a sample; ValueError("field: message") on bad data."""
    task = norm_task(task)
    if not isinstance(rec, dict):
        raise ValueError(f"record: expected a JSON object, got {type(rec).__name__}")
    text = _text(rec)
    gold, schema = None, None
    if rec.get(GOLD_KEY[task]) is not None:
        gold = check_items(task, rec[GOLD_KEY[task]], GOLD_KEY[task])
    elif (found := _ours(task, rec)) is not None:
        gold = check_items(task, found[1], found[0])
    elif task == "RE" and isinstance(rec.get("output"), str):
        from core.parsing.ccks import parse_triples

        triples = parse_triples(rec["output"], input_text=text).triples
        gold = [{"head": t.head, "relation": t.relation, "tail": t.tail} for t in triples]
    if task == "RE" and isinstance(rec.get("instruction"), str):
        from core.parsing.ccks_instruction import relations_from_instruction

        schema = relations_from_instruction(rec["instruction"]) or None
    if isinstance(rec.get("schema"), list) and all(isinstance(x, str) for x in rec["schema"]):
        schema = list(rec["schema"])
    rec_id = rec.get("id", index)
    if isinstance(rec_id, bool) or not isinstance(rec_id, (str, int)):
        raise ValueError("id: expected a string or an integer")
    source = rec.get("source", rec.get("cate"))
    return {"id": rec_id, "text": text, "gold": gold, "schema": schema,
            "source": source if isinstance(source, str) else None}


def read_samples(path: str | Path, task: str) -> list[dict]:
    """Every record of a JSON / JSONL file as a sample (one-line DataError naming file, line and field)."""
    from core.io import iter_records

    out = []
    for i, (line, rec) in enumerate(iter_records(path)):
        try:
            sample = sample_of(rec, task, i)
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise DataError(path, line, message or field, field=field if message else None) from None
        sample["__line__"] = line
        out.append(sample)
    if not out:
        raise DataError(path, None, "no records")
    return out


def record_task(rec: dict, instruction: dict) -> str:
    """The task of an IEPile record: its `task` field, else what the instruction shows."""
    if rec.get("task") is not None:
        return norm_task(rec["task"])
    task = infer_task(instruction)
    if task is None:
        raise ValueError("task: missing, and the instruction does not show it (NER, RE or EE)")
    return task


def samples_from_iepile(records: list[dict], path: str | Path = "<records>") -> list[dict]:
    """IEPile training records (instruction + output) or test records (instruction + label) -> one sample per input
    (grouped by source and id, else by source and input text), gold merged over its schema batches."""
    by_key: dict[tuple, dict] = {}
    for rec in records:
        line = rec.get("__line__")
        try:
            instruction = read_instruction(rec.get("instruction"))
            task = record_task(rec, instruction)
            if rec.get("label") is not None:
                label = json.loads(rec["label"]) if isinstance(rec["label"], str) else rec["label"]
                gold = check_items(task, label, "label")
            elif isinstance(rec.get("output"), str):
                parsed = parse_answer(task, rec["output"], instruction["schema"])
                if parsed.status not in (OK, REPAIRED) and not parsed.pred:
                    raise ValueError(f"output: not an answer to its instruction ({'; '.join(parsed.issues)})")
                gold = parsed.pred
            else:
                raise ValueError("output: missing (a training record needs output, a test record label)")
        except json.JSONDecodeError as exc:
            raise DataError(path, line, f"not JSON ({exc.msg})", field="label") from None
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise DataError(path, line, message or field, field=field if message else None) from None
        source = rec.get("source")
        key = (task, source, rec.get("id", instruction["input"]))
        if key not in by_key:
            by_key[key] = {"id": rec.get("id", len(by_key)), "text": instruction["input"], "gold": [],
                           "schema": [], "source": source, "task": task}
        sample = by_key[key]
        sample["schema"] += [n for n in schema_names(task, instruction["schema"]) if n not in sample["schema"]]
        sample["gold"] += [g for g in gold if g not in sample["gold"]] if rec.get("label") is not None else gold
    return list(by_key.values())


def our_record(task: str, rec_id: Any, text: str, items: list[dict], **extra: Any) -> dict:
    """Items of one input -> the record our tasks and core.kg read (see the module docstring)."""
    out: dict[str, Any] = {"id": rec_id, "text": text}
    if task == "NER":
        out["data"] = [{"E": it["entity_type"], "W": it["entity"]} for it in items]
        out["entities"] = [{"text": it["entity"], "type": it["entity_type"]} for it in items]
        out["triples"] = []
    elif task == "RE":
        out["triples"] = [{k: it[k] for k in ("head", "relation", "tail", "head_type", "tail_type") if it.get(k)}
                          for it in items]
    else:
        out["event_list"] = [{"event_type": ev["event_type"], "trigger": ev["event_trigger"],
                              "arguments": [{"role": a["role"], "argument": a["argument"]} for a in ev["arguments"]]}
                             for ev in items]
        out["entities"] = [{"text": ev["event_trigger"], "type": ev["event_type"]} for ev in items
                           if ev["event_trigger"]]
        out["triples"] = [{"head": ev["event_trigger"], "relation": a["role"], "tail": a["argument"],
                           "head_type": ev["event_type"]}
                          for ev in items if ev["event_trigger"] for a in ev["arguments"]]
    out.update(extra)
    return out
