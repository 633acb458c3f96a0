"""The one command-line layer: flags, defaults and help generated from settings dataclasses, for every entry point.

    python -c "from core.flags import Flag, parse; print(parse([Flag('k', int, 3, 'demos')], ['--k', '5'], 'demo'))"

A setting is declared once, as a dataclass field with its type, default and `metadata={"help": ...}`; optional
metadata: `"aliases": ("-tp", "--valid_file")` (DeepKE's 2023 spellings), `"required": True`, `"choices": (...)`,
`"positional": True` (given as a bare word; a list takes every remaining one) and `"shown_default": "..."` (how the
help shows a default computed at run time). A field with `repr=False` is a secret: the help never prints its value.
`flags_of(Cls)` turns the fields into `Flag`s; `parse(flags, argv, prog)` reads `--name value`, `--name=value`, a bare
`--flag` (True) for booleans, the aliases, and with `key_value=True` the Hydra-style `name=value` of DeepKE's 2023
LLMICL commands. Lists are `[a,b]`, `a,b`, a JSON list, several words after the flag, or the flag repeated.
`None`, `null` and an empty value mean "not set". `run` is an entry point's `__main__`; `run_commands` one with
subcommands (`python -m core.kg build ...`); `complete` gives a Python caller of `main(**settings)` the same checks.
Values are read as their flag's type by core.flags_values (`coerce`, the one rule for booleans, numbers and lists);
the help pages are rendered by core.flags_help (`help_text`).

Why not python-fire, the project's earlier CLI engine: fire runs the command first and complains about an unknown flag
afterwards (files already written), passes `--k abc` to an `int` setting unchecked, prints an `INFO: Showing help`
banner before every help page, and reads `-h` as a flag of its own. Every error here is one line and exit 2, before
anything runs; `-h` / `--help` print the help generated from the same fields, real defaults included.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import UserError, guard
from core.flags_help import commands_help, help_text
from core.flags_values import FALSE_WORDS, TRUE_WORDS, coerce

_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "list": list}
_BOOL_WORDS = (*TRUE_WORDS, *FALSE_WORDS, "none")  # words a bare boolean flag takes as its value


@dataclass(frozen=True)
class Flag:
    name: str
    type: type = str
    default: Any = None
    help: str = ""
    aliases: tuple[str, ...] = ()
    required: bool = False
    bare: Any = None  # the value of the flag given without one (booleans: True; `str | bool` fields: True)
    choices: tuple = ()
    positional: bool = False
    secret: bool = False  # the help shows *** instead of the value
    shown: str | None = None  # the help's text for a default computed at run time

    def spellings(self) -> list[str]:
        return [f"--{self.name}", *self.aliases]


def _type_of(annotation: Any) -> type:
    """The first of bool/int/float/str/list in a field's annotation (`int | None` -> int, `list[str]` -> list)."""
    names = [part.strip().split("[")[0] for part in str(annotation).replace("typing.", "").split("|")]
    return next((_TYPES[n] for n in names if n in _TYPES), str)


def flags_of(cls: type, exclude: Iterable[str] = (), aliases: Mapping[str, tuple[str, ...]] | None = None,
             **defaults: Any) -> list[Flag]:
    """One Flag per field of a settings dataclass (fields in `exclude` left out; `aliases` adds spellings, e.g.
    {"api_key": ("-ak",)}; `defaults` override defaults)."""
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
        typ, meta = _type_of(f.type), f.metadata
        bare = True if typ is bool or "bool" in str(f.type) else None
        out.append(Flag(f.name, typ, default, meta.get("help", ""),
                        (*meta.get("aliases", ()), *(aliases or {}).get(f.name, ())), bool(meta.get("required")),
                        bare, tuple(meta.get("choices", ())), bool(meta.get("positional")), not f.repr,
                        meta.get("shown_default")))
    return out


def dataclass_flags(cls: type) -> list[tuple[str, type, Any, str]]:
    """(name, type, default, help) of every field: what older code reads (see flags_of)."""
    return [(f.name, f.type, f.default, f.help) for f in flags_of(cls)]


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


