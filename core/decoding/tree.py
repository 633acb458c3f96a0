"""The answer shape a constraint enforces, as a small tree, and its llguidance Lark grammar.

    python -c "from core.decoding.tree import *; print(to_lark(Rep(Seq((Lit('('), Text('copy', False, source='长江'), Lit(')'))))))"

One tree serves two readers: `to_lark` turns it into the grammar llguidance enforces token by token, and
`core.decoding.track` follows the generated text through it to know the shortest text that closes the answer (the
budget guard). Nodes:

- `Lit(text)`: fixed text (`{"head":`, `(`, `,`);
- `Text(kind, quoted, source, exclude)`: a string; kind "copy" = a non-empty substring of `source` (the record's
  input, llguidance's `substring_chars`) without whitespace at either end, kind "name" = any such name (a relation or
  entity type the record gives no list for), kind "free" = any JSON string (quoted) or any such name (unquoted).
  Quoted = a JSON string; unquoted = a bare name (CCKS); neither may contain the characters in `exclude` (they end a
  bare name);
- `Choice(options)`: one of a few literal texts (JSON-encoded enum values, relation names);
- `Seq(parts)`: the parts in order (a JSON object is a Seq of literals and values);
- `Rep(item, open, sep, close, min_items, max_items)`: a list (`[a,b]` for JSON, `(..)(..)` for CCKS);
- `AnyJson(schema)`: any JSON value the schema allows, enforced by llguidance's own JSON-schema compiler.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

# characters a copied JSON string may not contain (they would need escapes that the input does not have)
JSON_UNSAFE = '"\\' + "".join(chr(c) for c in range(0x20)) + "\x7f"
FREE_JSON_STRING = r'/"(\\([\"\\\/bfnrt]|u[a-fA-F0-9]{4})|[^\"\\\x00-\x1F\x7F])*"/'


@dataclass(frozen=True)
class Lit:
    text: str


@dataclass(frozen=True)
class Text:
    kind: str  # "copy" | "name" | "free"
    quoted: bool
    source: str = ""  # kind "copy": the text to copy from
    exclude: str = ""  # characters the string may not contain (unquoted: they end it)

    @property
    def named(self) -> bool:
        """A name: non-empty, no whitespace at either end (every kind but a quoted free string, which is any)."""
        return self.kind != "free" or not self.quoted

    def chars(self) -> list[str]:
        """Characters a copied string may use, in source order, without repeats."""
        seen: dict[str, None] = {}
        for ch in self.source:
            if ch not in self.exclude:
                seen.setdefault(ch, None)
        return list(seen)


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]


@dataclass(frozen=True)
class Seq:
    parts: tuple


@dataclass(frozen=True)
class Rep:
    item: object
    open: str = ""
    sep: str = ""
    close: str = ""
    min_items: int = 0
    max_items: int | None = None


@dataclass(frozen=True)
class AnyJson:
    schema: dict = field(default_factory=lambda: {"type": "object"}, hash=False, compare=False)
    key: str = ""  # json.dumps of the schema (what equality and hashing use)

    @staticmethod
    def of(schema: dict) -> AnyJson:
        return AnyJson(schema, json.dumps(schema, sort_keys=True))


def seq(*parts: object) -> object:
    """A Seq with neighbouring literals merged (one node when only one part is left)."""
    out: list = []
    for part in parts:
        if isinstance(part, Seq):
            for inner in part.parts:
                _append(out, inner)
        else:
            _append(out, part)
    return out[0] if len(out) == 1 else Seq(tuple(out))


def _append(out: list, part: object) -> None:
    if isinstance(part, Lit) and out and isinstance(out[-1], Lit):
        out[-1] = Lit(out[-1].text + part.text)
    elif not (isinstance(part, Lit) and not part.text):
        out.append(part)


@lru_cache(maxsize=4096)
def minimal(node: object) -> str | None:
    """The shortest text `node` accepts (None when unknown: a schema llguidance enforces that we cannot close)."""
    if isinstance(node, Lit):
        return node.text
    if isinstance(node, Text):
        body = min_char(node) if node.named else ""
        if body is None:
            return None
        return f'"{body}"' if node.quoted else body
    if isinstance(node, Choice):
        return min(node.options, key=lambda o: (len(o.encode()), o)) if node.options else None
    if isinstance(node, Seq):
        texts = [minimal(p) for p in node.parts]
        return None if any(t is None for t in texts) else "".join(texts)  # type: ignore[arg-type]
    if isinstance(node, Rep):
        item = minimal(node.item) if node.min_items else ""
        if item is None:
            return None
        return node.open + node.sep.join([item] * node.min_items) + node.close
    if isinstance(node, AnyJson):
        return minimal_json(node.schema)
    raise TypeError(f"not a constraint node: {node!r}")


@lru_cache(maxsize=1024)
def tails(node: Seq) -> tuple[str | None, ...]:
    """For each i, the shortest text of node.parts[i:] (None when unknown)."""
    out: list[str | None] = [""]
    for part in reversed(node.parts):
        text = minimal(part)
        out.append(None if text is None or out[-1] is None else text + out[-1])
    return tuple(reversed(out))


@lru_cache(maxsize=1024)
def most_rest(node: object) -> int | None:
    """An upper bound on the bytes of `rest()` anywhere inside `node` (to its end); None when there is none."""
    if isinstance(node, Lit):
        return len(node.text.encode())
    if isinstance(node, Text):
        run = 0
        if node.kind == "copy":  # a name that ends in whitespace goes on to the next character
            run = max((len(m.encode()) for m in _spaces(node.source)), default=0)
        return (2 if node.quoted else 0) + 5 + run
    if isinstance(node, Choice):
        return max((len(o.encode()) for o in node.options), default=0) + 4
    if isinstance(node, Seq):
        after = tails(node)
        inner = [most_rest(p) for p in node.parts]
        if any(x is None for x in inner) or any(t is None for t in after):
            return None
        return max(x + len(after[i + 1].encode()) for i, x in enumerate(inner)) + 4  # type: ignore[operator,union-attr]
    if isinstance(node, Rep):
        item, text = most_rest(node.item), minimal(node.item)
        if item is None or text is None:
            return None
        return len((node.open + node.close).encode()) + item + (len(node.sep) + len(text.encode())) * node.min_items
    return None


def _spaces(source: str) -> list[str]:
    return re.findall(r"\s+", source)


@lru_cache(maxsize=4096)
def min_char(node: Text) -> str | None:
    """The shortest character a non-empty `node` may start with (fewest UTF-8 bytes, first in the source)."""
    chars = node.chars() if node.kind == "copy" else [c for c in "x" if c not in node.exclude]
    chars = [c for c in chars if not c.isspace()]
    return min(chars, key=lambda c: len(c.encode())) if chars else None


def minimal_json(schema: dict) -> str | None:
    """Shortest JSON text for simple schemas (a type without requirements, an enum, a const); None otherwise."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False, separators=(",", ":"))
    if "enum" in schema and schema["enum"]:
        return min((json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in schema["enum"]), key=len)
    kind = schema.get("type")
    if schema.get("required") or schema.get("minItems") or schema.get("minLength") or schema.get("minimum"):
        return None
    simple = {"object": "{}", "array": "[]", "string": '""', "integer": "0", "number": "0", "boolean": "false",
              "null": "null"}
    return simple.get(kind) if isinstance(kind, str) else None


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _name_regex(exclude: str) -> str:
    """Non-empty, none of `exclude`, no whitespace at either end (the parsers would strip it)."""
    chars = "".join(f"\\x{{{ord(c):x}}}" for c in sorted(set(exclude)))
    return f"/[^{chars}\\s]([^{chars}]*[^{chars}\\s])?/"


