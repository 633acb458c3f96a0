"""The one runner of every task: records -> prompts.jsonl -> raw.jsonl -> parsed.jsonl -> metrics.json.

    python -c "from core.pipeline import RunFiles; print(RunFiles.beside('out/pred.jsonl'))"

    files = RunFiles.beside("out/pred.jsonl")       # out/pred.prompts.jsonl, .raw.jsonl, pred.jsonl, .metrics.json
    result = run(get_task("ner"), records, items, backend, files, labels=["PER"], language="en")
    parse_only(task, records, files, ...)           # raw.jsonl -> parsed.jsonl + metrics.json, no model
    score_only(task, records, files, ...)           # parsed.jsonl -> metrics.json, no model

One naming rule: for the parsed file `X.jsonl` the run writes `X.prompts.jsonl` (what was asked), `X.raw.jsonl`
(every answer verbatim, appended as it arrives; core.llm.run_prompts, whose resume rule is the only one: an id already
answered for the same prompt is not asked again, a changed prompt is asked again and counted), `X.jsonl` (one line
per record: the record, the task's prediction fields, and the parse envelope's status / issues / raw) and
`X.metrics.json` (where there is gold). Generation never parses; parsing never calls a model; scoring reads only
parsed lines. Parse-only and score-only re-runs write byte-identical files from the files before them.

Constrained decoding (`--decoding json|schema`, docs/llm.md): `run` gives the backend one core.decoding AnswerSpec
per record (the task's `answer_format`, `answer_schema(rec, allowed)` and `text_of`; `answer_specs`), each answer's
envelope records the mode that produced it (`decoding`, a parsed.jsonl field), and the report (metrics.json, and one
stderr line) gives the parse rate per mode (`decoding_report`).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.io import DataError, iter_records, record_ids, strip_private, write_json, write_jsonl
from core.records import FAILED, INVALID, OK, REPAIRED, Parsed
from core.tasks.base import Task


@dataclass(frozen=True)
class RunFiles:
    parsed: Path
    prompts: Path
    raw: Path
    metrics: Path

    @classmethod
    def beside(cls, parsed: str | Path, metrics: str | Path | None = None) -> RunFiles:
        parsed = Path(parsed)
        stem = parsed.with_suffix("") if parsed.suffix in (".jsonl", ".json") else parsed
        return cls(parsed, Path(f"{stem}.prompts.jsonl"), Path(f"{stem}.raw.jsonl"),
                   Path(metrics) if metrics else Path(f"{stem}.metrics.json"))


@dataclass
class Result:
    rows: list[dict]
    pairs: list[tuple[dict, Parsed]]
    metrics: dict


def check_ids(records: list[dict], path: str | Path = "records") -> None:
    """Every record has a unique string or integer id (from `id`, else its position): resuming goes by id."""
    seen: dict = {}
    for rec, rec_id in zip(records, record_ids(records), strict=True):
        if isinstance(rec_id, bool) or not isinstance(rec_id, (str, int)):
            raise DataError(path, rec.get("__line__"), "expected a string or an integer", field="id")
        if rec_id in seen:
            raise DataError(path, rec.get("__line__"), f"duplicate id {rec_id!r} (first on line {seen[rec_id]}); "
                            "ids must be unique to resume", field="id")
        seen[rec_id] = rec.get("__line__", "?")


def answer_specs(task: Task, records: list[dict], backend: Any, allowed: list[str] | None) -> dict | None:
    """{id: core.decoding AnswerSpec} of the records, for a backend asked to constrain its decoding (None when it
    decodes free, or when the task has no answer schema)."""
    if getattr(backend, "decoding", "free") == "free":
        return None
    from core.decoding.spec import AnswerSpec

    specs = {}
    for rec in records:
        schema = task.answer_schema(rec, allowed)
        if schema is not None:
            specs[rec["id"]] = AnswerSpec(task.answer_format(rec), schema, task.text_of(rec))
    return specs or None


def specs_by_prompt(items: Sequence[tuple[Any, Any]], specs: dict, where: str | Path = "prompts") -> dict:
    """{id: AnswerSpec} -> run_prompts' `answer_specs` ({prompt key: AnswerSpec}, core.llm.base.prompt_key)."""
    from core.llm.base import prompt_key

    out: dict = {}
    for rec_id, prompt in items:
        key = prompt_key(prompt)
        if key in out and out[key] != specs.get(rec_id):
            raise DataError(where, None, f"id {rec_id!r} has the prompt of another record but another answer "
                            "schema; constrained decoding needs one answer spec per prompt", field="id")
        out[key] = specs.get(rec_id)
    return out


