"""The one command-line layer: flags, defaults and help generated from settings dataclasses, for every entry point.

    python -c "from core.flags import Flag, parse; print(parse([Flag('k', int, 3, 'demos')], ['--k', '5'], 'demo'))"

A setting is declared once, as a dataclass field with its type, default and `metadata={"help": ...}` (optionally
`"aliases": ("-tp", "--valid_file")` for the 2023 spellings, `"required": True`). `flags_of(Cls)` turns the fields
into `Flag`s; `parse(flags, argv, prog)` reads `--name value`, `--name=value`, a bare `--flag` (True) for booleans,
the aliases, and with `key_value=True` the Hydra-style `name=value` of DeepKE's 2023 LLMICL commands. Lists are
`[a,b]`, `a,b` or a JSON list. `None`, `null` and an empty value mean "not set".

Why not python-fire, the project's earlier CLI engine: fire runs the command first and complains about an unknown flag
afterwards (files already written), passes `--k abc` to an `int` setting unchecked, prints an `INFO: Showing help`
banner before every help page, and reads `-h` as a flag of its own. Every error here is one line and exit 2, before
anything runs; `-h` / `--help` print the help generated from the same fields, real defaults included.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import UserError, guard

NONE_STRINGS = {"", "none", "null", "~"}
_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "list": list}


@dataclass(frozen=True)
class Flag:
    name: str
    type: type = str
    default: Any = None
    help: str = ""
    aliases: tuple[str, ...] = ()
    required: bool = False
    bare: Any = None  # the value of the flag given without one (booleans: True; `str | bool` fields: True)

    def spellings(self) -> list[str]:
        return [f"--{self.name}", *self.aliases]


def _type_of(annotation: Any) -> type:
    """The first of bool/int/float/str/list in a field's annotation (`int | None` -> int, `list[str]` -> list)."""
    names = [part.strip().split("[")[0] for part in str(annotation).replace("typing.", "").split("|")]
    return next((_TYPES[n] for n in names if n in _TYPES), str)


def flags_of(cls: type, exclude: Iterable[str] = (), **defaults: Any) -> list[Flag]:
    """One Flag per field of a settings dataclass (fields in `exclude` left out; `defaults` override defaults)."""
    out = []
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        if f.name in defaults:
            default = defaults[f.name]
        elif f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        typ = _type_of(f.type)
        bare = True if typ is bool or "bool" in str(f.type) else None
        out.append(Flag(f.name, typ, default, f.metadata.get("help", ""), tuple(f.metadata.get("aliases", ())),
                        bool(f.metadata.get("required", False)), bare))
    return out


def dataclass_flags(cls: type) -> list[tuple[str, type, Any, str]]:
    """(name, type, default, help) of every field: what older code reads (see flags_of)."""
    return [(f.name, f.type, f.default, f.help) for f in flags_of(cls)]


def coerce(flag: Flag, value: Any, shown: str | None = None) -> Any:
    """A command-line or config-file value as the flag's type; one-line UserError naming the flag otherwise."""
    shown = shown or f"--{flag.name}"
    if value is None or (isinstance(value, str) and value.strip().lower() in NONE_STRINGS):
        return None
    expected = {bool: "true or false", int: "an integer", float: "a number", list: "a list", str: "a string"}
    bad = UserError(f"{shown} {value!r}: expected {expected[flag.type]}")
    if flag.type is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise bad
    if flag.type in (int, float):
        if isinstance(value, bool):
            raise bad
        try:
            number = float(value) if flag.type is float else int(str(value).strip())
        except (TypeError, ValueError):
            raise bad from None
        return number
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
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad
    return value


def _lookup(flags: Sequence[Flag]) -> dict[str, Flag]:
    table: dict[str, Flag] = {}
    for flag in flags:
        for spelling in flag.spellings():
            if spelling in table:
                raise ValueError(f"flag {spelling} is declared twice")
            table[spelling] = flag
    return table


def _unknown(name: str, table: dict[str, Flag], prog: str) -> UserError:
    close = difflib.get_close_matches(name, list(table), n=1)
    hint = f" (did you mean {close[0]}?)" if close else f"; {prog} --help lists the flags"
    return UserError(f"{prog}: unknown flag {name}{hint}")