class _Lark:
    """Emits one rule or terminal per node (shared nodes once)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[object, str] = {}

    def ref(self, node: object) -> str:
        if isinstance(node, Lit):
            return _literal(node.text)
        if node in self.names:
            return self.names[node]
        index = len(self.names)
        if isinstance(node, Text) and node.kind == "copy":
            name = f"COPY{index}"
            self.names[node] = name
            body = f"%regex {{ \"substring_chars\": {_literal(node.source)} }} & {_name_regex(node.exclude)}"
            self.lines.append(f"{name}: {body}")
            self.names[node] = f'"\\"" {name} "\\""' if node.quoted else name
            return self.names[node]
        if isinstance(node, Text):
            name = f"FREE{index}"
            self.names[node] = name
            self.lines.append(f"{name}: {_name_regex(node.exclude) if node.named else FREE_JSON_STRING}")
            self.names[node] = f'"\\"" {name} "\\""' if node.quoted and node.named else name
            return self.names[node]
        if isinstance(node, Choice):
            name = f"CHOICE{index}"
            self.names[node] = name
            self.lines.append(f"{name}: " + " | ".join(_literal(o) for o in node.options))
            return name
        name = f"r{index}"
        self.names[node] = name
        if isinstance(node, Seq):
            body = " ".join(self.ref(p) for p in node.parts)
        elif isinstance(node, Rep):
            body = self._rep(node)
        elif isinstance(node, AnyJson):
            schema = {**node.schema, "x-guidance": {"whitespace_flexible": False}}
            body = "%json " + json.dumps(schema, ensure_ascii=False)
        else:
            raise TypeError(f"not a constraint node: {node!r}")
        self.lines.append(f"{name}: {body}")
        return name

    def _rep(self, node: Rep) -> str:
        item = self.ref(node.item)
        more = f"({_literal(node.sep)} {item})" if node.sep else item
        low = max(node.min_items - 1, 0)
        high = "" if node.max_items is None else str(node.max_items - 1)
        if node.max_items == 0:
            inner = ""
        else:
            inner = f"{item} {more}{{{low},{high}}}"
            if node.min_items == 0:
                inner = f"({inner})?"
        parts = [p for p in (_literal(node.open) if node.open else "", inner,
                             _literal(node.close) if node.close else "") if p]
        return " ".join(parts) or '""'


def to_lark(root: object) -> str:
    """The llguidance Lark grammar of a tree (`start` is its root)."""
    lark = _Lark()
    top = lark.ref(root)
    return "\n".join([f"start: {top}", *lark.lines]) + "\n"
