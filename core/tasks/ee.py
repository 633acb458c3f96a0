r"""EE: events with type, trigger and role-labelled arguments; trigger and argument micro P/R/F1.

    python -c "import sys; from core.tasks import get_task; print(get_task('ee').parse('[{\"event_type\": \"Marriage\", \"trigger\": \"wed\"}]', {'text': 'They wed.'}, None))"

Record (few-shot file data/ee_<lang>.json, DeepKE's 2023 format plus a `trigger` per event; event_list is the gold):
    {"text": "...", "event_list": [{"event_type": "Attack", "trigger": "fired",
                                    "arguments": [{"role": "Attacker", "argument": "an American tank"}]}]}
Scored units: a trigger is (event_type, trigger); an argument is (event_type, role, argument); exact strings.
"""

from __future__ import annotations

from core.metrics import micro_prf
from core.parsing.answers import dumps, load_json, pick, short, unwrap
from core.records import UNPARSABLE, Parsed
from core.tasks.base import Task, dict_list, in_text, marked, register_task

TRIGGER, ARGUMENT = "trigger", "argument"


def event_units(events: list[dict]) -> tuple[set, set]:
    triggers, arguments = set(), set()
    for ev in events:
        etype = str(ev["event_type"]).strip()
        triggers.add((etype, str(ev.get("trigger") or "").strip()))
        for arg in ev.get("arguments") or []:
            arguments.add((etype, str(arg["role"]).strip(), str(arg["argument"]).strip()))
    return triggers, arguments


class EE(Task):
    name = "ee"
    units = (TRIGGER, ARGUMENT)
    optional = {"id": (str, int), "event_list": list}

    def check_more(self, rec: dict) -> None:
        for i, ev in enumerate(dict_list(rec.get("event_list") or [], "event_list")):
            if not isinstance(ev.get("event_type"), str):
                raise ValueError(f"event_list: event {i} needs a string event_type")
            if ev.get("trigger") is not None and not isinstance(ev["trigger"], str):
                raise ValueError(f"event_list: event {i}: trigger must be a string")
            for arg in dict_list(ev.get("arguments") or [], f"event_list[{i}].arguments"):
                if not isinstance(arg.get("role"), str) or not isinstance(arg.get("argument"), str):
                    raise ValueError(f"event_list: event {i}: each argument needs string role and argument")

    def demo_vars(self, rec: dict, style: str = "json") -> dict:
        answer = []
        for ev in rec.get("event_list") or []:
            item = {"event_type": ev["event_type"]}
            if ev.get("trigger"):
                item["trigger"] = ev["trigger"]
            item["arguments"] = [{"role": a["role"], "argument": a["argument"]} for a in ev.get("arguments") or []]
            answer.append(item)
        return {"text": rec["text"], "answer": dumps(answer)}

    def answer_schema(self, rec: dict, labels: list[str] | None) -> dict:
        """[{"event_type": one of `labels`, "trigger": words of the text, "arguments": [{"role", "argument": words
        of the text}]}], as the prompt asks."""
        etype = {"type": "string", "enum": list(dict.fromkeys(labels))} if labels else {"type": "string"}
        argument = {"type": "object", "properties": {"role": {"type": "string"}, "argument": marked("copy")},
                    "required": ["role", "argument"], "additionalProperties": False}
        event = {"type": "object", "properties": {"event_type": etype, "trigger": marked("copy"),
                                                  "arguments": {"type": "array", "items": argument}},
                 "required": ["event_type", "trigger", "arguments"], "additionalProperties": False}
        return {"type": "array", "items": event}

    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        value, status = load_json(text)
        value = unwrap(value, ("events", "event_list", "output"))
        if isinstance(value, dict) and pick(value, ("event_type", "type")):
            value = [value]
        if not isinstance(value, list):
            parsed = Parsed([], UNPARSABLE)
            parsed.flag("no JSON list of events in the answer", TRIGGER)
            parsed.bad[ARGUMENT] = 1
            return parsed
        parsed = Parsed([], status)
        source = rec.get("text") or ""
        for ev in value:
            etype = pick(ev, ("event_type", "type")) if isinstance(ev, dict) else None
            if not etype:
                parsed.flag(f"event {short(ev)}: needs an event_type", TRIGGER)
                parsed.bad[ARGUMENT] = parsed.bad.get(ARGUMENT, 0) + 1
                continue
            event = {"event_type": etype, "trigger": pick(ev, ("trigger", "trigger_word")) or "", "arguments": []}
            problems = []
            if labels and etype not in labels:
                problems.append(f"event type {etype!r} not allowed")
            if event["trigger"] and not in_text(event["trigger"], source):
                problems.append(f"trigger {event['trigger']!r} not in the text")
            args = ev.get("arguments", ev.get("args")) or []
            if not isinstance(args, list):
                parsed.flag(f"{etype}: arguments {short(args)} is not a list", ARGUMENT)
                args = []
            for arg in args:
                role = pick(arg, ("role",)) if isinstance(arg, dict) else None
                words = pick(arg, ("argument", "text", "value")) if isinstance(arg, dict) else None
                if not role or not words:
                    parsed.flag(f"{etype}: argument {short(arg)} needs role and argument", ARGUMENT)
                    continue
                item = {"role": role, "argument": words}
                if not in_text(words, source):
                    item["flag"] = "not in the text"
                    parsed.flag(f"{etype}: argument {words!r} not in the text")
                event["arguments"].append(item)
            if problems:
                event["flag"] = "; ".join(problems)
                parsed.issues.extend(f"{etype}: {p}" for p in problems)
            parsed.pred.append(event)
        return parsed.finish()

    def has_gold(self, rec: dict) -> bool:
        return rec.get("event_list") is not None

    def score(self, pairs: list[tuple[dict, Parsed]], labels: list[str] | None = None, language: str = "en") -> dict:
        gold = [event_units(rec["event_list"]) for rec, _ in pairs]
        pred = [event_units(parsed.pred) for _, parsed in pairs]
        return {unit: micro_prf([g[k] for g in gold], [p[k] for p in pred],
                                extra_wrong=sum(parsed.bad.get(unit, 0) for _, parsed in pairs))
                for k, unit in enumerate((TRIGGER, ARGUMENT))}


register_task(EE())
