"""The help pages of core.flags: what `-h` / `--help` print for an entry point, and for a command with subcommands.

    python -c "from core.flags import Flag; from core.flags_help import help_text; print(help_text('p', '', [Flag('k')]))"

Everything shown comes from the flags themselves (names, aliases, type or choices, help text, the real default), so the
help cannot drift from what the parser accepts. A secret's default shows as `***`; a default computed at run time
shows as the flag's `shown` text.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.flags import Command, Flag


def shown_default(flag: Flag) -> str:
    """How the help shows a flag's default."""
    if flag.required:
        return "required"
    if flag.default is None or flag.default in ([], ""):
        return flag.shown or "not set"
    if flag.secret:
        return "***"
    if isinstance(flag.default, list):
        return "[" + ",".join(map(str, flag.default)) + "]"
    return str(flag.default)


def help_text(prog: str, doc: str | None, flags: Sequence[Flag], key_value: bool = False) -> str:
    """The help page: the docstring (its commands run as written), then every flag with type, default and help."""
    words = [f.name.upper() + ("..." if f.type is list else "") for f in flags if f.positional]
    usage = f"usage: {prog} {' '.join([*words, '[--flag value ...]'])}" + ("  (or flag=value)" if key_value else "")
    lines = [(doc or "").strip(), "", usage, "", "flags:"]
    for flag in flags:
        names = ", ".join([flag.name.upper()] if flag.positional else flag.spellings())
        kind = "" if flag.type is bool else flag.type.__name__.upper()
        choices = "{" + ",".join(map(str, flag.choices)) + "}" if flag.choices else ""
        lines.append(f"  {names} {choices or kind}".rstrip())
        text = textwrap.wrap(flag.help, 118, initial_indent=" " * 6, subsequent_indent=" " * 6,
                             break_on_hyphens=False) or [" " * 5]
        default = f" (default: {shown_default(flag)})"  # never broken, so a grep finds it whole
        text[-1:] = [text[-1] + default] if len(text[-1] + default) <= 118 else [text[-1], " " * 5 + default]
        lines.extend(text)
    return "\n".join(lines).strip("\n")


def commands_help(prog: str, doc: str | None, commands: Sequence[Command]) -> str:
    """`prog --help` of a command with subcommands: the docstring, the usage line and one line per command."""
    width = max(len(c.name) for c in commands)
    overview = "\n".join([(doc or "").strip(), "", f"usage: {prog} COMMAND [--flag value ...]   ({prog} COMMAND "
                          "--help: its flags)", "", "commands:", *(f"  {c.name:<{width}}  {c.help}" for c in commands)])
    return overview.strip("\n")
