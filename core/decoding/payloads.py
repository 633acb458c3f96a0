"""The same decoding choice for servers: OpenAI's `response_format` and vLLM's `structured_outputs` (vLLM >= 0.12).

    python -c "from core.decoding.payloads import *; from core.decoding import Bindings; from core.tasks.ner import ENTITIES_SCHEMA; print(openai_response_format('schema', schema=ENTITIES_SCHEMA, bindings=Bindings(entity_types=['PER'])))"

A server cannot copy from the record's input, so the JSON schema sent is the answer schema with the record's allowed
relations / entity types as `enum`s and copied strings as plain strings (`server_schema`). vLLM servers running
llguidance (`vllm serve ... --structured-outputs-config.backend guidance`) also take our Lark grammar, copy constraint
included (`vllm_extra_body(..., lark=constraint.lark)`); a server with another backend refuses it, and the caller
falls back to the JSON schema or to free decoding. The old `guided_json` / `guided_grammar` fields were removed in
vLLM 0.12: `{"structured_outputs": {"json": schema}}` and `{"structured_outputs": {"grammar": text}}` replace them.
A label answer goes to vLLM as `{"structured_outputs": {"choice": [label, ...]}}`; OpenAI's response_format cannot
ask for a bare string, so a label is asked free there.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from core.decoding.build import MARKER, Bindings, check_schema

_NAME = re.compile(r"[^A-Za-z0-9_-]")
_OPENAI_STRICT_KEYS = {"type", "properties", "required", "items", "enum", "const", "additionalProperties",
                       "description", "title", "anyOf", "$defs", "$ref", "minItems", "maxItems"}


def server_schema(schema: dict, bindings: Bindings | None = None) -> dict:
    """`schema` without our markers: relation / entity-type strings get the record's options as `enum` (when it has
    some), copied strings stay strings."""
    check_schema(schema)
    b = bindings or Bindings()

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items() if k != MARKER}
        mark = node.get(MARKER)
        if mark in ("relation", "entity_type") and b.options(mark):
            out["enum"] = b.options(mark)
        return out

    return walk(copy.deepcopy(schema))


def strict_ok(schema: Any) -> bool:
    """True when OpenAI's strict structured outputs take `schema` as it is: every object lists all its properties in
    `required` and sets `additionalProperties: false`, and only supported keywords are used (no tuples)."""
    if isinstance(schema, list):
        return all(strict_ok(v) for v in schema)
    if not isinstance(schema, dict):
        return True
    if set(schema) - _OPENAI_STRICT_KEYS:
        return False
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is not False or set(schema.get("required", [])) != set(props):
            return False
    children = [v for k, v in schema.items() if k in ("properties", "$defs")]
    return all(strict_ok(list(c.values())) for c in children) and all(
        strict_ok(schema[k]) for k in ("items", "anyOf") if k in schema)


def openai_response_format(mode: str, *, schema: dict | None = None, bindings: Bindings | None = None,
                           name: str = "answer", root_key: str = "output") -> dict | None:
    """OpenAI chat `response_format`: None for "free", `json_object` for "json", `json_schema` for "schema"
    (strict when the schema allows it, see `strict_ok`). OpenAI wants an object at the root: another root is sent as
    the one property `root_key` of an object (the task parsers unwrap `{"output": ...}`)."""
    if mode == "free":
        return None
    if mode == "json":
        return {"type": "json_object"}
    if mode != "schema" or schema is None:
        raise ValueError(f"decoding {mode!r}: response_format needs mode 'schema' with the answer schema")
    body = server_schema(schema, bindings)
    if body.get("type") != "object":
        body = {"type": "object", "properties": {root_key: body}, "required": [root_key], "additionalProperties": False}
    clean = _NAME.sub("_", name)[:64] or "answer"
    return {"type": "json_schema", "json_schema": {"name": clean, "schema": body, "strict": strict_ok(body)}}


def vllm_extra_body(mode: str, *, schema: dict | None = None, bindings: Bindings | None = None,
                    lark: str | None = None, choice: list[str] | None = None) -> dict | None:
    """vLLM's `extra_body` for the OpenAI client: `structured_outputs` with `choice` (the answer is exactly one of
    these strings: a label answer) when `choice` is given, `grammar` (our Lark text, for a server whose
    structured-outputs backend is llguidance) when `lark` is given, else `json` (the server schema; any object for
    "json"). None for "free"."""
    if mode == "free":
        return None
    if choice is not None:
        return {"structured_outputs": {"choice": list(choice)}}
    if lark is not None:
        return {"structured_outputs": {"grammar": lark}}
    if mode == "json":
        return {"structured_outputs": {"json": {"type": "object"}}}
    if mode != "schema" or schema is None:
        raise ValueError(f"decoding {mode!r}: vLLM structured outputs need mode 'schema' with the answer schema")
    return {"structured_outputs": {"json": server_schema(schema, bindings)}}
