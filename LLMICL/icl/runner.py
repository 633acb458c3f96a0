"""LLMICL's run: its settings mapped onto a core task and core.pipeline (records -> prompts -> raw -> parsed -> metrics).

    python LLMICL/preprocess.py task=ner language=en text_input="Japan beat Syria in Doha."
    python LLMICL/run.py task=ner language=en text_input="Japan beat Syria in Doha." base_url=http://127.0.0.1:8000/v1

Files of a run with output_file=out/pred.jsonl (core.pipeline's naming rule): out/pred.prompts.jsonl,
out/pred.raw.jsonl (every answer verbatim, appended as it arrives; a rerun sends only what is missing or whose prompt
changed), out/pred.jsonl (written at the end, atomically) and out/pred.metrics.json (where there is gold, and for da).
Without output_file (one text_input), the answer is printed and nothing is kept.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from core import pipeline
from core.errors import UserError
from core.io import DataError, dumps, write_json
from core.prompts import build_prompt, stop_sequences
from core.tasks import Task, get_task
from core.tasks.da import augment_plan, augment_report

from .config import LLM_KEYS

DATA = Path(__file__).resolve().parent.parent / "data"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


def run(settings: Any) -> dict:
    """Run what the settings ask for; returns the metrics (or {} when there is nothing to score)."""
    task = get_task(settings.task)
    with tempfile.TemporaryDirectory(prefix="llmicl-") as scratch:
        files = _files(settings)
        if task.name == "da":
            return _augment(task, settings, files, Path(scratch))
        return _extract(task, settings, files, Path(scratch))


def _files(settings: Any) -> pipeline.RunFiles | None:
    out = settings.output_file
    if out is None and settings.input_file:
        source = Path(settings.input_file)
        out = source.with_name(f"{source.stem}.pred{'.json' if settings.task == 'da' else '.jsonl'}")
    return pipeline.RunFiles.beside(out, settings.metrics_file) if out else None


def _demos(task: Task, settings: Any) -> list[dict]:
    return task.read(task.demo_path(settings.data_path or DATA, settings.language))


def _shown(task: Task, settings: Any, pool: list[dict], text: str | None) -> list[dict]:
    """The k demos of a prompt: file order, never the record being asked about."""
    chosen = [d for d in pool if text is None or task.text_of(d) != text]
    return chosen if settings.k is None else chosen[: settings.k]


def prompt_for(task: Task, settings: Any, rec: dict, pool: list[dict]) -> str:
    style = task.style(rec)
    demos = [task.demo_vars(d, style) for d in _shown(task, settings, pool, task.text_of(rec))]
    return build_prompt(task.name, settings.language, task.query_vars(rec), demos,
                        instruction=task.instruction(rec, settings.instruction), domain=settings.domain,
                        labels=settings.labels, style=style)


def _records(task: Task, settings: Any) -> list[dict]:
    if not settings.input_file:
        return [task.check(task.from_settings(settings), "text_input", None)]
    path = settings.input_file
    records = task.read(path)
    if not records:
        raise DataError(path, None, "no records")
    for rec in records:
        if task.text_of(rec) is None:
            raise DataError(path, rec["__line__"], "missing", field="text")
    pipeline.check_ids(records, path)
    return records


def prompts(settings: Any) -> list[tuple[Any, str]]:
    """The (id, prompt) pairs a run would send; nothing is sent."""
    task = get_task(settings.task)
    if task.name == "da":
        return _augment_plan(task, _demos(task, settings), settings)[-1]
    return _extract_plan(task, settings)[-1]


def _extract_plan(task: Task, settings: Any) -> tuple[list[dict], list[dict], list[tuple[Any, str]]]:
    pool = [] if settings.zero_shot else _demos(task, settings)
    records = _records(task, settings)
    return pool, records, [(rec["id"], prompt_for(task, settings, rec, pool)) for rec in records]


def _extract(task: Task, settings: Any, files: pipeline.RunFiles | None, scratch: Path) -> dict:
    pool, records, items = _extract_plan(task, settings)
    allowed = settings.labels or task.demo_labels(pool)  # no labels given: those the demos show
    with _backend(settings) as backend:
        result = pipeline.run(task, records, items, backend, files, labels=settings.labels, allowed=allowed,
                              language=settings.language, desc=f"{task.name} {settings.language}", scratch=scratch,
                              **_gen(settings, task, 0.0))
    if not settings.input_file:
        rec, parsed = result.pairs[0]
        shown = task.output_fields(rec, parsed)
        print(dumps(shown.get("pred", shown.get("kg"))))
        if parsed.status != "ok":
            print(f"status: {parsed.status}; " + "; ".join(parsed.issues), file=sys.stderr)
    if result.metrics:
        pipeline.report(result.metrics, files.metrics if files else None)
    return result.metrics


def _augment(task: Task, settings: Any, files: pipeline.RunFiles | None, scratch: Path) -> dict:
    demos = _demos(task, settings)
    plan = _augment_plan(task, demos, settings)
    with _backend(settings) as backend:
        answers = pipeline.ask(backend, plan[-1], files.raw if files else scratch / "raw.jsonl",
                               desc=f"da {settings.language}", **_gen(settings, task, 1.0))
    kept, metrics = augment_report(task, demos, plan, answers, settings.language)
    if files:
        write_json(files.parsed, kept)
        print(f"{len(kept)} new samples -> {files.parsed}", file=sys.stderr)
        write_json(files.metrics, metrics)
    else:
        print(json.dumps(kept, ensure_ascii=False, indent=2))
    pipeline.report(metrics, files.metrics if files else None)
    return metrics


def _augment_plan(task: Task, demos: list[dict], settings: Any) -> tuple:
    relations = settings.text_input.split(",") if settings.text_input else None
    return augment_plan(task, demos, relations=relations, labels=settings.labels, number=settings.number,
                        k=settings.k, domain=settings.domain, language=settings.language)


def _gen(settings: Any, task: Task, temperature: float) -> dict:
    return {"max_tokens": settings.max_tokens or 512, "stop": stop_sequences(f"{task.name}.{settings.language}") or None,
            "temperature": temperature if settings.temperature is None else settings.temperature}


def _backend(settings: Any):
    from core.llm import LLMConfig, create_backend

    env_key = os.environ.get("OPENAI_API_KEY")
    if settings.api_key and not env_key:
        print("note: api_key on the command line or in run.yaml is deprecated; export OPENAI_API_KEY instead",
              file=sys.stderr)
    base_url = settings.base_url or os.environ.get("OPENAI_BASE_URL")
    model = settings.model or settings.engine or (None if base_url or settings.backend == "hf"
                                                  else DEFAULT_OPENAI_MODEL)
    flags = {k: getattr(settings, k) for k in LLM_KEYS}
    return create_backend(LLMConfig.from_flags(**flags, model=model, api_key=None if env_key else settings.api_key))


__all__ = ["UserError", "prompt_for", "prompts", "run"]
