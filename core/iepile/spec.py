"""The IEPile instruction format: instruction objects, answers keyed by schema item, their items and scored units.

    python -c "from core.iepile.spec import instruction_text; print(instruction_text('NER', 'en', ['person'], 'Ann left.'))"

An IEPile instruction is a JSON string `{"instruction": <task sentence>, "schema": [...], "input": <text>}` (keys in
that order, non-ASCII kept); the task sentences are data in core/prompts/iepile.<en|cn>.v1.txt. The answer is a JSON
object keyed by every schema item of the instruction, in its order:

    NER  {"person": ["Ann"], "location": []}
    RE   {"born in": [{"subject": "Ann", "object": "Oslo"}], "works for": []}
    EE   {"marry": [{"trigger": "wed", "arguments": {"person": ["Ann", "Bob"], "place": "NAN"}}]}

An EE schema item is `{"event_type": T, "trigger": true, "arguments": [roles]}`; a missing argument is "NAN", several
values of one role are a list, an event with no argument among the asked roles has `"arguments": {}`.

Items (the annotation of an IEPile sample, and what a parsed answer holds in `pred`):
    NER  {"entity", "entity_type"}   RE  {"head", "relation", "tail"}
    EE   {"event_type", "event_trigger", "arguments": [{"argument", "role"}]}
Scored units (IEPile's evaluation): NER entity (type, text); RE triple (head, relation, tail); EE trigger
(event type, trigger) and argument (event type, role, argument).
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import UserError
from core.parsing.answers import load_json, short
from core.records import UNPARSABLE, Parsed

TASKS = ("NER", "RE", "EE")
SPLIT_NUM = {"NER": 6, "RE": 4, "EE": 4}  # IEPile README: recommended schema items per instruction
GOLD_KEY = {"NER": "entity", "RE": "relation", "EE": "event"}  # the annotation field of an IEPile sample
UNITS = {"NER": ("entity",), "RE": ("triple",), "EE": ("trigger", "argument")}
NAN = "NAN"


def norm_task(task: Any) -> str:
    name = str(task or "").strip().upper()
    if name not in TASKS:
        raise UserError(f"--task {task!r}: expected one of {', '.join(TASKS)}")
    return name


def norm_language(language: Any) -> str:
    """IEPile's `en` / `zh` (`cn`, the project's other code for Chinese, is taken too) -> en | zh."""
    lang = str(language or "").strip().lower()
    if lang in ("zh", "cn"):
        return "zh"
    if lang == "en":
        return "en"
    raise UserError(f"--language {language!r}: expected en or zh")


def sentence(task: str, language: str) -> str:
    """IEPile's task sentence (the `instruction` field) for NER / RE / EE in en or zh."""
    from core.prompts import load_sections

    name = "iepile.cn" if norm_language(language) == "zh" else "iepile.en"
    return load_sections(name, required=("ner", "re", "ee"))[norm_task(task).lower()]


def instruction_text(task: str, language: str, schema: list, text: str) -> str:
    """The instruction string of one schema batch (json.dumps of instruction, schema, input)."""
    return json.dumps({"instruction": sentence(task, language), "schema": schema, "input": text}, ensure_ascii=False)


def read_instruction(text: Any) -> dict:
    """The instruction object of an IEPile record; ValueError naming what is wrong."""
    value = text
    if isinstance(text, str):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"instruction: not a JSON instruction object ({exc.msg})") from None
    if not isinstance(value, dict) or not isinstance(value.get("input"), str) or not isinstance(
            value.get("schema"), list):
        raise ValueError("instruction: expected a JSON object with instruction, schema (a list) and input (a string)")
    return value


def infer_task(instruction: dict) -> str | None:
    """NER / RE / EE from the task sentence (either language), EE when the schema items are objects; else None."""
    said = str(instruction.get("instruction") or "")
    for task in TASKS:
        if any(sentence(task, lang) == said for lang in ("en", "zh")):
            return task
    schema = instruction.get("schema") or []
    return "EE" if schema and all(isinstance(x, dict) for x in schema) else None


def schema_names(task: str, schema: list) -> list[str]:
    """The keys an answer has: types, relations, or the event types of EE schema items."""
    if task == "EE":
        return [str(item.get("event_type")) for item in schema if isinstance(item, dict)]
    return [str(item) for item in schema]