def ask(backend: Any, items: Sequence[tuple[Any, Any]], files: RunFiles | Path, *, desc: str,
        specs: dict | None = None, **gen: Any) -> dict:
    """Write the prompts file, then send every (id, prompt) through core.llm.run_prompts; {id: [Completion]}.
    `specs`: {id: AnswerSpec} (see `answer_specs`), handed to the backend as `answer_specs` keyed by prompt."""
    from core.llm import run_prompts
    from core.llm.base import SPECS

    raw = files.raw if isinstance(files, RunFiles) else Path(files)
    if isinstance(files, RunFiles):
        write_jsonl(files.prompts, [{"id": i, "prompt": p} for i, p in items])
    if specs:
        gen[SPECS] = specs_by_prompt(items, specs, raw)
    elif getattr(backend, "decoding", "free") != "free":
        print(f"warning: --decoding {backend.decoding}: these prompts have no answer schema (the task declares none); "
              "they are answered free", file=sys.stderr)
    return run_prompts(backend, list(items), raw_file=raw, desc=desc, **gen)


def read_answer(task: Task, rec: dict, completion: Any, allowed: list[str] | None) -> Parsed:
    """The envelope of one answer; a failed request is one wrong prediction of every unit, never a skipped record."""
    if completion.error is None:
        parsed = task.parse(completion.text, rec, allowed)
    else:
        parsed = task.parse("", rec, allowed)
        parsed.status = FAILED
        parsed.issues = [f"request failed: {completion.error}"]
        parsed.bad = dict.fromkeys(task.units, 1)
    parsed.raw = completion.text
    parsed.decoding = getattr(completion, "decoding", None)
    return parsed


def row_of(task: Task, rec: dict, parsed: Parsed) -> dict:
    """A parsed.jsonl line: the record, the task's prediction fields, then the envelope's status / issues / raw."""
    row = {**strip_private(rec), **task.output_fields(rec, parsed), "status": parsed.status, "issues": parsed.issues,
           "raw": parsed.raw}
    if parsed.bad:
        row["bad"] = parsed.bad
    if parsed.decoding:
        row["decoding"] = parsed.decoding
    return row


def parse_answers(task: Task, records: list[dict], answers: dict, allowed: list[str] | None) -> Result:
    """Every answer of every record through the task's parser; a record's samples (n > 1) combined by the task."""
    result = Result([], [], {})
    for rec in records:
        completions = answers[rec["id"]]
        samples = [read_answer(task, rec, c, allowed) for c in completions]
        parsed = task.combine(samples)
        parsed.decoding = parsed.decoding or samples[0].decoding
        result.rows.append({**row_of(task, rec, parsed), **task.sample_fields([c.text for c in completions], samples)})
        result.pairs.append((rec, parsed))
    return result


def score(task: Task, result: Result, *, labels: list[str] | None, language: str) -> dict:
    """Metrics of the records with gold ({} when none has any); the status counts of every record."""
    gold = [(rec, parsed) for rec, parsed in result.pairs if task.has_gold(rec)]
    modes = decoding_report([parsed for _, parsed in result.pairs])
    by_mode = {"decoding": modes} if modes else {}
    if not gold:
        return by_mode
    return {"task": task.name, "language": language, "records": len(result.pairs), "scored": len(gold),
            "status": dict(Counter(p.status for _, p in result.pairs)),
            **task.score(gold, labels, language), **by_mode}


def decoding_report(parsed: list[Parsed]) -> dict:
    """Per decoding mode that produced answers: answers, how many the parser read (`parsed`: ok, repaired or invalid;
    `parse_rate`) and how many broke no rule (`valid`: ok or repaired). {} when no answer records a mode (a free
    run); answers without one count as free; failed requests are left out."""
    if not any(p.decoding for p in parsed):
        return {}
    out: dict = {}
    for p in parsed:
        if p.status == FAILED:
            continue
        row = out.setdefault(p.decoding or "free", {"answers": 0, "parsed": 0, "valid": 0})
        row["answers"] += 1
        row["parsed"] += p.status in (OK, REPAIRED, INVALID)
        row["valid"] += p.status in (OK, REPAIRED)
    for row in out.values():
        row["parse_rate"] = round(row["parsed"] / row["answers"], 4)
    return dict(sorted(out.items()))


