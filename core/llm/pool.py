"""N jobs in flight on daemon threads, results handed back in the caller's thread as they finish.

    python -c "from core.llm.pool import in_flight; print(sorted(in_flight([3, 1, 2], lambda i, x, stop: x * 10, 2, 'demo')))"

What the OpenAI-compatible backend (core.llm.openai_backend) uses to keep `--concurrency` requests open at once. The
threads are daemons, so Ctrl-C in the caller never waits for a hanging request; an exception raised by a job is raised
again in the caller's thread; leaving the loop (all done, an error, Ctrl-C, the generator closed) sets the `stop`
event every job is given, so no new job starts and a job waiting (a retry's backoff, a rate limit) can give up early.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def in_flight(items: Sequence[T], work: Callable[[int, T, threading.Event], Any], threads: int, name: str
              ) -> Iterator[tuple[int, Any]]:
    """Call `work(i, item, stop)` for every item on up to `threads` daemon threads named `name-k`; yield
    (i, result) in the order the jobs finish."""
    jobs: queue.Queue = queue.Queue()
    results: queue.Queue = queue.Queue()
    stop = threading.Event()
    for item in enumerate(items):
        jobs.put(item)

    def worker() -> None:
        while not stop.is_set():
            try:
                i, item = jobs.get_nowait()
            except queue.Empty:
                return
            try:
                out: Any = work(i, item, stop)
            except BaseException as exc:  # handed to the caller's thread
                out = exc
            results.put((i, out))

    # daemon threads: Ctrl-C in the caller never waits for a hanging request
    for k in range(min(threads, len(items))):
        threading.Thread(target=worker, name=f"{name}-{k}", daemon=True).start()
    try:
        for _ in range(len(items)):
            i, out = results.get()
            if isinstance(out, BaseException):
                raise out
            yield i, out
    finally:
        stop.set()
