"""run_prompts: send (id, prompt) pairs through a backend, stream each answer to a raw JSONL file, resume on rerun.

    python -c "from core.llm import run_prompts; help(run_prompts)"

One line per id in `raw_file`, appended (and flushed) as each answer arrives:
`{"id", "prompt", "completions": [{"text", "finish_reason", "usage"}], "error", "backend", "model"}`.
A rerun reads the file first: ids already answered with the same prompt are not sent again; failed lines, and lines
whose prompt has changed since (other demos, labels, instruction...), are dropped (atomically, the count is printed)
and their ids sent again, so when a run finishes every id is in the file exactly once, answered for its prompt. This
is the project's one resume rule: every case and the document pipeline go through it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.io import JsonlAppender, write_jsonl
from core.llm.base import Completion, Prompt, check_prompt


def run_prompts(
    backend: Any,
    items: Iterable[tuple[Any, Prompt]],
    raw_file: str | Path,
    max_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    n: int = 1,
    stop: str | list[str] | None = None,
    desc: str = "requests",
    **params: Any,
) -> dict[Any, list[Completion]]:
    """Every id's completions (n each; a failed request gives [Completion("", error=...)]), in the order of `items`.

    Extra keyword arguments are generation parameters passed to the backend (e.g. seed=1, presence_penalty=0.5).
    """
    ids, prompts = _check_items(items)
    raw_file = Path(raw_file)
    done = _load_done(raw_file, dict(zip(ids, prompts, strict=True)))
    results = {i: [Completion.from_dict(c) for c in done[i].get("completions") or []] for i in ids if i in done}
    todo = [(i, p) for i, p in zip(ids, prompts, strict=True) if i not in done]
    _warn_other_model(backend, [done[i] for i in results], raw_file)
    gen = dict(max_tokens=max_tokens, temperature=temperature, top_p=top_p, n=n, stop=stop, **params)
    before = _stats(backend)
    started, failed = time.monotonic(), 0
    if todo:
        from tqdm.auto import tqdm

        answers = _iter_complete(backend, [p for _, p in todo], gen)
        bar = tqdm(total=len(ids), initial=len(results), desc=desc, unit="req", dynamic_ncols=True, mininterval=0.5)
        try:
            with JsonlAppender(raw_file) as out:
                for j, completions in answers:
                    rec_id, prompt = todo[j]
                    error = next((c.error for c in completions if not c.ok), None)
                    failed += error is not None
                    out.append({"id": rec_id, "prompt": prompt,
                                "completions": [] if error else [c.to_dict() for c in completions],
                                "error": error, "backend": getattr(backend, "name", type(backend).__name__),
                                "model": backend.model})
                    results[rec_id] = [Completion.failed(error)] if error else completions
                    bar.update(1)
                    bar.set_postfix(_postfix(backend, before, failed), refresh=False)
        finally:
            answers.close()
            bar.close()
    _summary(desc, backend, before, len(ids), len(ids) - len(todo), failed, time.monotonic() - started, raw_file)
    return {i: results[i] for i in ids}


def _check_items(items: Iterable[tuple[Any, Prompt]]) -> tuple[list, list]:
    ids, prompts, seen = [], [], set()
    for k, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise UserError(f"prompt item {k}: expected an (id, prompt) pair, got {item!r:.80}")
        rec_id, prompt = item
        if isinstance(rec_id, bool) or not isinstance(rec_id, (str, int)):
            raise UserError(f"prompt item {k}: the id must be a string or an integer, got {rec_id!r:.80}")
        if rec_id in seen:
            raise UserError(f"prompt item {k}: duplicate id {rec_id!r}")
        seen.add(rec_id)
        ids.append(rec_id)
        prompts.append(check_prompt(prompt))
    return ids, prompts


def _load_done(raw_file: Path, prompts: dict[Any, Prompt]) -> dict[Any, dict]:
    """Answered records already in raw_file (a torn last line is cut off); failed lines and answers to a prompt that
    has changed since are removed atomically, so their ids are asked again. Ids not in `prompts` are kept."""
    if not raw_file.exists():
        return {}
    with JsonlAppender(raw_file) as existing:
        records = list(existing.done.values())
    stale = [r for r in records if not r.get("error") and r.get("id") in prompts and r.get("prompt") != prompts[r["id"]]]
    dropped = {id(r) for r in stale}
    good = [r for r in records if not r.get("error") and id(r) not in dropped]
    if len(good) < len(records):
        write_jsonl(raw_file, good)
    if stale:
        print(f"note: {len(stale)} answers in {raw_file.name} were to other prompts; asking again", file=sys.stderr)
    return {r["id"]: r for r in good}


def _iter_complete(backend: Any, prompts: Sequence[Prompt], gen: dict) -> Iterator[tuple[int, list[Completion]]]:
    if hasattr(backend, "iter_complete"):
        yield from backend.iter_complete(prompts, **gen)
        return
    size = int(getattr(getattr(backend, "config", None), "batch_size", 8) or 8)  # a bare `complete` backend
    for start in range(0, len(prompts), size):
        for k, completions in enumerate(backend.complete(prompts[start:start + size], **gen)):
            yield start + k, completions


def _stats(backend: Any) -> dict:
    stats = getattr(backend, "stats", None)
    return stats.as_dict() if stats is not None else {}


def _postfix(backend: Any, before: dict, failed: int) -> dict:
    now = _stats(backend)
    out = {"failed": failed}
    for name in ("cached", "retries"):
        if name in now:
            out[name] = now[name] - before.get(name, 0)
    return out


def _summary(desc: str, backend: Any, before: dict, total: int, skipped: int, failed: int, seconds: float,
             raw_file: Path) -> None:
    now = _stats(backend)
    delta = {k: now[k] - before.get(k, 0) for k in now}
    answered = total - skipped
    rate = answered / seconds if seconds > 0 and answered else 0.0
    parts = [f"{total} ids", f"{skipped} already in {raw_file.name}", f"{answered - failed} answered"]
    if delta:
        parts.append(f"{delta['cached']} from cache, {delta['sent']} requests sent, {delta['retries']} retries")
    parts.append(f"{failed} failed")
    describe = getattr(backend, "describe", None)
    where = f"; {describe()}" if callable(describe) and answered else ""
    hint = " (rerun the same command to retry the failed ones)" if failed else ""
    print(f"{desc}: {', '.join(parts)}; {rate:.1f} req/s{where} -> {raw_file}{hint}", file=sys.stderr)


def _warn_other_model(backend: Any, records: list[dict], raw_file: Path) -> None:
    """Say so when answers kept from an earlier run were made by another model."""
    # the hf backend names base+adapter locally; an API backend's configured id (asking a server is not worth it here)
    model = getattr(getattr(backend, "config", None), "model", None) or (
        getattr(backend, "model", None) if getattr(backend, "name", "") == "hf" else None)
    others = sorted({str(r.get("model")) for r in records if r.get("model") not in (None, model)})
    if model and others:
        print(f"warning: answers in {raw_file} come from model(s) {', '.join(others)}, not {model}; "
              "use another raw file (or delete it) to start afresh", file=sys.stderr)
