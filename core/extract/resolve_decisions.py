"""A decisions file: a person's overrides of entity resolution, applied on every rerun without asking any model.

    python -c "from core.extract.resolve_decisions import parse_decisions; print(parse_decisions('merge IBM \\"Big Blue\\"'))"

One decision per line; `#` starts a comment; blank lines are skipped:

    merge "International Business Machines" IBM "Big Blue"     one node, whatever the rules say (types too)
    keep apart "Ada Lovelace" "Ada Lovelace Jr."              never one node (every pair of the names listed)
    rename 北大 -> 北京大学                                      the node holding 北大 is named 北京大学

A name is a bare word (no spaces, no `"` or `@`) or a JSON string in double quotes (`"Dr. Ada \\"A\\" Lovelace"`).
`NAME@TYPE` (or `"NAME"@TYPE`, `"NAME"@"TYPE"`) picks the mentions of that type only: `keep apart Apple@ORG
Apple@FRUIT`. Names are compared after normalisation (width, whitespace) and case folding; types by class
(`PER` = `person`). A decision naming nothing in the input is reported, not an error (the next run may extract it).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from core.io import DataError

_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"@]+))(?:@(?:"((?:[^"\\]|\\.)*)"|([^\s"@]+)))?')


@dataclass(frozen=True)
class Ref:
    """A name in a decision, optionally narrowed to one type."""

    name: str
    type: str | None = None

    def __str__(self) -> str:
        return json.dumps(self.name, ensure_ascii=False) + (f"@{self.type}" if self.type else "")


@dataclass
class Decisions:
    """Parsed decisions; each entry keeps its line number (`where`: "file:line") for the merge log."""

    merges: list[tuple[str, list[Ref]]] = field(default_factory=list)
    apart: list[tuple[str, list[Ref]]] = field(default_factory=list)
    renames: list[tuple[str, Ref, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.merges) + len(self.apart) + len(self.renames)


def _names(text: str, path: str, line: int) -> list[Ref]:
    refs, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise DataError(path, line, f"cannot read a name at {text[pos:].strip()[:30]!r} (quote names with spaces)")
        try:
            name = json.loads(f'"{m.group(1)}"') if m.group(1) is not None else m.group(2)
            typ = json.loads(f'"{m.group(3)}"') if m.group(3) is not None else m.group(4)
        except json.JSONDecodeError as exc:
            raise DataError(path, line, f"bad quoted name ({exc.msg})") from None
        if not name.strip():
            raise DataError(path, line, "empty name")
        refs.append(Ref(name, typ or None))
        pos = m.end()
    return refs


def parse_decisions(text: str, path: str | os.PathLike = "<decisions>") -> Decisions:
    """Decisions from the text of a decisions file; DataError naming file and line on anything unreadable."""
    path = str(path)
    out = Decisions()
    for line, raw in enumerate(text.splitlines(), start=1):
        body = raw.strip()
        if not body or body.startswith("#"):
            continue
        where = f"{os.path.basename(path)}:{line}"
        verb, _, rest = body.partition(" ")
        if verb == "merge":
            refs = _names(rest, path, line)
            if len(refs) < 2:
                raise DataError(path, line, "merge needs two or more names")
            out.merges.append((where, refs))
        elif verb == "keep" and rest.startswith("apart"):
            refs = _names(rest[len("apart"):], path, line)
            if len(refs) < 2:
                raise DataError(path, line, "keep apart needs two or more names")
            out.apart.append((where, refs))
        elif verb == "rename":
            old, arrow, new = rest.partition("->")
            if not arrow:
                raise DataError(path, line, "rename needs `rename NAME -> NEW NAME`")
            refs, news = _names(old, path, line), _names(new, path, line)
            if len(refs) != 1 or len(news) != 1 or news[0].type:
                raise DataError(path, line, "rename takes one name on each side of ->")
            out.renames.append((where, refs[0], news[0].name))
        else:
            raise DataError(path, line, f"unknown decision {verb!r}: expected merge, keep apart or rename")
    _check_contradictions(out, path)
    return out


def _check_contradictions(dec: Decisions, path: str) -> None:
    for where, refs in dec.apart:
        for mwhere, mrefs in dec.merges:
            names = {(r.name.casefold(), r.type) for r in mrefs}
            together = [r for r in refs if (r.name.casefold(), r.type) in names]
            if len(together) >= 2:
                line = int(where.rsplit(":", 1)[1])
                raise DataError(path, line, f"keep apart {together[0]} {together[1]} contradicts merge at {mwhere}")


def read_decisions(path: str | os.PathLike) -> Decisions:
    """Read and parse a decisions file (UTF-8); DataError when missing or malformed."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, None, f"cannot read: {exc}") from None
    return parse_decisions(text, path)
