"""Constrained decoding on an OpenAI-compatible server: which request fields ask for it, and when a server refused.

    python -c "from core.llm.structured import server_kind; print(server_kind('auto', {'owned_by': 'vllm'}))"

`server_kind(setting, card)`: `--structured` (openai | vllm | kgllm), or for `auto` what the server's /v1/models entry
says: core.serve lists the decoding modes its `kgllm` field takes (`"decoding": [...]`), vLLM says `owned_by: vllm`,
anything else gets OpenAI's `response_format`. `plan(...)` turns one prompt's AnswerSpec into request body fields
(core.decoding.spec: `AnswerSpec.server_body`). `refusal(...)` tells a refusal of those fields (HTTP 400/415/422/501
whose message names response_format, json_schema, structured outputs, a grammar or a schema) from other errors.
"""

from __future__ import annotations

import re
from typing import Any

_REFUSAL_STATUS = (400, 415, 422, 501)
_REFUSAL = re.compile(r"response_format|json_schema|json_object|structured|guided|grammar|schema|kgllm", re.I)


def server_kind(setting: str, card: dict) -> str:
    if setting != "auto":
        return setting
    if isinstance(card.get("decoding"), list) and "schema" in card["decoding"]:
        return "kgllm"
    return "vllm" if card.get("owned_by") == "vllm" else "openai"


def plan(mode: str, kind: str, spec: Any, refused: dict[str, str]) -> tuple[dict, str | None, str | None]:
    """(request body fields, the decoding recorded on the answer, why it is not `mode`) of one prompt; a kind of
    body the server refused before (`refused`: body kind -> reason) is not sent again."""
    if mode == "free":
        return {}, None, None
    from core.decoding.spec import spec_for

    bound, reason = spec_for(mode, spec)
    if bound is None:
        return {}, "free", reason
    body, applied, reason = bound.server_body(mode, kind)
    earlier = refused.get(body_kind(body))
    return ({}, "free", earlier) if earlier else (body, applied, reason)


def body_kind(body: dict) -> str:
    """What kind of structured-output request a body is: "response_format json_schema", "structured_outputs
    grammar", "kgllm" ("" for none)."""
    for name, value in body.items():
        if isinstance(value, dict):
            sub = value.get("type") if name == "response_format" else next(iter(value), "")
            return f"{name} {sub}" if name != "kgllm" and sub else name
    return ""


def refusal(body: dict, status: int, message: str) -> bool:
    """True when an HTTP error answers the structured-output fields of `body` (and asking free may work)."""
    return bool(body) and status in _REFUSAL_STATUS and bool(_REFUSAL.search(message))
