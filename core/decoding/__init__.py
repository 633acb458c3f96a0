"""Constrained decoding: answers that always parse, for local models (a logits processor) and for servers (payloads).

    python -c "from core.decoding import constraint_for; print(constraint_for('schema', answer_format='triples', input_text='长江发源于青藏高原。', relations=['发源地']).lark)"

Modes (`DECODING_MODES`): "free" (no constraint), "json" (any JSON object), "schema" (the task's answer schema, plus
what a JSON schema cannot say per record: relations from the record's allowed list, heads/tails/entity texts copied
from its input, entity types from the allowed set; see core.decoding.build). The CCKS `(h,r,t)(h,r,t)` text format has
a schema mode with the same three rules (answer_format="triples"); a label answer (answer_format="label", e.g.
core.tasks.tacred) is exactly one of the allowed labels (`choices`), after at most one space, before at most one `.`.

Local models: `ConstrainedLogits(tokenizer, [constraint per row], max_new_tokens=N)` goes into
`model.generate(..., logits_processor=LogitsProcessorList([it]))`; each row of a left-padded batch keeps its own
constraint, and the budget guard closes every answer within N tokens (core.decoding.processor). Servers:
core.decoding.payloads turns the same choice into OpenAI's `response_format` and vLLM's `structured_outputs`.
A record's constraint as data is an `AnswerSpec` (core.decoding.spec: the task's answer format and schema, from
`Task.answer_format` / `Task.answer_schema`, and the record's input); `AnswerSpec.plan(mode)` is the one rule of what
a mode enforces, used by core.generate (via core.llm's hf backend) and core.serve alike (docs/llm.md).

Cost (benchmarks/bench_decoding.py, batch 16, 64 new tokens, CPU time on this shared 2-core machine): per row and
step ~0.15-0.25 ms in llguidance plus ~0.1-0.2 ms of our bookkeeping (replay, budget guard). On the toy model a step
costs only ~0.3 ms per row, so constrained steps run at ~0.4-0.55x the free speed; on SmolLM2-135M (~35 ms per row
and step on CPU) at 0.97x (CCKS triples), 0.93x (JSON triples schema), 0.90x (any JSON object).

Why llguidance (compared on this machine, Python 3.11, torch 2.13 CPU, transformers 5.24; toy LLaMA tokenizer of 3k
tokens and SmolLM2's of 49k; one thread):

- llguidance 1.9.1: one 3 MB abi3 wheel, no dependencies (torch untouched). A substring-of-the-input terminal is
  built in (`%regex {"substring_chars": ...}`, a suffix automaton), so the copy constraint of a 300-character input
  costs 2-4 ms per row to build and nothing ahead of time; Lark grammars with `&` (here: substring AND no separator)
  and inline `%json` schemas; JSON schema with whitespace control. Mask + consume: 0.05 ms/token (3k vocab), 0.07
  (49k) for the JSON triples schema; 0.04-0.1 ms for the CCKS grammar. It is the engine behind vLLM's `guidance`
  backend, llama.cpp and OpenAI's structured outputs, so the same Lark text can go to a vLLM server.
- xgrammar 0.2.9: wheel pulls triton (286 MB) and apache-tvm-ffi; fast (0.02-0.09 ms/token, JSON compile 4-19 ms)
  but grammars are compiled ahead of time per grammar: a per-record copy constraint (here as an alternation of the
  input's substrings) costs 130-160 ms per row to compile; no substring or intersection operator.
- outlines-core 0.2.14: 2.3 MB wheel, regex/JSON only (no CFG); the index is built over the whole vocabulary per
  regex: 1.2 s for the JSON schema and 6.4 s for a 12-character substring regex with the 49k vocabulary: per-record
  constraints are out of reach.
- lm-format-enforcer 0.11.3: pure Python; its transformers integration fails to import with transformers 5
  (`transformers.tokenization_utils` is gone); 0.5-0.9 ms/token; no substring constraint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from core.decoding.build import Bindings, label_tree, schema_tree, triples_tree
from core.decoding.tree import AnyJson, Rep, to_lark

DECODING_MODES = ("free", "json", "schema")
ANSWER_FORMATS = ("json", "triples", "label")

__all__ = ["ANSWER_FORMATS", "DECODING_MODES", "AnswerSpec", "Bindings", "ConstrainedLogits", "Constraint",
           "RowReport", "constraint_for", "logits_processor"]


def __getattr__(name: str) -> Any:
    """The logits processor (it imports torch and transformers) and AnswerSpec load on first use: importing
    core.decoding (core.llm and core.tasks do) stays light."""
    if name in ("ConstrainedLogits", "RowReport"):
        from core.decoding import processor

        return getattr(processor, name)
    if name == "AnswerSpec":
        from core.decoding.spec import AnswerSpec

        return AnswerSpec
    raise AttributeError(f"module 'core.decoding' has no attribute {name!r}")


@dataclass(frozen=True)
class Constraint:
    """What one answer must look like: a tree (core.decoding.tree) and the mode that made it."""

    tree: Any
    mode: str = "schema"
    answer_format: str = "json"

    @cached_property
    def lark(self) -> str:
        """The llguidance Lark grammar."""
        return to_lark(self.tree)

    def validate(self) -> Constraint:
        """ValueError (one line) when llguidance refuses the grammar, e.g. an invalid JSON schema (a server's 400)."""
        import llguidance

        grammar = llguidance.LLMatcher.grammar_from_lark(self.lark)
        failed, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
        if failed:
            raise ValueError("invalid constraint: " + " ".join(messages[0].splitlines()[0].split())[:300])
        return self

    def accepts(self, tokenizer: Any, text: str) -> bool:
        """True when `text` is a complete answer of this constraint (checked by llguidance on its bytes)."""
        import llguidance

        from core.decoding.vocab import vocab_of

        vocab = vocab_of(tokenizer)
        matcher = llguidance.LLMatcher(vocab.ll, llguidance.LLMatcher.grammar_from_lark(self.lark), log_level=0)
        tokens = vocab.ll.tokenize_bytes(text.encode("utf-8"))
        return matcher.consume_tokens(tokens) and matcher.is_accepting()


def constraint_for(mode: str, *, answer_format: str = "json", schema: dict | None = None,
                   input_text: str | None = None, relations: list[str] | None = None,
                   entity_types: list[str] | None = None, min_items: int = 0,
                   choices: list[str] | None = None) -> Constraint | None:
    """The constraint of one record: None for "free"; "json" = any JSON object; "schema" = the answer schema (JSON
    format) or the CCKS triples format, bound to the record's input text, relations and entity types, or one of
    `choices` (label format). `min_items`: at least that many items in the answer's top-level list (the triples, the
    entities)."""
    if mode not in DECODING_MODES:
        raise ValueError(f"unknown decoding mode {mode!r} (choose from {', '.join(DECODING_MODES)})")
    if answer_format not in ANSWER_FORMATS:
        raise ValueError(f"unknown answer format {answer_format!r} (choose from {', '.join(ANSWER_FORMATS)})")
    if mode == "free":
        return None
    if answer_format == "label":
        if mode == "json":
            raise ValueError("decoding 'json' needs a JSON answer format; a label answer takes 'schema'")
        return Constraint(label_tree(choices), mode, answer_format)
    if answer_format == "triples":
        if mode == "json":
            raise ValueError("decoding 'json' needs a JSON answer format; the triples text format takes 'schema'")
        return Constraint(triples_tree(input_text, relations, min_items=min_items), mode, answer_format)
    if mode == "json":
        return Constraint(AnyJson.of({"type": "object"}), mode, answer_format)
    if schema is None:
        raise ValueError("decoding 'schema' needs the task's answer schema")
    tree = schema_tree(schema, Bindings(input_text, relations, entity_types))
    if min_items and isinstance(tree, Rep):
        tree = replace(tree, min_items=max(tree.min_items, min_items))
    return Constraint(tree, mode, answer_format)


def logits_processor(tokenizer: Any, constraints: list[Constraint | None], *, max_new_tokens: int | None = None,
                     model: Any = None) -> Any:
    """`LogitsProcessorList([ConstrainedLogits(...)])` for `model.generate(logits_processor=...)`; build a new one
    for every generate() call (it keeps the rows' state)."""
    from transformers import LogitsProcessorList

    from core.decoding.processor import ConstrainedLogits

    return LogitsProcessorList([ConstrainedLogits(tokenizer, constraints, max_new_tokens=max_new_tokens,
                                                  model=model)])
