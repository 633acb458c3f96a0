"""The generation engine behind the server: one worker thread that batches concurrent requests into shared
`core.generate.generate` calls.

    python -c "from core.toy import build; from core.models import load_model_and_tokenizer as L; from core.templates import get_template; from core.serve.engine import Engine; from core.serve.jobs import Params; e = Engine(*L(str(build('llama'))), get_template('alpaca')); print(e.submit(['Hello'], Params(max_new_tokens=5)).result()); e.close()"

Requests wait in a queue. The worker takes the first one, collects whatever else arrives within `max_wait_ms` (up to
`max_batch_size` answers), groups them by generation parameters and runs one batched generate call per group; while
it runs, new requests queue up and go into the next batch. The model is only ever touched by the worker thread.
Requests with different constraints (core.decoding, one per prompt or None) share a batch: each row keeps its own.

A request whose client has gone cancels its future (core.serve.app does, on a disconnect or a cancelled handler): a
waiting job is then dropped before it is generated, and a batch whose jobs are all cancelled stops at its next token
(a forward pre-hook on the input embeddings raises); `dropped` counts both, and the log says how many. `shutdown()`
(the server's first Ctrl-C) fails every waiting job with EngineBusy and stops the batch being generated.
`threads` sets torch's CPU thread count (torch.set_num_threads) in the worker thread, which does the generating.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import InvalidStateError
from typing import Any, Callable

from core.errors import UserError
from core.flags_values import check_int
from core.serve.jobs import ClientGone, EngineBusy, Job, JobFuture, Params, PromptTooLong, _Stop

log = logging.getLogger("core.serve")


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
    """Wraps (model, tokenizer, template); `submit()` is thread-safe and returns a JobFuture of list[GenOutput]."""

    def __init__(self, model: Any, tokenizer: Any, template: Any, *, chat_template: bool | None = None,
                 max_batch_size: int = 16, max_wait_ms: float = 5.0, max_queue: int = 1024,
                 default_max_tokens: int = 256, threads: int | None = None):
        if max_batch_size < 1:
            raise UserError(f"--max_batch_size must be >= 1 (got {max_batch_size})")
        check_threads(threads)
        self.model, self.tokenizer, self.template = model, tokenizer, template
        # does the model know the template chat messages are rendered with (reported by /v1/models)? Not told:
        # only when it is the tokenizer's own chat template
        self.chat_template = bool(template.needs_tokenizer) if chat_template is None else bool(chat_template)
        self.max_batch_size, self.max_wait = max_batch_size, max_wait_ms / 1000.0
        self.default_max_tokens = default_max_tokens
        self.context_length = context_length(model, tokenizer)
        self.max_tokens_limit = self.context_length or 4096
        # counters (for tests, benchmarks and the log): generate calls made, prompts answered, requests dropped
        # because their client had gone (before or during generation), batches stopped because all had gone
        self.batches = self.generated = self.dropped = self.stopped = 0
        self._unlogged = 0  # dropped before generation, not yet in the log
        self.threads: int | None = None  # torch's thread count in the worker thread, once it has started
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=max_queue)
        self._closed = False
        started = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(threads, started), name="kgllm-serve-engine",
                                        daemon=True)
        self._thread.start()
        started.wait()

    def render_chat(self, messages: list[dict]) -> str:
        """Chat messages -> prompt text, with the template the adapter was trained with."""
        return self.template.render_messages(messages, self.tokenizer)

    def chat_answer(self, text: str) -> str:
        """The assistant message inside generated text (the template's response marker and whitespace removed)."""
        return self.template.response(text)

    def submit(self, prompts: list[str], params: Params, on_text: Callable[[int, int, str], None] | None = None,
               constraints: list[Any] | None = None) -> JobFuture:
        if self._closed:
            raise EngineBusy("the server is shutting down")
        if constraints is not None and len(constraints) != len(prompts):
            raise ValueError(f"{len(constraints)} constraints for {len(prompts)} prompts")
        job = Job(list(prompts), params, on_text=on_text, constraints=constraints)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise EngineBusy("too many requests waiting; retry later") from None
        return job.future

    def shutdown(self) -> None:
        """Stop now, without waiting: refuse new jobs, fail the waiting ones (EngineBusy), stop the running batch."""
        if self._closed:
            return
        self._closed = True
        failed = 0
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                failed += self._fail(job, EngineBusy("the server is shutting down"))
        if failed:
            log.info("shutting down: %d waiting request(s) cancelled", failed)
        try:
            self._queue.put_nowait(None)
        except queue.Full:  # the worker is taking jobs out as well: it sees _closed
            pass

    def close(self, timeout: float = 10.0) -> None:
        self.shutdown()
        self._thread.join(timeout)

    @staticmethod
    def _fail(job: Job, exc: Exception) -> int:
        try:
            if not job.future.done():
                job.future.set_exception(exc)
                return 1
        except InvalidStateError:  # cancelled by its client meanwhile
            pass
        return 0

    def _keep(self, job: Job) -> bool:
        """Whether `job` still needs an answer: not when the engine is closing (it fails) or its client has gone."""
        if self._closed:
            self._fail(job, EngineBusy("the server is shutting down"))
            return False
        if job.future.abandoned:
            self.dropped += 1
            self._unlogged += 1
            return False
        return True

    def _log_drops(self) -> None:
        if self._unlogged:
            log.info("dropped %d request(s) whose client had gone before generation (%d dropped in all)",
                     self._unlogged, self.dropped)
            self._unlogged = 0

    def _work(self, threads: int | None, started: threading.Event) -> None:
        import torch

        if threads is not None:
            torch.set_num_threads(threads)
        self.threads = torch.get_num_threads()
        started.set()
        while True:
            first = self._queue.get()
            if first is None:
                return
            if not self._keep(first):
                if self._queue.empty():
                    self._log_drops()
                continue
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
                if self._keep(job):
                    jobs.append(job)
                    rows += job.rows
            groups: dict[Params, list[Job]] = {}
            for job in jobs:
                if not self._keep(job):
                    continue
                if job.future.set_running_or_notify_cancel():
                    groups.setdefault(job.params, []).append(job)
                else:  # cancelled since it was taken
                    self.dropped += 1
                    self._unlogged += 1
            self._log_drops()
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

        def check(*_: Any) -> None:  # before every forward step: is anyone still waiting?
            if self._closed or all(job.future.abandoned for job in jobs):
                raise _Stop

        hook = _step_module(self.model).register_forward_pre_hook(check)
        try:
            outs = generate(self.model, self.tokenizer, [job.prompts[i] for job, i in owner],
                            batch_size=self.max_batch_size, max_new_tokens=params.max_new_tokens,
                            do_sample=params.temperature > 0, temperature=params.temperature or 1.0,
                            top_p=params.top_p, num_return_sequences=params.n, stop=list(params.stop),
                            progress=False, on_text=on_text if streaming else None,
                            constraints=constraints if any(c is not None for c in constraints) else None)
        except _Stop:
            if self._closed:
                for job in jobs:
                    self._fail(job, EngineBusy("the server is shutting down"))
                return
            self.dropped += len(jobs)
            self.stopped += 1
            log.info("stopped a batch of %d request(s): all their clients had gone (%d dropped in all)",
                     len(jobs), self.dropped)
            for job in jobs:
                self._fail(job, ClientGone("the client has gone"))
            return
        except Exception as exc:  # noqa: BLE001 - every waiting request gets the error, the worker lives on
            for job in jobs:
                self._fail(job, exc)
            return
        finally:
            hook.remove()
            self.batches += 1
        self.generated += len(owner)  # before the answers go out, so a client that has one sees it counted
        start = 0
        for job in jobs:
            job.future.set_result(outs[start * params.n: (start + len(job.prompts)) * params.n])
            start += len(job.prompts)


def check_threads(threads: int | None) -> None:
    if threads is not None:
        check_int("threads", threads)


def _step_module(model: Any) -> Any:
    """A module every forward step of generate calls first: the input embeddings (also under a peft wrapper)."""
    get = getattr(model, "get_input_embeddings", None)
    module = get() if callable(get) else None
    return module if module is not None else model
