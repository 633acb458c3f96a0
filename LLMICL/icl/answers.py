r"""Reading model answers: JSON first, tolerant repair (json-repair) second; a status per answer, never an exception.

    python -c "import sys; sys.path.insert(0, 'LLMICL'); from icl.answers import load_json; print(load_json('Sure: [{\"E\": \"PER\", \"W\": \"Ann\"}'))"

Statuses of a parsed record, from best to worst:
  ok          valid JSON of the expected shape, every item valid
  repaired    the JSON had to be repaired or cut out of surrounding text (or a plain-text answer was mapped)
  invalid     parsed, but some items are flagged (label not allowed, span not in the text, malformed item)
  unparsable  no answer of the expected shape could be read
  error       the request failed; there is no answer
Flagged and malformed items count as wrong predictions in scoring; an unparsable answer counts as one wrong
prediction. Nothing is skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import json_repair

OK, REPAIRED, INVALID, UNPARSABLE, ERROR = "ok", "repaired", "invalid", "unparsable", "error"
_FENCE = re.compile(r"^```[\w-]*\s*\n?(.*?)\n?\s*```$", re.DOTALL)


@dataclass
class Parsed:
    """One answer read: the prediction, its status, what was wrong, and malformed items per scored unit."""

    pred: Any
    status: str = OK
    issues: list[str] = field(default_factory=list)
    bad: dict[str, int] = field(default_factory=dict)
    raw: str = ""

    def flag(self, issue: str, unit: str | None = None) -> None:
        """Record a problem; with `unit`, one more wrong prediction of that unit (e.g. "entity")."""
        self.issues.append(issue)
        if unit:
            self.bad[unit] = self.bad.get(unit, 0) + 1

    def finish(self) -> Parsed:
        if self.issues and self.status in (OK, REPAIRED):
            self.status = INVALID
        return self


def load_json(text: str | None) -> tuple[Any, str]:
    """(value, status): status ok for clean JSON (code fences allowed), repaired when it had to be fixed or cut out
    of other text, unparsable (value None) when no JSON object or list could be read."""
    text = (text or "").strip()
    match = _FENCE.match(text)
    if match:
        text = match.group(1).strip()
    if not text:
        return None, UNPARSABLE
    try:
        return json.loads(text), OK
    except json.JSONDecodeError:
        pass
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    if not starts:
        return None, UNPARSABLE
    start = min(starts)
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
        return value, REPAIRED
    except json.JSONDecodeError:
        pass
    try:
        value = json_repair.loads(text[start:])
    except Exception:  # the repair library must never take a run down
        return None, UNPARSABLE
    if isinstance(value, (list, dict)):
        return value, REPAIRED
    return None, UNPARSABLE


def unwrap(value: Any, keys: tuple[str, ...]) -> Any:
    """`{"entities": [...]}` -> `[...]` for the first of `keys` present; anything else unchanged."""
    if isinstance(value, dict):
        for key in keys:
            if key in value:
                return value[key]
    return value


def pick(item: dict, keys: tuple[str, ...]) -> str | None:
    """The first of `keys` holding a non-empty string (numbers are turned into strings)."""
    for key in keys:
        value = item.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
