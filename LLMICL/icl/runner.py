"""One run: records -> prompts -> core.llm (raw answers streamed, resumable) -> parsed JSONL -> metrics JSON.

    python LLMICL/preprocess.py task=ner language=en text_input="Japan beat Syria in Doha."
    python LLMICL/run.py task=ner language=en text_input="Japan beat Syria in Doha." base_url=http://127.0.0.1:8000/v1

Files of a run with output_file=out/pred.jsonl: out/pred.raw.jsonl (every answer verbatim, appended as it arrives;
a rerun sends only what is missing), out/pred.jsonl (written at the end, atomically) and out/pred.metrics.json
(where there is gold, and for da). Without output_file (one text_input), the answer is printed and nothing is kept.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.io import DataError, dumps, record_ids, strip_private, write_json, write_jsonl

from .answers import ERROR, Parsed
from .base import Task, get_task
from .config import LLM_KEYS
from .da import select
from .prompt import build_prompt

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


def run(settings: Any) -> dict:
    """Run what the settings ask for; returns the metrics (or {} when there is nothing to score)."""
    task = get_task(settings.task)
    with tempfile.TemporaryDirectory(prefix="llmicl-") as scratch:
        paths = _paths(settings, Path(scratch))
        if task.name == "da":
            return _augment(task, settings, paths)
        return _extract(task, settings, paths)


def _paths(settings: Any, scratch: Path) -> dict[str, Path | None]:
    out = settings.output_file
    if out is None and settings.input_file:
        source = Path(settings.input_file)
        out = source.with_name(f"{source.stem}.pred{'.json' if settings.task == 'da' else '.jsonl'}")
    out = Path(out) if out else None
    raw = out.with_name(out.stem + ".raw.jsonl") if out else scratch / "raw.jsonl"
    metrics = Path(settings.metrics_file) if settings.metrics_file else None
    if metrics is None and out is not None:
        metrics = out.with_name(out.stem + ".metrics.json")
    return {"output": out, "raw": raw, "metrics": metrics}


def _demos(task: Task, settings: Any) -> list[dict]:
    return task.read(task.demo_path(settings.data_path, settings.language))


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
    seen: set = set()
    for rec, rec_id in zip(records, record_ids(records), strict=True):
        if isinstance(rec_id, bool) or not isinstance(rec_id, (str, int)):
            raise DataError(path, rec["__line__"], "expected a string or an integer", field="id")
        if rec_id in seen:
            raise DataError(path, rec["__line__"], f"duplicate id {rec_id!r}", field="id")
        seen.add(rec_id)
    return records


def prompts(settings: Any) -> list[tuple[Any, str]]:
    """The (id, prompt) pairs a run would send; nothing is sent."""
    task = get_task(settings.task)
    return (_augment_plan(task, settings) if task.name == "da" else _extract_plan(task, settings))[-1]


def _extract_plan(task: Task, settings: Any) -> tuple[list[dict], list[tuple[Any, str]]]:
    pool = [] if settings.zero_shot else _demos(task, settings)
    records = _records(task, settings)
    return records, [(rec["id"], prompt_for(task, settings, rec, pool)) for rec in records]


def _extract(task: Task, settings: Any, paths: dict) -> dict:
    records, items = _extract_plan(task, settings)
    answers = _ask(settings, items, paths["raw"], desc=f"{task.name} {settings.language}", temperature=0.0)
    rows, pairs = [], []
    for rec in records:
        parsed = _read_answer(task, rec, answers[rec["id"]][0], settings.labels)
        pairs.append((rec, parsed))
        rows.append({**strip_private(rec), **task.output_fields(rec, parsed), "status": parsed.status,
                     "issues": parsed.issues, "raw": parsed.raw})
    if paths["output"]:
        write_jsonl(paths["output"], rows)
        print(f"{len(rows)} predictions -> {paths['output']}", file=sys.stderr)
    if not settings.input_file:
        rec, parsed = pairs[0]
        shown = task.output_fields(rec, parsed)
        print(dumps(shown.get("pred", shown.get("kg"))))
        if parsed.status != "ok":
            print(f"status: {parsed.status}; " + "; ".join(parsed.issues), file=sys.stderr)
    gold = [(rec, parsed) for rec, parsed in pairs if task.has_gold(rec)]
    if not gold:
        return {}
    metrics = {"task": task.name, "language": settings.language, "records": len(records), "scored": len(gold),
               "status": dict(Counter(p.status for _, p in pairs)),
               **task.score(gold, settings.labels, settings.language)}
    _report(metrics, paths["metrics"])
    return metrics


def _read_answer(task: Task, rec: dict, completion: Any, labels: list[str] | None) -> Parsed:
    if completion.error is None:
        parsed = task.parse(completion.text, rec, labels)
    else:  # a failed request is one wrong prediction of every unit, never a skipped record
        parsed = task.parse("", rec, labels)
        parsed.status = ERROR
        parsed.issues = [f"request failed: {completion.error}"]
        parsed.bad = dict.fromkeys(task.units, 1)
    parsed.raw = completion.text
    return parsed


def _augment_plan(task: Task, settings: Any) -> tuple[list[dict], list[str], set[str], int, list[tuple[str, str]]]:
    demos = _demos(task, settings)
    relations = settings.text_input.split(",") if settings.text_input else list(dict.fromkeys(
        d["relation"] for d in demos))
    relations = [r.strip() for r in relations if r.strip()]
    if not relations:
        raise UserError("task=da: no relation to augment: give text_input=RELATION or demos in the data file")
    types = set(settings.labels or []) or {d[f"{s}_type"] for d in demos for s in ("head", "tail")
                                             if d.get(f"{s}_type")}
    number = settings.number or 5
    items = []
    for relation in relations:
        own = [d for d in demos if d["relation"] == relation]
        if not own:
            print(f"warning: no demo of relation {relation!r} in the data file; asking without examples",
                  file=sys.stderr)
        shown = [task.demo_vars(d) for d in _shown(task, settings, own, None)]
        extra = {"relation": relation, "number": number}
        prompt = build_prompt("da", settings.language, extra, shown, domain=settings.domain,
                              labels=settings.labels or sorted(types) or None, extra=extra)
        items.append((relation, prompt))
    return demos, relations, types, number, items


def _augment(task: Task, settings: Any, paths: dict) -> dict:
    demos, relations, types, number, items = _augment_plan(task, settings)
    answers = _ask(settings, items, paths["raw"], desc=f"da {settings.language}", temperature=1.0)
    parsed = {relation: _read_answer(task, {}, answers[relation][0], None) for relation in relations}
    kept, report = select(parsed, demos, types or None, number)
    if paths["output"]:
        write_json(paths["output"], kept)
        print(f"{len(kept)} new samples -> {paths['output']}", file=sys.stderr)
    else:
        print(json.dumps(kept, ensure_ascii=False, indent=2))
    dropped: Counter = Counter()
    for rel in report.values():
        dropped.update(rel["dropped"])
    metrics = {"task": "da", "language": settings.language, "asked": number * len(relations),
               "generated": sum(r["generated"] for r in report.values()), "kept": len(kept),
               "dropped": dict(dropped), "relations": report}
    _report(metrics, paths["metrics"])
    return metrics


def _ask(settings: Any, items: list, raw: Path, desc: str, temperature: float) -> dict:
    from core.llm import LLMConfig, create_backend, run_prompts

    _drop_stale(raw, dict(items))
    env_key = os.environ.get("OPENAI_API_KEY")
    if settings.api_key and not env_key:
        print("note: api_key on the command line or in run.yaml is deprecated; export OPENAI_API_KEY instead",
              file=sys.stderr)
    base_url = settings.base_url or os.environ.get("OPENAI_BASE_URL")
    model = settings.model or settings.engine or (None if base_url or settings.backend == "hf"
                                                  else DEFAULT_OPENAI_MODEL)
    flags = {k: getattr(settings, k) for k in LLM_KEYS}
    config = LLMConfig.from_flags(**flags, model=model, api_key=None if env_key else settings.api_key)
    with create_backend(config) as backend:
        return run_prompts(backend, items, raw_file=raw, max_tokens=settings.max_tokens or 512,
                           temperature=temperature if settings.temperature is None else settings.temperature,
                           desc=desc)


def _drop_stale(raw: Path, prompts: dict) -> None:
    """Answers in the raw file to a prompt that has since changed (other demos, k, labels...) are asked again."""
    if not raw.exists():
        return
    lines = [ln for ln in raw.read_text(encoding="utf-8").splitlines() if ln.strip()]
    keep, stale = [], 0
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line; core.llm cuts it too
        rec_id = rec.get("id") if isinstance(rec, dict) else None
        if isinstance(rec_id, (str, int)) and rec_id in prompts and rec.get("prompt") != prompts[rec_id]:
            stale += 1
            continue
        keep.append(rec)
    if stale:
        write_jsonl(raw, keep)
        print(f"note: {stale} answers in {raw.name} were to other prompts; asking again", file=sys.stderr)


def _report(metrics: dict, path: Path | None) -> None:
    print(json.dumps(metrics, ensure_ascii=False, indent=2))
    if path is not None:
        write_json(path, metrics)
        print(f"metrics -> {path}", file=sys.stderr)