def _is_flag(word: str, key_value: bool) -> bool:
    return (word.startswith("-") and len(word) > 1 and not _is_number(word)) or (key_value and "=" in word)


def _pairs(flags: Sequence[Flag], argv: Sequence[str], prog: str, key_value: bool) -> list[tuple[str, Flag, Any]]:
    """(spelling, flag, raw value) for every setting the words give, in order."""
    table, pairs, argv, i = _lookup(flags), [], list(argv), 0
    waiting = [f for f in flags if f.positional]
    while i < len(argv):
        word = argv[i]
        if key_value and "=" in word and not word.startswith("-"):
            name, value = word.split("=", 1)
            spelling = f"--{name.strip().lstrip('+')}"  # Hydra's `+key=value` too
        elif _is_flag(word, False):
            spelling, eq, value = word.partition("=")
            if not eq:
                value = None
        elif waiting:
            pairs.append((waiting[0].name.upper(), waiting[0], word))
            if waiting[0].type is not list:
                waiting.pop(0)
            i += 1
            continue
        else:
            raise UserError(f"{prog}: unexpected argument {word!r}; settings are given as --name value")
        flag = table.get(spelling) or table.get(spelling[:2] + spelling[2:].replace("-", "_"))
        if flag is None:
            raise _unknown(spelling, table, prog)
        if value is None:
            following = argv[i + 1] if i + 1 < len(argv) else None
            if flag.type is bool and (following is None or following.lower() not in _BOOL_WORDS):
                value = "true"
            elif flag.bare is not None and (following is None or following.startswith("--")):
                value = flag.bare
            elif following is None or _is_flag(following, False):
                raise UserError(f"{prog}: {spelling} needs a value")
            else:
                words, i = [following], i + 1
                while (flag.type is list and not any(f.positional for f in flags) and i + 1 < len(argv)
                       and not _is_flag(argv[i + 1], key_value)):  # `--da_path a.json b.json`
                    words.append(argv[i + 1])
                    i += 1
                value = ",".join(words) if len(words) > 1 else following
        pairs.append((spelling, flag, value))
        i += 1
    return pairs


def _resolve(flags: Sequence[Flag], pairs: Iterable[tuple[str, Flag, Any]], prog: str,
             defaults: Mapping[str, Any] | None, check_required: bool = True) -> dict[str, Any]:
    given: dict[str, Any] = {}
    seen_as: dict[str, str] = {}
    for spelling, flag, raw in pairs:
        value = raw if flag.bare is not None and raw is flag.bare else coerce(flag, raw, spelling)
        if flag.type is list and given.get(flag.name) is not None and value is not None:
            given[flag.name] = [*given[flag.name], *value]  # a repeated list flag adds up
            continue
        if flag.name in given and seen_as[flag.name] != spelling and str(given[flag.name]) != str(value):
            raise UserError(f"{prog}: {seen_as[flag.name]} {given[flag.name]} and {spelling} {raw} disagree: "
                            "give one of them")
        given[flag.name], seen_as[flag.name] = value, spelling
    values = {f.name: f.default for f in flags}
    table = _lookup(flags)
    for name, value in (defaults or {}).items():  # a config file's keys: the flags' names or aliases
        flag = table.get(f"--{name}") or table.get(str(name))
        if flag is not None:
            values[flag.name] = coerce(flag, value, str(name))
    values.update(given)
    missing = [f for f in flags if f.required and values[f.name] in (None, "", [])]
    if missing and check_required:
        shown = missing[0].name.upper() if missing[0].positional else f"--{missing[0].name}"
        raise UserError(f"{prog}: {shown} is required ({missing[0].help or 'no default'})")
    return values