def parse(flags: Sequence[Flag], argv: Sequence[str], prog: str, key_value: bool = False,
          defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Values of every flag (its default where not given); UserError (one line) on anything wrong."""
    table = _lookup(flags)
    given: dict[str, Any] = {}
    seen_as: dict[str, str] = {}
    argv = list(argv)
    i = 0
    while i < len(argv):
        word = argv[i]
        if key_value and "=" in word and not word.startswith("-"):
            name, value = word.split("=", 1)
            spelling = f"--{name.strip().lstrip('+')}"  # Hydra's `+key=value` too
        elif word.startswith("-") and len(word) > 1 and not _is_number(word):
            spelling, eq, value = word.partition("=")
            if not eq:
                value = None
        else:
            raise UserError(f"{prog}: unexpected argument {word!r}; settings are given as --name value")
        flag = table.get(spelling) or table.get(spelling[:2] + spelling[2:].replace("-", "_"))
        if flag is None:
            raise _unknown(spelling, table, prog)
        if value is None:
            following = argv[i + 1] if i + 1 < len(argv) else None
            if flag.type is bool and (following is None or following.lower() not in (
                    "true", "false", "yes", "no", "1", "0", "on", "off", "none")):
                value = "true"
            elif flag.bare is not None and (following is None or following.startswith("--")):
                given[flag.name], seen_as[flag.name] = flag.bare, spelling
                i += 1
                continue
            elif following is None or (following.startswith("--") and not _is_number(following)):
                raise UserError(f"{prog}: {spelling} needs a value")
            else:
                value = following
                i += 1
        if flag.name in given and seen_as[flag.name] != spelling:
            previous = given[flag.name]
            if str(previous) != str(coerce(flag, value, spelling)):
                raise UserError(f"{prog}: {seen_as[flag.name]} {previous} and {spelling} {value} disagree: "
                                "give one of them")
        given[flag.name] = coerce(flag, value, spelling)
        seen_as[flag.name] = spelling
        i += 1
    values = {f.name: f.default for f in flags}
    for name, value in (defaults or {}).items():
        if name in values:
            values[name] = coerce(next(f for f in flags if f.name == name), value, name)
    values.update(given)
    missing = [f for f in flags if f.required and values[f.name] in (None, "")]
    if missing:
        raise UserError(f"{prog}: --{missing[0].name} is required ({missing[0].help or 'no default'})")
    return values


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _shown_default(flag: Flag) -> str:
    if flag.required:
        return "required"
    if flag.default is None:
        return "not set"
    if isinstance(flag.default, list):
        return "[" + ",".join(map(str, flag.default)) + "]"
    return str(flag.default)


def help_text(prog: str, doc: str | None, flags: Sequence[Flag], key_value: bool = False) -> str:
    """The help page: the docstring (its commands run as written), then every flag with type, default and help."""
    lines = [(doc or "").strip(), "", f"usage: {prog} [--flag value ...]" + ("  (or flag=value)" if key_value else "")]
    lines.append("")
    lines.append("flags:")
    for flag in flags:
        kind = flag.type.__name__
        names = ", ".join(flag.spellings())
        lines.append(f"  {names} {kind.upper() if flag.type is not bool else ''}".rstrip())
        text = flag.help or ""
        lines.append(f"      {text} (default: {_shown_default(flag)})" if text else
                     f"      (default: {_shown_default(flag)})")
    return "\n".join(lines).strip("\n")


def run(main: Callable[..., Any], flags: Sequence[Flag], argv: Sequence[str] | None = None, *, prog: str,
        doc: str | None = None, key_value: bool = False, defaults: dict[str, Any] | None = None) -> Any:
    """Parse argv (`-h`/`--help`: print the help, exit 0) and call `main(**values)`, with core.errors.guard's
    handling: one-line errors and exit 2, Ctrl-C exit 130."""
    argv = list(sys.argv[1:] if argv is None else argv)

    def call() -> Any:
        if "-h" in argv or "--help" in argv:
            print(help_text(prog, doc, flags, key_value))
            return None
        return main(**parse(flags, argv, prog, key_value, defaults))

    return guard(call)()
