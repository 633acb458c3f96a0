"""One answer's constraint as plain data (AnswerSpec), and what each decoding mode makes of it on each backend.

    python -c "from core.decoding.spec import AnswerSpec; s = AnswerSpec('triples', {'type': 'array', 'items': {'type': 'array', 'prefixItems': [{'type': 'string', 'x-kgllm': 'relation', 'enum': ['发源地']}]}}, '长江发源于青藏高原。'); print(s.plan('schema'))"

An AnswerSpec is what a task says about one record's answer (core.tasks: `answer_format(rec)`,
`answer_schema(rec, labels)`, `text_of(rec)`): the answer's written form ("json", "triples" for the CCKS
`(h,r,t)(h,r,t)` text, or "label": one of the labels of a `{"type": "string", "enum": [...]}` schema), its JSON schema with core.decoding's `x-kgllm` marks (the record's allowed relations and entity
types as the marked properties' `enum`), and the input text that `copy` strings come from. It is JSON-able: it goes
into cache keys, across processes, and to core.serve (`{"kgllm": {"decoding", "answer"}}`).

`plan(mode)` is the one rule for what a mode does with a spec (local models and core.serve alike): None for "free";
"json": any JSON object (for the triples text: the `(h,r,t)` syntax, names and relations free); "schema": the schema
bound to the record (for the triples text: names copied from the input, relations from the schema's relation enum;
for a label: one of the enum's labels). A label answer is plain text: "json" asks it free.
`server_body(mode, kind)` is the same choice for an OpenAI-compatible server: `openai` (response_format), `vllm`
(structured_outputs) or `kgllm` (our server: the whole spec, so the answer is constrained exactly as a local one).
A label goes to vLLM as `choice`; OpenAI's response_format cannot ask for a bare string: asked free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.decoding.build import MARKER, check_schema, label_choices
from core.decoding.payloads import openai_response_format, vllm_extra_body

SERVER_KINDS = ("openai", "vllm", "kgllm")
NO_SCHEMA = "no answer schema for this prompt (decoding schema needs a task that has one); answered free"
LABEL_JSON = "a label answer is plain text, not JSON: decoding json asks it free"
NO_LABELS = "the label answer names no allowed label: answered free"
LABEL_OPENAI = "OpenAI's response_format cannot ask for a bare label; the label is asked free"


@dataclass(frozen=True)
class AnswerSpec:
    """What one answer must look like: its format, the task's answer schema for the record, the record's input."""

    format: str = "json"
    schema: dict | None = field(default=None, hash=False, compare=True)
    input_text: str | None = None

    def to_dict(self) -> dict:
        return {"format": self.format, "schema": self.schema, "input_text": self.input_text}

    @classmethod
    def from_dict(cls, data: Any, where: str = "answer") -> AnswerSpec:
        """ValueError (one line) unless `data` is {"format"?, "schema"?, "input_text"?} with a valid schema."""
        from core.decoding import ANSWER_FORMATS

        if isinstance(data, AnswerSpec):
            return data
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object with format, schema and input_text")
        unknown = set(data) - {"format", "schema", "input_text"}
        if unknown:
            raise ValueError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        fmt, schema, text = data.get("format") or "json", data.get("schema"), data.get("input_text")
        if fmt not in ANSWER_FORMATS:
            raise ValueError(f"{where}.format: expected one of {', '.join(ANSWER_FORMATS)}, got {fmt!r}")
        if schema is not None:
            check_schema(schema, f"{where}.schema")
            if fmt == "label" and not label_choices(schema.get("enum")):
                raise ValueError(f'{where}.schema: a label answer needs {{"enum": [label, ...]}} of strings')
        if text is not None and not isinstance(text, str):
            raise ValueError(f"{where}.input_text: expected a string")
        return cls(fmt, schema, text)

    def options(self, mark: str) -> list[str] | None:
        """The `enum` of the first property marked `mark` ("relation", "entity_type"); None when there is none."""
        def walk(node: Any) -> list[str] | None:
            if isinstance(node, dict):
                if node.get(MARKER) == mark and isinstance(node.get("enum"), list):
                    return [v for v in node["enum"] if isinstance(v, str)]
                values = node.values()
            elif isinstance(node, list):
                values = node
            else:
                return None
            return next((found for found in map(walk, values) if found is not None), None)

        return walk(self.schema)

    def choices(self) -> list[str]:
        """The labels a label answer may be (the schema's `enum`, see core.decoding.build.label_choices)."""
        return label_choices((self.schema or {}).get("enum"))

    def why_free(self, mode: str) -> str | None:
        """Why `plan(mode)` is None for a mode that is not "free" (a label answer without labels, or in "json")."""
        if mode == "free" or self.format != "label":
            return None
        return LABEL_JSON if mode == "json" else NO_LABELS if not self.choices() else None

    def min_items(self) -> int:
        """At least this many items in the answer's top-level list (the schema's `minItems`)."""
        value = (self.schema or {}).get("minItems", 0)
        return value if isinstance(value, int) and value > 0 else 0

    def plan(self, mode: str) -> Any:
        """The Constraint of this answer in `mode` (its `.mode` says what it enforces), None for "free" and when the
        answer is asked free (`why_free`)."""
        from core.decoding import Constraint, constraint_for, triples_tree

        if mode == "free" or self.why_free(mode):
            return None
        if self.format == "label":
            return constraint_for("schema", answer_format="label", choices=self.choices())
        if self.format == "triples":
            if mode == "json":  # the syntax only: any names, any relations
                return Constraint(triples_tree(None, None, min_items=self.min_items()), "json", "triples")
            return constraint_for("schema", answer_format="triples", input_text=self.input_text,
                                  relations=self.options("relation"), min_items=self.min_items())
        if mode == "json" or self.schema is None:
            return constraint_for("json")
        return constraint_for("schema", schema=self.schema, input_text=self.input_text)

    def server_body(self, mode: str, kind: str) -> tuple[dict, str, str | None]:
        """(request body fields, the mode they enforce, why not the mode asked for) for an OpenAI-compatible server
        of `kind`: "openai" (`response_format`), "vllm" (`structured_outputs`), "kgllm" (core.serve: this spec)."""
        if mode == "free":
            return {}, "free", None
        if why := self.why_free(mode):
            return {}, "free", why
        if kind == "kgllm":
            applied = self.plan(mode).mode
            return {"kgllm": {"decoding": mode, "answer": self.to_dict()}}, applied, None
        if self.format == "label":
            if kind == "vllm":
                return vllm_extra_body(mode, choice=self.choices()), mode, None
            return {}, "free", LABEL_OPENAI
        if self.format == "triples":
            if kind == "vllm":
                return vllm_extra_body(mode, lark=self.plan(mode).lark), mode, None
            return {}, "free", "OpenAI's response_format is JSON only; the (h,r,t) text format is asked free"
        if mode == "json" or self.schema is None:
            body = openai_response_format("json") if kind == "openai" else vllm_extra_body("json")
            return ({"response_format": body} if kind == "openai" else body), "json", None
        if kind == "vllm":
            return vllm_extra_body("schema", schema=self.schema), "schema", None
        return {"response_format": openai_response_format("schema", schema=self.schema)}, "schema", None


def spec_for(mode: str, spec: AnswerSpec | dict | None) -> tuple[AnswerSpec | None, str | None]:
    """(the spec a prompt is asked with, why it is asked free) for a prompt whose spec may be missing: "json" needs
    none (any JSON object), "schema" does."""
    if mode == "free":
        return None, None
    if spec is None:
        return (AnswerSpec(), None) if mode == "json" else (None, NO_SCHEMA)
    return AnswerSpec.from_dict(spec), None


def local_plan(mode: str, spec: AnswerSpec | dict | None) -> tuple[Any, str, str | None]:
    """(Constraint or None, the mode it enforces, why that is not `mode`) of one prompt on a local model (the hf
    backend, core.serve)."""
    if mode == "free":
        return None, "free", None
    bound, reason = spec_for(mode, spec)
    if bound is None:
        return None, "free", reason
    constraint = bound.plan(mode)
    if constraint is None:
        return None, "free", bound.why_free(mode)
    if constraint.mode != mode:
        reason = "the answer spec has no schema: any JSON object"
    return constraint, constraint.mode, reason