def parse(flags: Sequence[Flag], argv: Sequence[str], prog: str, key_value: bool = False,
          defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Values of every flag (its default where not given); UserError (one line) on anything wrong."""
    return _resolve(flags, _pairs(flags, argv, prog, key_value), prog, defaults)


def complete(flags: Sequence[Flag], given: Mapping[str, Any], prog: str) -> dict[str, Any]:
    """Every flag's value for a Python call `main(**given)`: names or alias names (`max_new_tokens=`), the flags'
    types and checks, defaults for the rest; UserError on an unknown name."""
    table = _lookup(flags)
    pairs = []
    for name, value in given.items():
        flag = table.get(f"--{name}") or table.get(f"-{name}")
        if flag is None:
            raise _unknown(f"--{name}", table, prog)
        pairs.append((f"--{name}", flag, value))
    return _resolve(flags, pairs, prog, None)


def take(values: dict[str, Any], cls: type) -> dict[str, Any]:
    """The settings that are fields of dataclass `cls`, removed from `values` (one entry point's flags, split)."""
    return {f.name: values.pop(f.name) for f in dataclasses.fields(cls) if f.name in values}


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


Defaults = Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]] | None


def _with_defaults(flags: Sequence[Flag], argv: list[str], prog: str, key_value: bool, defaults: Defaults):
    """(flags with the config's defaults, those defaults): `defaults` may be computed from a first reading of argv
    (e.g. the defaults of the config file --config names)."""
    if callable(defaults):
        first = _resolve(flags, _pairs(flags, argv, prog, key_value), prog, None, check_required=False)
        defaults = defaults(first)
    values = _resolve(flags, [], prog, defaults, check_required=False)
    return [dataclasses.replace(f, default=values[f.name]) for f in flags], defaults


def run(main: Callable[..., Any], flags: Sequence[Flag], argv: Sequence[str] | None = None, *, prog: str,
        doc: str | None = None, key_value: bool = False, defaults: Defaults = None) -> Any:
    """Parse argv (`-h`/`--help`: print the help, exit 0) and call `main(**values)`, with core.errors.guard's
    handling: one-line errors and exit 2, Ctrl-C exit 130. `defaults` (a config file's values, or a function of a
    first reading of argv giving them) replace the fields' defaults, in the help too."""
    argv = list(sys.argv[1:] if argv is None else argv)

    def call() -> Any:
        if "-h" in argv or "--help" in argv:
            rest = [a for a in argv if a not in ("-h", "--help")]
            try:
                shown = _with_defaults(flags, rest, prog, key_value, defaults)[0]
            except UserError:
                shown = _with_defaults(flags, [], prog, key_value, defaults)[0]
            print(help_text(prog, doc, shown, key_value))
            return None
        config = _with_defaults(flags, argv, prog, key_value, defaults)[1] if callable(defaults) else defaults
        return main(**parse(flags, argv, prog, key_value, config))

    return guard(call)()


@dataclass(frozen=True)
class Command:
    """A subcommand: `prog NAME --flag value` calls main(**values); `flags` may be a function (imports stay lazy)."""
    name: str
    main: Callable[..., Any]
    flags: Sequence[Flag] | Callable[[], Sequence[Flag]]
    help: str
    doc: str | None = None


def run_commands(commands: Sequence[Command], argv: Sequence[str] | None = None, *, prog: str,
                 doc: str | None = None) -> Any:
    """`prog COMMAND [--flag value ...]`: the command's flags, help and errors as `run` gives them; `prog --help`
    lists the commands; an unknown command is a one-line error, exit 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    by_name = {c.name: c for c in commands}
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(commands_help(prog, doc, commands), file=sys.stdout if argv else sys.stderr)
        raise SystemExit(0 if argv else 2)
    command = by_name.get(argv[0])
    if command is None:
        close = difflib.get_close_matches(argv[0], list(by_name), n=1)
        hint = f"did you mean {close[0]}?" if close else f"expected one of {', '.join(by_name)}"
        print(f"error: {prog}: unknown command {argv[0]!r}; {hint}", file=sys.stderr)
        raise SystemExit(2)
    flags = command.flags() if callable(command.flags) else command.flags
    return run(command.main, flags, argv[1:], prog=f"{prog} {command.name}", doc=command.doc or command.main.__doc__)


def prog_name(default: str) -> str:
    """How the help names the command: `kgllm NAME` when core.cli dispatched to it, else `default`."""
    return sys.argv[0] if sys.argv and sys.argv[0].startswith("kgllm ") else default
