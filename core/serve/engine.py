"""The generation engine behind the server: one worker thread that batches concurrent requests into shared
`core.generate.generate` calls.

    python -c "from core.toy import build; from core.models import load_model_and_tokenizer as L; from core.templates import get_template; from core.serve.engine import Engine, Params; e = Engine(*L(str(build('llama'))), get_template('alpaca')); print(e.submit(['Hello'], Params(max_new_tokens=5)).result()); e.close()"

Requests wait in a queue. The worker takes the first one, collects whatever else arrives within `max_wait_ms` (up to
`max_batch_size` answers), groups them by generation parameters and runs one batched generate call per group; while
it runs, new requests queue up and go into the next batch. The model is only ever touched by the worker thread.
Requests with different constraints (core.decoding, one per prompt or None) share a batch: each row keeps its own.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

from core.errors import UserError


class PromptTooLong(UserError):
    """Prompt tokens + max_tokens exceed the model's context window."""


class EngineBusy(RuntimeError):
    """The request queue is full (or the engine is closed)."""


@dataclass(frozen=True)
class Params:
    """Generation parameters; requests with equal Params share a generate call."""

    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    n: int = 1
    stop: tuple[str, ...] = ()


@dataclass
class Job:
    prompts: list[str]
    params: Params
    future: Future = field(default_factory=Future)
    on_text: Callable[[int, int, str], None] | None = None  # (prompt index, sample index, text so far)
    constraints: list[Any] | None = None  # one core.decoding Constraint (or None: free) per prompt

    @property
    def rows(self) -> int:
        return len(self.prompts) * self.params.n


def context_length(model: Any, tokenizer: Any) -> int | None:
    """The model's context window in tokens, where the config or tokenizer says it."""
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "seq_length", "n_positions", "max_sequence_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    return value if isinstance(value, int) and 0 < value < 10**7 else None


class Engine:
    """Wraps (model, tokenizer, template); `submit()` is thread-safe and returns a Future of list[GenOutput]."""

    def __init__(self, model: Any, tokenizer: Any, template: Any, *, chat_template: bool | None = None,
                 max_batch_size: int = 16, max_wait_ms: float = 5.0, max_queue: int = 1024,
                 default_max_tokens: int = 256):
        if max_batch_size < 1:
            raise UserError(f"--max_batch_size must be >= 1 (got {max_batch_size})")
        self.model, self.tokenizer, self.template = model, tokenizer, template
        # does the model know the template chat messages are rendered with (reported by /v1/models)? Not told:
        # only when it is the tokenizer's own chat template
        self.chat_template = bool(template.needs_tokenizer) if chat_template is None else bool(chat_template)
        self.max_batch_size, self.max_wait = max_batch_size, max_wait_ms / 1000.0
        self.default_max_tokens = default_max_tokens
        self.context_length = context_length(model, tokenizer)
        self.max_tokens_limit = self.context_length or 4096
        self.batches = 0  # generate calls made (for tests and benchmarks)
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=max_queue)
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="kgllm-serve-engine", daemon=True)
        self._thread.start()

    def render_chat(self, messages: list[dict]) -> str:
        """Chat messages -> prompt text, with the template the adapter was trained with."""
        return self.template.render_messages(messages, self.tokenizer)

    def chat_answer(self, text: str) -> str:
        """The assistant message inside generated text (the template's response marker and whitespace removed)."""
        return self.template.response(text)

    def submit(self, prompts: list[str], params: Params, on_text: Callable[[int, int, str], None] | None = None,
               constraints: list[Any] | None = None) -> Future:
        if self._closed:
            raise EngineBusy("the engine is shut down")
        if constraints is not None and len(constraints) != len(prompts):
            raise ValueError(f"{len(constraints)} constraints for {len(prompts)} prompts")
        job = Job(list(prompts), params, on_text=on_text, constraints=constraints)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise EngineBusy("too many requests waiting; retry later") from None
        return job.future

    def close(self, timeout: float = 10.0) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs, rows = [first], first.rows
            deadline = time.monotonic() + self.max_wait
            stop = False
            while rows < self.max_batch_size:
                try:
                    job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
                rows += job.rows
            groups: dict[Params, list[Job]] = {}
            for job in jobs:
                if job.future.set_running_or_notify_cancel():
                    groups.setdefault(job.params, []).append(job)
            for params, group in groups.items():
                self._run(params, group)
            if stop:
                return

    def _check_length(self, job: Job) -> bool:
        if self.context_length is None:
            return True
        lengths = [len(ids) for ids in self.tokenizer(job.prompts)["input_ids"]]
        longest = max(lengths)
        if longest + job.params.max_new_tokens > self.context_length:
            job.future.set_exception(PromptTooLong(
                f"this model's context is {self.context_length} tokens, but the prompt is {longest} tokens and "
                f"max_tokens is {job.params.max_new_tokens}: shorten the prompt or lower max_tokens"))
            return False
        return True

    def _run(self, params: Params, jobs: list[Job]) -> None:
        from core.generate import generate

        jobs = [job for job in jobs if self._check_length(job)]
        if not jobs:
            return
        owner: list[tuple[Job, int]] = [(job, i) for job in jobs for i in range(len(job.prompts))]
        streaming = any(job.on_text for job in jobs)
        constraints = [job.constraints[i] if job.constraints else None for job, i in owner]

        def on_text(index: int, sample: int, text: str) -> None:
            job, local = owner[index]
            if job.on_text is not None:
                job.on_text(local, sample, text)

        try:
            outs = generate(self.model, self.tokenizer, [job.prompts[i] for job, i in owner],
                            batch_size=self.max_batch_size, max_new_tokens=params.max_new_tokens,
                            do_sample=params.temperature > 0, temperature=params.temperature or 1.0,
                            top_p=params.top_p, num_return_sequences=params.n, stop=list(params.stop),
                            progress=False, on_text=on_text if streaming else None,
                            constraints=constraints if any(c is not None for c in constraints) else None)
        except Exception as exc:  # noqa: BLE001 - every waiting request gets the error, the worker lives on
            for job in jobs:
                job.future.set_exception(exc)
            return
        finally:
            self.batches += 1
        start = 0
        for job in jobs:
            job.future.set_result(outs[start * params.n: (start + len(job.prompts)) * params.n])
            start += len(job.prompts)
