"""How a task extracts from one passage: its prompt (per schema batch and gleaning pass) and its parser.

    python -c "from core.extract.extractors import extractor_names; print(extractor_names())"

`get_extractor(name)` gives, for `--task NAME`:
  kg     (default) schema-guided triples, core/tasks/kg.py: typed facts as JSON lines
  rte    LLMICL's triple task (core/prompts/rte.<language>.v1.txt), relations of the batch as its labels
  ccks   the InstructKGC (CCKS2023) instruction format -- `已知候选的关系列表：[...]...` + the passage -- so an adapter
         fine-tuned on that data extracts from documents; answers `(h,r,t)(h,r,t)` read by core.parsing.ccks
  any other registered task that has `document_prompt(text, schema, language, found)` and `parse(text, rec,
  labels)` (returning facts as {"head", "relation", "tail"[, types]} objects or [h, r, t] lists): the hook for
  CodeKGC's `code` task. Or register an adapter: `register_extractor(name, Extractor(...))`.
`found` is None on the first pass, and the facts of earlier passes on a gleaning pass. `spec(passage, batch)` is the
answer constraint of one request under `--decoding json|schema` (core.decoding.spec.AnswerSpec from the task's
answer_format / answer_schema: relations of the batch, heads and tails copied from the passage); None: decoded free.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import UserError
from core.prompts import build_prompt, fill, load_sections, stop_sequences
from core.records import Parsed
from core.registry import Registry
from core.tasks import TASKS, get_task
from core.tasks.kg import as_fact


@dataclass(frozen=True)
class Extractor:
    name: str
    prompt: Callable[[str, Any, str, list[dict] | None], str]  # (passage, schema batch, language, found) -> prompt
    parse: Callable[[str, str, Any], Parsed]  # (answer, passage, schema batch) -> Parsed whose pred = facts
    stop: Callable[[str], list[str]]  # language -> stop sequences
    spec: Callable[[str, Any], Any] | None = None  # (passage, schema batch) -> AnswerSpec (constrained decoding)


EXTRACTORS: Registry = Registry("extractor")


def register_extractor(extractor: Extractor) -> Extractor:
    return EXTRACTORS.add(extractor.name, extractor)


def extractor_names() -> list[str]:
    return sorted({*EXTRACTORS, *(n for n, t in TASKS.items() if hasattr(t, "document_prompt"))})


def get_extractor(name: str) -> Extractor:
    if name in EXTRACTORS:
        return EXTRACTORS[name]
    if name in TASKS and hasattr(TASKS[name], "document_prompt"):
        return from_task(name)
    raise UserError(f"--task {name!r} cannot extract from documents; expected one of {', '.join(extractor_names())}")


def facts(pred: Any) -> tuple[list[dict], int]:
    """A parser's prediction as facts, and how many of its items were not facts."""
    out, bad = [], 0
    for item in pred or []:
        if hasattr(item, "to_dict"):
            item = item.to_dict()
        fact = as_fact(item)
        if fact is None:
            bad += 1
        else:
            out.append(fact)
    return out, bad


def task_spec(task: Any, record: Callable[[str, Any], dict]) -> Callable[[str, Any], Any]:
    """(passage, batch) -> the AnswerSpec of `task` for the record `record(passage, batch)` (None: no schema)."""
    def spec(text: str, schema: Any) -> Any:
        from core.decoding.spec import AnswerSpec

        rec = record(text, schema)
        answer = task.answer_schema(rec, schema.relation_types or None)
        return None if answer is None else AnswerSpec(task.answer_format(rec), answer, text)

    return spec


def _text_record(text: str, schema: Any) -> dict:
    return {"text": text}


def from_task(name: str) -> Extractor:
    """The adapter of a task that has `document_prompt` (kg, and whatever task adds one)."""
    task = get_task(name)

    def parse(answer: str, text: str, schema: Any) -> Parsed:
        return task.parse(answer, {"text": text}, schema.relation_types or None)

    stop = getattr(task, "document_stop", None) or (lambda language: stop_sequences(f"{name}.{language}"))
    return Extractor(name, task.document_prompt, parse, stop, task_spec(task, _text_record))


def _glean(language: str, found: list[dict]) -> str:
    lines = "\n".join(json.dumps(f, ensure_ascii=False) for f in found)
    return fill(load_sections(f"kg.{language}", required=("glean",))["glean"], {"found": lines})


def _rte_prompt(text: str, schema: Any, language: str, found: list[dict] | None) -> str:
    prompt = build_prompt("rte", language, {"text": text}, [], labels=schema.relation_types or None)
    if found is None:
        return prompt
    query = fill(load_sections(f"rte.{language}")["query"], {"text": text})
    head = prompt[: -len(query)].rstrip("\n") if prompt.endswith(query) else prompt
    return f"{head}\n\n{_glean(language, found)}\n\n{query}"


def _rte_parse(answer: str, text: str, schema: Any) -> Parsed:
    return get_task("rte").parse(answer, {"text": text}, schema.relation_types or None)


def ccks_instruction(schema: Any, language: str) -> str:
    relations = "[" + ", ".join(repr(r) for r in schema.relation_types) + "]"
    return fill(load_sections(f"kg.{language}", required=("ccks_instruction",))["ccks_instruction"],
                {"relations": relations})


def _ccks_prompt(text: str, schema: Any, language: str, found: list[dict] | None) -> str:
    """As InstructKGC's inference sends a record: the instruction, a newline, the input."""
    instruction = ccks_instruction(schema, language)
    if found is not None:
        instruction = f"{instruction}\n{_glean(language, found)}"
    return f"{instruction}\n{text}"


def _ccks_parse(answer: str, text: str, schema: Any) -> Parsed:
    from core.parsing.ccks import parse_triples

    result = parse_triples(answer, input_text=text, relations=schema.relation_types or None)
    return Parsed([t.to_dict() for t in result.triples], result.status, list(result.issues), dict(result.bad))


def _ccks_record(text: str, schema: Any) -> dict:
    return {"instruction": ccks_instruction(schema, "en"), "input": text}  # the relations are what the spec reads


register_extractor(Extractor("rte", _rte_prompt, _rte_parse, lambda language: stop_sequences(f"rte.{language}"),
                             task_spec(get_task("rte"), _text_record)))
register_extractor(Extractor("ccks", _ccks_prompt, _ccks_parse, lambda language: [],
                             task_spec(get_task("ccks"), _ccks_record)))
