"""Test time: ask every schema batch of every input, merge the answers into one prediction per input, score it.

    python -c "from core.iepile.predict import merge_status; print(merge_status(['ok', 'unparsable']))"

    files = RunFiles.beside("out/pred.jsonl")       # out/pred.prompts.jsonl, .raw.jsonl, pred.jsonl, .metrics.json
    result = run(backend, records, files, max_tokens=300)   # records: checked IEPile test records (task iepile)
    result = from_answers(records, "output", files)          # answers already in the records (no model)
    write_jsonl("out/records.jsonl", our_records(result))    # for `python -m core.kg build`

The batches of an input are the records with the same source and id; each batch is one prompt with id `<id>#<k>`
(k = 0, 1, ... in file order; `<source>:<id>#<k>` when sources share ids), sent through core.pipeline.ask (core.llm's
resume rule). The merged prediction holds every batch's items; its status: failed when every batch failed,
unparsable when none could be read, invalid when some batch is not ok / repaired (its issues name the batch), else
the best of ok / repaired. One line per input in the parsed file: id, task, source, input, label (when known), pred, status, issues, raw (the batches' answers).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from core.iepile.records import our_record
from core.iepile.spec import UNITS
from core.io import DataError, write_json, write_jsonl
from core.pipeline import Result, RunFiles, ask, read_answer, score
from core.records import FAILED, INVALID, OK, REPAIRED, UNPARSABLE, Parsed


def _task():
    from core.tasks import get_task

    return get_task("iepile")


def groups_of(records: list[dict], path: str = "<records>") -> list[list[dict]]:
    """The records of each input (same source and id), inputs in order of first appearance."""
    by_key: dict[tuple, list[dict]] = {}
    for rec in records:
        if rec.get("id") is None:
            raise DataError(path, rec.get("__line__"), "missing (the batches of an input share its id)",
                            field="id")
        by_key.setdefault((str(rec.get("source")), rec["id"]), []).append(rec)
    for group in by_key.values():
        tasks = {rec["__task__"] for rec in group}
        if len(tasks) > 1:
            raise DataError(path, group[0].get("__line__"),
                            f"the batches of id {group[0]['id']!r} disagree on the task ({', '.join(sorted(tasks))})",
                            field="task")
    return list(by_key.values())


def merge_status(statuses: Sequence[str]) -> str:
    if all(s == FAILED for s in statuses):
        return FAILED
    if all(s in (FAILED, UNPARSABLE) for s in statuses):
        return UNPARSABLE
    if any(s not in (OK, REPAIRED) for s in statuses):
        return INVALID
    return REPAIRED if REPAIRED in statuses else OK


def merge(group: list[dict], parsed: list[Parsed]) -> tuple[dict, Parsed]:
    """One input's record (its batches' schemas, its label) and one prediction (every batch's items)."""
    first = group[0]
    rec = {"id": first["id"], "task": first["__task__"], "source": first.get("source"), "input": first["__input__"],
           "schemas": [r["__schema__"] for r in group], "__task__": first["__task__"], "__input__": first["__input__"],
           "__line__": first.get("__line__")}
    label = next((r["__label__"] for r in group if r.get("__label__") is not None), None)
    if label is not None:
        rec["label"], rec["__label__"] = label, label
    merged = Parsed([], merge_status([p.status for p in parsed]))
    for k, p in enumerate(parsed):
        merged.pred.extend(p.pred)
        merged.issues.extend(f"batch {k}: {issue}" for issue in p.issues)
        for unit, n in p.bad.items():
            if unit in UNITS[rec["task"]]:  # a failed request marks every unit of the iepile task
                merged.bad[unit] = merged.bad.get(unit, 0) + n
    merged.raw = [p.raw for p in parsed]  # type: ignore[assignment]  (one answer per batch)
    return rec, merged


def _row(rec: dict, parsed: Parsed) -> dict:
    row = {k: v for k, v in rec.items() if not k.startswith("__") and k != "schemas"}
    row.update(pred=parsed.pred, status=parsed.status, issues=parsed.issues, raw=parsed.raw)
    if parsed.bad:
        row["bad"] = parsed.bad
    return row


def _result(groups: list[list[dict]], parsed: list[list[Parsed]], language: str) -> Result:
    pairs = [merge(g, ps) for g, ps in zip(groups, parsed, strict=True)]
    result = Result([_row(rec, p) for rec, p in pairs], pairs, {})
    result.metrics = score(_task(), result, labels=None, language=language)
    return result


def _language(records: list[dict]) -> str:
    from core.iepile.spec import read_instruction, sentence

    zh = {sentence(t, "zh") for t in ("NER", "RE", "EE")}
    langs = {"zh" if read_instruction(r["instruction"]).get("instruction") in zh else "en" for r in records}
    return ",".join(sorted(langs))


def prompt_ids(groups: list[list[dict]]) -> list[list[str]]:
    """`<id>#<k>` per batch; `<source>:<id>#<k>` when two sources share an id."""
    ids = [g[0]["id"] for g in groups]
    qualify = len(set(ids)) < len(ids)
    return [[f"{g[0].get('source')}:{g[0]['id']}#{k}" if qualify else f"{g[0]['id']}#{k}" for k in range(len(g))]
            for g in groups]


def prompt_items(groups: list[list[dict]], render: Callable[[str], str] | None = None) -> list[tuple[str, str]]:
    """(prompt id, prompt) of every batch: the instruction string, through `render` (a model template) if given."""
    task, render = _task(), render or (lambda text: text)
    return [(pid, render(task.prompt(rec))) for g, pids in zip(groups, prompt_ids(groups), strict=True)
            for pid, rec in zip(pids, g, strict=True)]


def run(backend: Any, records: list[dict], files: RunFiles, render: Callable[[str], str] | None = None,
        path: str = "<records>", **gen: Any) -> Result:
    """Ask the model every batch (prompts and raw answers beside `files.parsed`), merge, score, write. `render`:
    a model template applied here (for a server's /v1/completions); the hf backend applies its own."""
    task, groups = _task(), groups_of(records, path)
    answers = ask(backend, prompt_items(groups, render), files, desc="iepile", **gen)
    parsed = [[read_answer(task, rec, answers[pid][0], None) for pid, rec in zip(pids, g, strict=True)]
              for g, pids in zip(groups, prompt_ids(groups), strict=True)]
    result = _result(groups, parsed, _language(records))
    write(result, files)
    return result


def from_answers(records: list[dict], field: str, files: RunFiles | None = None,
                 path: str = "<records>") -> Result:
    """The answers are already in the records' `field` (IEPile's src/inference.py output, any server's): no model."""
    task, groups = _task(), groups_of(records, path)
    parsed = []
    for g in groups:
        batch = []
        for rec in g:
            if not isinstance(rec.get(field), str):
                raise DataError(path, rec.get("__line__"), "missing (the answer to read)", field=field)
            p = task.parse(rec[field], rec, None)
            p.raw = rec[field]
            batch.append(p)
        parsed.append(batch)
    result = _result(groups, parsed, _language(records))
    if files is not None:
        write(result, files)
    return result


def write(result: Result, files: RunFiles) -> None:
    write_jsonl(files.parsed, result.rows)
    print(f"{len(result.rows)} merged predictions -> {files.parsed}", file=sys.stderr)
    if result.metrics:
        write_json(files.metrics, result.metrics)


def our_records(result: Result) -> list[dict]:
    """One record per input in the shapes our tasks and core.kg read (core.iepile.records.our_record)."""
    return [our_record(rec["__task__"], rec["id"], rec["__input__"], parsed.pred, source=rec.get("source"),
                       status=parsed.status, issues=parsed.issues) for rec, parsed in result.pairs]
