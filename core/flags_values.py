"""How a setting's value is read, whatever gave it (command line, config file, a Python call): the one rule.

    python -c "from core.flags import Flag; from core.flags_values import coerce; print(coerce(Flag('k', list), 'a,b'))"

`coerce(flag, value)` turns a value into the flag's type (bool, int, float, str or list) and checks its choices;
`read_bool` is the rule for a yes/no setting on its own (core.llm.config reads its booleans with it); `check_int` the
check of a whole-number setting with a lower bound (batch sizes, LoRA rank, threads ...). `None`, `null`, `~` and an
empty value mean "not set". Anything else that does not fit is a one-line UserError naming the flag.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from core.errors import UserError

if TYPE_CHECKING:
    from core.flags import Flag

NONE_STRINGS = {"", "none", "null", "~"}
TRUE_WORDS = ("true", "yes", "1", "on")
FALSE_WORDS = ("false", "no", "0", "off")


def read_bool(value: Any, shown: str) -> bool | None:
    """A yes/no value: a bool as it is, None or a "not set" word as None, the TRUE_WORDS / FALSE_WORDS (any case);
    UserError naming `shown` (e.g. `--chat`) otherwise."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in NONE_STRINGS:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise UserError(f"{shown} {value!r}: expected true or false")


def check_int(name: str, value: Any, low: int = 1) -> None:
    """UserError `--name must be an integer >= low (got value)` unless `value` is an int (not a bool) >= `low`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UserError(f"--{name} must be an integer >= {low} (got {value!r})")


def coerce(flag: Flag, value: Any, shown: str | None = None) -> Any:
    """A command-line or config-file value as the flag's type; one-line UserError naming the flag otherwise."""
    shown = shown or f"--{flag.name}"
    if value is None or (isinstance(value, str) and value.strip().lower() in NONE_STRINGS):
        return None
    value = _as_type(flag, value, shown)
    for item in value if isinstance(value, list) else [value]:
        if flag.choices and item not in flag.choices:
            raise UserError(f"{shown} {item!r}: expected one of {', '.join(map(str, flag.choices))}")
    return value


def _as_type(flag: Flag, value: Any, shown: str) -> Any:
    expected = {bool: "true or false", int: "an integer", float: "a number", list: "a list", str: "a string"}
    bad = UserError(f"{shown} {value!r}: expected {expected[flag.type]}")
    if flag.type is bool:
        return read_bool(value, shown)
    if flag.type in (int, float):
        if isinstance(value, bool):
            raise bad
        try:
            return float(value) if flag.type is float else int(str(value).strip())
        except (TypeError, ValueError):
            raise bad from None
    if flag.type is list:
        if isinstance(value, (list, tuple)):
            return [str(x) for x in value]
        text = str(value).strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
                if isinstance(parsed, list):
                    return [str(x) for x in parsed]
            except ValueError:
                text = text[1:-1] if text.endswith("]") else text[1:]
        for separator in ("，", "、"):  # Chinese list separators
            text = text.replace(separator, ",")
        return [part.strip().strip("'\"") for part in text.split(",") if part.strip()]
    if isinstance(value, (str, os.PathLike)):
        return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise bad
