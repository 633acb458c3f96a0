"""What the serving engine queues: a Job (prompts, Params, constraints, its JobFuture) and the errors a job can end
with (PromptTooLong, EngineBusy, ClientGone).

    python -c "from core.serve.jobs import Job, Params; print(Job(['Hi'], Params(max_new_tokens=4)).rows)"
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

from core.errors import UserError


class PromptTooLong(UserError):
    """Prompt tokens + max_tokens exceed the model's context window."""


class EngineBusy(RuntimeError):
    """The request queue is full (or the engine is closed)."""


class ClientGone(RuntimeError):
    """Every client of the batch had gone, so its generation was stopped (nobody waits for this answer)."""


class _Stop(Exception):
    """Raised inside generate (by the forward pre-hook) to stop a batch nobody waits for any more."""


class JobFuture(Future):
    """The future of one submitted job. `cancel()` drops a job still waiting; a job already generating cannot be
    cancelled alone, but is marked `abandoned`, and a batch whose jobs are all abandoned stops at its next token."""

    abandoned = False

    def cancel(self) -> bool:
        self.abandoned = True
        return super().cancel()


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
    future: JobFuture = field(default_factory=JobFuture)
    on_text: Callable[[int, int, str], None] | None = None  # (prompt index, sample index, text so far)
    constraints: list[Any] | None = None  # one core.decoding Constraint (or None: free) per prompt

    @property
    def rows(self) -> int:
        return len(self.prompts) * self.params.n
