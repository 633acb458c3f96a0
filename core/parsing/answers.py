r"""Reading model answers: JSON first, tolerant repair (json-repair) second; a status per answer, never an exception.

    python -c "from core.parsing.answers import load_json; print(load_json('Sure: [{\"E\": \"PER\", \"W\": \"Ann\"}'))"

`json_objects` reads an answer holding several objects one after another (one a line, or each over several lines).
The statuses and the parse envelope (`Parsed`) are core.records'.
"""

from __future__ import annotations

import json
import re
from typing import Any

import json_repair

from core.records import OK, REPAIRED, UNPARSABLE

_FENCE = re.compile(r"^```[\w-]*\s*\n?(.*?)\n?\s*```$", re.DOTALL)
_LEAD = re.compile(r"^\s*(?:\d+\s*[.)]|[-*•])\s+")
_LABEL = re.compile(r"^[^{}\"'\n]{1,40}?[:：]\s*(?=\{)")
_GOES_ON = ('"', "'", "}", "]", ",", ":")  # how the inner lines of a pretty-printed object start


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


def json_objects(text: str | None) -> list[tuple[Any, bool]]:
    """[(object or the text of a line, clean?)] for an answer made of several JSON objects one after another, each on
    one line or over several (pretty-printed); before one: numbering, a bullet or a short label (`Sample 2:`), after
    one: a comma. Fence lines (```) are skipped; every other non-blank line is kept as its text (stripped). A
    malformed object is repaired (json-repair) from its lines: up to where its braces close, else (cut off, a brace
    missing) its first line and the lines that go on with it (starting with a quote, `}`, `]`, `,` or `:`); one that
    still is no object is kept as its text."""
    lines = [ln for ln in (text or "").splitlines() if not ln.strip().startswith("```")]
    decoder = json.JSONDecoder()
    out: list[tuple[Any, bool]] = []
    i = 0
    while i < len(lines):
        line = _LEAD.sub("", lines[i]).strip()
        unlabelled = _LABEL.sub("", line)
        if not unlabelled.startswith("{"):
            if line:
                out.append((line, False))
            i += 1
            continue
        labelled, line = unlabelled != line, unlabelled
        rest = "\n".join([line, *lines[i + 1 :]])
        try:
            value, end = decoder.raw_decode(rest)
        except json.JSONDecodeError:
            n = _object_lines([line, *lines[i + 1 :]])
            chunk = "\n".join([line, *(ln.strip() for ln in lines[i + 1 : i + n])])
            try:
                value = json_repair.loads(chunk)
            except Exception:  # the repair library must never take a run down
                value = None
            out.append((value if isinstance(value, dict) else chunk, False))
            i += n
            continue
        i += rest.count("\n", 0, end)
        after = rest[end:].split("\n", 1)[0].strip().lstrip(",").strip()
        out.append((value, not labelled and (not after or after.startswith("{"))))
        if after.startswith("{"):  # the next object on the same line
            lines[i] = after
        else:
            i += 1
    return out


def _object_lines(lines: list[str]) -> int:
    """How many of `lines` a malformed object starting on the first one spans (see json_objects)."""
    depth = 0
    for n, line in enumerate(lines, start=1):
        if n > 1 and not line.strip().startswith(_GOES_ON):
            return n - 1
        quoted = escaped = False  # a JSON string never spans lines
        for char in line:
            if escaped:
                escaped = False
            elif char == "\\" and quoted:
                escaped = True
            elif char == '"':
                quoted = not quoted
            elif not quoted and char in "{[":
                depth += 1
            elif not quoted and char in "}]":
                depth -= 1
        if depth <= 0:
            return n
    return len(lines)


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
