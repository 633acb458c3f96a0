r"""Reading model answers: JSON first, tolerant repair (json-repair) second; a status per answer, never an exception.

    python -c "from core.parsing.answers import load_json; print(load_json('Sure: [{\"E\": \"PER\", \"W\": \"Ann\"}'))"

The statuses and the parse envelope (`Parsed`) are core.records'.
"""

from __future__ import annotations

import json
import re
from typing import Any

import json_repair

from core.records import OK, REPAIRED, UNPARSABLE

_FENCE = re.compile(r"^```[\w-]*\s*\n?(.*?)\n?\s*```$", re.DOTALL)


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