def say_decoding(metrics: dict) -> None:
    """The parse rate per decoding mode, one stderr line (nothing for a run that recorded no mode)."""
    modes = metrics.get("decoding") or {}
    if modes:
        print("decoding: " + "; ".join(f"{mode}: {r['parsed']}/{r['answers']} answers parsed "
                                       f"({100 * r['parse_rate']:.1f}%), {r['valid']} valid" for mode, r in modes.items()),
              file=sys.stderr)


def _write(result: Result, files: RunFiles | None, quiet: bool = False) -> None:
    if files is None:
        return
    write_jsonl(files.parsed, result.rows)
    if not quiet:
        print(f"{len(result.rows)} predictions -> {files.parsed}", file=sys.stderr)
    if result.metrics:
        write_json(files.metrics, result.metrics)


def run(task: Task, records: list[dict], items: Sequence[tuple[Any, Any]], backend: Any, files: RunFiles | None,
        *, labels: list[str] | None = None, allowed: list[str] | None = None, language: str = "en",
        desc: str | None = None, scratch: Path | None = None, **gen: Any) -> Result:
    """Ask, parse, score, write. `labels`: what the prompt named (scoring); `allowed`: the labels a parser accepts
    (default `labels`). `gen`: generation parameters for run_prompts (max_tokens, temperature, stop, ...)."""
    where = files if files is not None else (scratch or Path(".")) / "raw.jsonl"
    allowed = allowed if allowed is not None else labels
    answers = ask(backend, items, where, desc=desc or task.name,
                  specs=answer_specs(task, records, backend, allowed), **gen)
    result = parse_answers(task, records, answers, allowed)
    result.metrics = score(task, result, labels=labels, language=language)
    say_decoding(result.metrics)
    _write(result, files)
    return result


def _raw_answers(files: RunFiles) -> dict:
    from core.llm import Completion

    answers = {}
    for line, rec in iter_records(files.raw):
        if not isinstance(rec, dict) or "id" not in rec:
            raise DataError(files.raw, line, "missing", field="id")
        done = [Completion.from_dict(c) for c in rec.get("completions") or []]
        answers[rec["id"]] = done or [Completion.failed(rec.get("error") or "no answer")]
    return answers


def parse_only(task: Task, records: list[dict], files: RunFiles, *, labels: list[str] | None = None,
               allowed: list[str] | None = None, language: str = "en") -> Result:
    """parsed.jsonl and metrics.json again from raw.jsonl: no model. Every record must have its answer there."""
    answers = _raw_answers(files)
    missing = [rec["id"] for rec in records if rec["id"] not in answers]
    if missing:
        raise DataError(files.raw, None, f"{len(missing)} ids have no answer (first: {missing[0]!r}); run the model")
    result = parse_answers(task, records, answers, allowed if allowed is not None else labels)
    result.metrics = score(task, result, labels=labels, language=language)
    _write(result, files)
    return result


def score_only(task: Task, records: list[dict], files: RunFiles, *, labels: list[str] | None = None,
               language: str = "en") -> Result:
    """metrics.json again from parsed.jsonl (gold from the records): no model, no parsing."""
    by_id = {}
    for line, row in iter_records(files.parsed):
        if not isinstance(row, dict) or "id" not in row:
            raise DataError(files.parsed, line, "missing", field="id")
        try:
            by_id[row["id"]] = Parsed.from_dict(row, pred_key=task.pred_field)
        except ValueError as exc:
            raise DataError(files.parsed, line, str(exc).split(": ", 1)[-1], field="status") from None
    missing = [rec["id"] for rec in records if rec["id"] not in by_id]
    if missing:
        raise DataError(files.parsed, None, f"{len(missing)} ids have no parsed line (first: {missing[0]!r})")
    result = Result([], [(rec, by_id[rec["id"]]) for rec in records], {})
    result.metrics = score(task, result, labels=labels, language=language)
    if result.metrics:
        write_json(files.metrics, result.metrics)
    return result


def report(metrics: dict, path: Path | None = None) -> None:
    """Metrics to stdout (readable JSON); where they were written to stderr."""
    print(json.dumps(metrics, ensure_ascii=False, indent=2))
    if path is not None and metrics:
        print(f"metrics -> {path}", file=sys.stderr)
