"""Constraint trees for one record: from a task's answer schema (JSON) or for the CCKS `(h,r,t)(h,r,t)` text format.

    python -c "from core.decoding.build import *; from core.decoding.tree import to_lark; from core.tasks.rte import TRIPLES_SCHEMA; print(to_lark(schema_tree(TRIPLES_SCHEMA, Bindings('长江发源于青藏高原', ['发源地']))))"

JSON answers: `schema_tree(schema, bindings)` compiles a JSON schema into compact JSON, properties in the schema's
order (every listed property is written, optional ones too), arrays of any length within minItems/maxItems, tuples
(`prefixItems` with `"items": false`). What a
JSON schema cannot say per record is marked in the schema with `"x-kgllm"` on a string property:

- `"x-kgllm": "copy"`: a non-empty substring of the record's input (`Bindings.input_text`), without `"`, `\\` or
  control characters (they would need escapes the input does not have);
- `"x-kgllm": "relation"` / `"entity_type"`: one of the record's allowed relations / entity types;

a relation / entity-type marker the record gives no list for falls back to the property's own `enum`, else allows any
name (non-empty, no whitespace at either end, no escapes); a copy marker whose input has nothing to copy falls back to
the property's own schema.
The answer schemas themselves belong to the tasks (`Task.answer_schema`, e.g. core.tasks.rte.TRIPLES_SCHEMA).
Parts the compiler does not handle itself (numbers, `anyOf`, patterns, ...) are left to llguidance's JSON-schema
compiler; local `$ref`s are inlined (a recursive schema is handed to llguidance whole).

Label answers (answer_format "label", e.g. core.tasks.tacred): `label_tree(choices)`: exactly one of the allowed label
strings, after at most one space and before at most one `.` (a prompt that stops at `... is` is answered ` label.`),
then the end.

CCKS answers: `triples_tree(input_text, relations)`: `(head,relation,tail)` repeated, no separator; heads and tails
copied from the input and free of `,()，（）` (the characters core.parsing reads as structure), relations from the list.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from core.decoding.tree import JSON_UNSAFE, AnyJson, Choice, Lit, Rep, Text, seq

MARKER = "x-kgllm"
MARKS = ("copy", "relation", "entity_type")
NAME_STOPS = ",()，（）"  # ASCII and full-width brackets and commas: structure for core.parsing.parse_triples
HANDLED = {"type", "properties", "required", "items", "prefixItems", "minItems", "maxItems", "enum", "const",
           "additionalProperties", "title", "description", "default", "examples", "$schema", MARKER}


@dataclass(frozen=True)
class Bindings:
    """What one record allows: its input text (heads/tails are copied from it), relations and entity types."""

    input_text: str | None = None
    relations: tuple[str, ...] | list[str] | None = None
    entity_types: tuple[str, ...] | list[str] | None = None

    def options(self, mark: str) -> list[str]:
        values = self.relations if mark == "relation" else self.entity_types if mark == "entity_type" else None
        out: list[str] = []
        for v in values or ():
            if isinstance(v, str) and v.strip() and v not in out:
                out.append(v)
        return out


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def check_schema(schema: Any, where: str = "answer schema") -> dict:
    """ValueError (one line) unless `schema` is a JSON object whose markers are known."""
    if not isinstance(schema, dict):
        raise ValueError(f"{where}: a JSON schema must be an object, got {type(schema).__name__}")

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            mark = node.get(MARKER)
            if mark is not None and mark not in MARKS:
                raise ValueError(f"{where}: {path}: unknown {MARKER} {mark!r} (choose from {', '.join(MARKS)})")
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    walk(schema, "#")
    return schema


def inline_refs(schema: dict) -> dict | None:
    """`schema` with local `#/$defs/...` (or `#/definitions/...`) references replaced; None if they recurse."""
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(v, seen) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name in seen or name not in defs or not ref.startswith(("#/$defs/", "#/definitions/")):
                raise RecursionError(ref)
            target = resolve(defs[name], (*seen, name))
            return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return {k: resolve(v, seen) for k, v in node.items() if k not in ("$defs", "definitions")}

    try:
        return resolve(copy.deepcopy(schema), ())
    except RecursionError:
        return None


def schema_tree(schema: dict, bindings: Bindings | None = None) -> object:
    """The constraint tree of a JSON answer schema for one record (see the module docstring)."""
    check_schema(schema)
    flat = inline_refs(schema)
    if flat is None:
        return AnyJson.of(schema)
    return _node(flat, bindings or Bindings())


def _node(schema: Any, b: Bindings) -> object:
    if not isinstance(schema, dict) or not schema:
        return AnyJson.of(schema if isinstance(schema, dict) else {})
    mark = schema.get(MARKER)
    if mark == "copy" and _copyable(b.input_text, JSON_UNSAFE):
        return Text("copy", True, source=b.input_text, exclude=JSON_UNSAFE)
    if mark in ("relation", "entity_type") and b.options(mark):
        return Choice(tuple(_dumps(o) for o in b.options(mark)))
    bare = schema.get("type", "string") == "string" and set(schema) <= {"type", MARKER, "description"}
    if mark in ("relation", "entity_type") and bare:
        return Text("name", True, exclude=JSON_UNSAFE)  # no list given: any name, never ""
    plain = {k: v for k, v in schema.items() if k != MARKER}
    if set(plain) - HANDLED:
        return AnyJson.of(plain)
    if "const" in plain:
        return Lit(_dumps(plain["const"]))
    if "enum" in plain:
        values = plain["enum"]
        if values and all(isinstance(v, str) for v in values):
            return Choice(tuple(dict.fromkeys(_dumps(v) for v in values)))
        return AnyJson.of(plain)
    kind = plain.get("type")
    if kind == "object" and isinstance(plain.get("properties"), dict) and plain["properties"]:
        extra = plain.get("additionalProperties", True)
        if isinstance(extra, dict) and extra:
            return AnyJson.of(plain)
        parts: list = [Lit("{")]
        for i, (key, sub) in enumerate(plain["properties"].items()):
            parts += [Lit(("," if i else "") + _dumps(key) + ":"), _node(sub, b)]
        return seq(*parts, Lit("}"))
    tuple_items = plain.get("prefixItems")
    if kind == "array" and isinstance(tuple_items, list) and tuple_items and plain.get("items") is False:
        if plain.get("minItems", len(tuple_items)) != len(tuple_items):
            return AnyJson.of(plain)
        parts = [Lit("[")]
        for i, sub in enumerate(tuple_items):
            parts += [Lit("," if i else ""), _node(sub, b)]
        return seq(*parts, Lit("]"))
    if kind == "array" and isinstance(plain.get("items"), dict) and "prefixItems" not in plain:
        low, high = plain.get("minItems", 0), plain.get("maxItems")
        if not isinstance(low, int) or (high is not None and not isinstance(high, int)):
            return AnyJson.of(plain)
        return Rep(_node(plain["items"], b), "[", ",", "]", low, high)
    if kind == "string":
        return Text("free", True)
    return AnyJson.of(plain)


def _copyable(text: str | None, exclude: str) -> bool:
    """The input has a character a name can start with (else names are free: there is nothing to copy)."""
    return bool(text) and any(not ch.isspace() and ch not in exclude for ch in text)  # type: ignore[union-attr]


def triples_tree(input_text: str | None, relations: list[str] | tuple[str, ...] | None = None, *,
                 min_items: int = 0, max_items: int | None = None) -> object:
    """The CCKS answer `(h,r,t)(h,r,t)` for one record: names copied from `input_text` (any name when it is None or
    has nothing to copy), relations from `relations` (any relation when none is given; relations holding one of
    `,()，（）` cannot be written unambiguously and are left out)."""
    name = Text("copy", False, source=input_text, exclude=NAME_STOPS) if _copyable(input_text, NAME_STOPS) else Text(
        "free", False, exclude=NAME_STOPS)
    options = Bindings(relations=relations).options("relation")
    usable = tuple(r for r in options if not any(c in r for c in NAME_STOPS))
    relation = Choice(usable) if usable else Text("free", False, exclude=NAME_STOPS)
    item = seq(Lit("("), name, Lit(","), relation, Lit(","), name, Lit(")"))
    return Rep(item, min_items=min_items, max_items=max_items)


LABEL_AFFIXES = (("", ""), (" ", ""), ("", "."), (" ", "."))  # (before, after) a label: what the prompts' answers add


def label_choices(choices: Any) -> list[str]:
    """The usable labels of a label answer, in order, without repeats: non-empty strings on one line (the parsers
    read the first line)."""
    values = choices if isinstance(choices, (list, tuple)) else ()
    return [c for c in dict.fromkeys(v for v in values if isinstance(v, str))
            if c.strip() and "\n" not in c and "\r" not in c]


def label_tree(choices: list[str] | tuple[str, ...] | None) -> object:
    """A label answer: one of `choices` (see `label_choices`), optionally after one space and before one `.`."""
    usable = label_choices(choices)
    if not usable:
        raise ValueError("a label answer needs at least one allowed label (a non-empty string on one line)")
    return Choice(tuple(before + label + after for before, after in LABEL_AFFIXES for label in usable))