def _values(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def answer_text(task: str, schema: list, items: list[dict]) -> str:
    """The training answer of one schema batch for the gold items of its input."""
    out: dict[str, Any] = {}
    if task == "NER":
        for name in schema:
            out[name] = [it["entity"] for it in items if it["entity_type"] == name]
    elif task == "RE":
        for name in schema:
            out[name] = [{"subject": it["head"], "object": it["tail"]} for it in items if it["relation"] == name]
    else:
        for entry in schema:
            events = []
            for ev in (it for it in items if it["event_type"] == entry["event_type"]):
                if not ev["event_trigger"] and not ev["arguments"]:
                    continue
                found = {role: list(dict.fromkeys(a["argument"] for a in ev["arguments"] if a["role"] == role))
                         for role in entry["arguments"]}
                args = {role: _values(vals) if vals else NAN for role, vals in found.items()}
                events.append({"trigger": ev["event_trigger"] or NAN,
                               "arguments": args if any(found.values()) else {}})
            out[entry["event_type"]] = events
    return json.dumps(out, ensure_ascii=False)


def _strings(value: Any) -> list[str] | None:
    """A string or a list of strings (NAN and empty left out); None when it is neither."""
    if isinstance(value, str):
        return [] if value.strip() in ("", NAN) else [value.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip() not in ("", NAN)]
    return None


def parse_answer(task: str, text: str, schema: list, source: str = "") -> Parsed:
    """One answer -> Parsed with `pred` = items. A key outside the schema or a span not in the input is kept and
    flagged (it counts as a prediction); an item of the wrong shape is one wrong prediction of its unit."""
    value, status = load_json(text)
    units = UNITS[task]
    if not isinstance(value, dict):
        parsed = Parsed([], UNPARSABLE)
        parsed.flag(f"no JSON object keyed by schema item in {short(text or '')!r}", units[0])
        for unit in units[1:]:
            parsed.bad[unit] = parsed.bad.get(unit, 0) + 1
        return parsed
    parsed, names = Parsed([], status), set(schema_names(task, schema))
    for key, values in value.items():
        if key not in names:
            parsed.issues.append(f"{key!r} is not in the schema of this instruction")
        if not isinstance(values, list):
            parsed.flag(f"{key!r}: expected a list, got {short(values)}", units[0])
            continue
        for val in values:
            before = len(parsed.pred)
            _read_item(task, key, val, parsed)
            if source and len(parsed.pred) > before:
                _check_spans(task, parsed.pred[-1], source, parsed)
    return parsed.finish()


def _read_item(task: str, key: str, val: Any, parsed: Parsed) -> None:
    if task == "NER":
        if isinstance(val, str) and val.strip():
            parsed.pred.append({"entity": val.strip(), "entity_type": key})
        else:
            parsed.flag(f"{key!r}: entity {short(val)} is not a non-empty string", "entity")
    elif task == "RE":
        head = val.get("subject", val.get("head")) if isinstance(val, dict) else None
        tail = val.get("object", val.get("tail")) if isinstance(val, dict) else None
        if isinstance(head, str) and isinstance(tail, str) and head.strip() and tail.strip():
            parsed.pred.append({"head": head.strip(), "relation": key, "tail": tail.strip()})
        else:
            parsed.flag(f"{key!r}: {short(val)} needs subject and object strings", "triple")
    else:
        trigger = val.get("trigger", "") if isinstance(val, dict) else None
        args = val.get("arguments", {}) if isinstance(val, dict) else None
        if not isinstance(trigger, str) or not isinstance(args, dict):
            parsed.flag(f"{key!r}: event {short(val)} needs a trigger string and an arguments object", "trigger")
            parsed.bad["argument"] = parsed.bad.get("argument", 0) + 1
            return
        event = {"event_type": key, "event_trigger": "" if trigger.strip() == NAN else trigger.strip(),
                 "arguments": []}
        for role, value in args.items():
            got = _strings(value)
            if got is None:
                parsed.flag(f"{key!r}: argument {role!r} = {short(value)} is not a string or a list of strings",
                            "argument")
                continue
            event["arguments"].extend({"argument": a, "role": role} for a in got)
        parsed.pred.append(event)


def _check_spans(task: str, item: dict, source: str, parsed: Parsed) -> None:
    spans = {"NER": lambda: [item["entity"]], "RE": lambda: [item["head"], item["tail"]],
             "EE": lambda: [item["event_trigger"], *(a["argument"] for a in item["arguments"])]}[task]()
    missing = [s for s in spans if s and s not in source]
    if missing:
        parsed.issues.append(f"not in the input: {', '.join(repr(s) for s in missing)}")


def unit_keys(task: str, items: list[dict]) -> dict[str, list[tuple]]:
    """The scored units of a list of items (stripped strings)."""
    if task == "NER":
        return {"entity": [(it["entity_type"].strip(), it["entity"].strip()) for it in items]}
    if task == "RE":
        return {"triple": [(it["head"].strip(), it["relation"].strip(), it["tail"].strip()) for it in items]}
    triggers = [(ev["event_type"].strip(), ev["event_trigger"].strip()) for ev in items]
    arguments = [(ev["event_type"].strip(), a["role"].strip(), a["argument"].strip())
                 for ev in items for a in ev["arguments"]]
    return {"trigger": triggers, "argument": arguments}


def check_items(task: str, items: Any, field: str) -> list[dict]:
    """Gold items in the IEPile annotation shape, checked; ValueError("field: message") otherwise."""
    if not isinstance(items, list) or not all(isinstance(it, dict) for it in items):
        raise ValueError(f"{field}: expected a list of objects")
    need = {"NER": ("entity", "entity_type"), "RE": ("head", "relation", "tail"), "EE": ("event_type",)}[task]
    out = []
    for i, it in enumerate(items):
        for key in need:
            if not isinstance(it.get(key), str) or not it[key].strip():
                raise ValueError(f"{field}[{i}].{key}: expected a non-empty string")
        if task != "EE":
            out.append(dict(it))
            continue
        trigger = it.get("event_trigger", it.get("trigger", "")) or ""
        args = it.get("arguments") or []
        if not isinstance(trigger, str) or not isinstance(args, list):
            raise ValueError(f"{field}[{i}]: event_trigger must be a string and arguments a list")
        for j, a in enumerate(args):
            if not isinstance(a, dict) or not isinstance(a.get("role"), str) or not isinstance(
                    a.get("argument", a.get("text")), str):
                raise ValueError(f"{field}[{i}].arguments[{j}]: needs role and argument strings")
        out.append({"event_type": it["event_type"], "event_trigger": "" if trigger == NAN else trigger,
                    "arguments": [{"argument": a.get("argument", a.get("text")), "role": a["role"]} for a in args]})
    return out
