"""Completion, the Backend base class (cache + counters around one `_generate` method) and the backend registry.

    python -c "from core.llm import LLMConfig, create_backend; print(create_backend(LLMConfig(base_url='http://127.0.0.1:8000/v1', model='m')))"

A backend answers a list of prompts. A prompt is a str (completion-style text) or a list of chat messages
`[{"role": "system"|"user"|"assistant", "content": str}]`. To add one, subclass Backend, implement `_generate`
(yield `(index, completions)` as each prompt finishes, in any order) and `register_backend("name", factory)`.

Constrained decoding (`LLMConfig.decoding` json | schema, docs/llm.md): the one way a prompt's answer constraint
reaches a backend is the generation parameter `answer_specs={prompt_key(prompt): AnswerSpec}` (core.decoding.spec;
core.pipeline builds it from the task, one spec per record). `iter_complete` takes it out of the parameters, puts
each prompt's spec (and the mode) into that prompt's cache key, and hands `_generate` the specs aligned with its
prompts as `params["answer_specs"]`. A backend records on every Completion the mode that produced it (`decoding`)
and, where that is not the mode asked for, why (`fallback`); both go to the raw file with the answer.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from core.errors import UserError
from core.llm.config import LLMConfig
from core.registry import Registry

Prompt = Union[str, list]  # noqa: UP007 (a runtime alias must work on Python 3.10)
SPECS = "answer_specs"  # the generation parameter that carries each prompt's answer constraint (see the docstring)


@dataclass
class Completion:
    """One answer: the raw text verbatim, why it stopped, token usage where given; `error` when the request failed;
    with constrained decoding asked for, the mode that produced it (`decoding`: free | json | schema) and why, if
    that is not the mode asked for (`fallback`)."""

    text: str
    finish_reason: str | None = None
    usage: dict | None = None
    error: str | None = None
    cached: bool = False
    decoding: str | None = None
    fallback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        out = {"text": self.text, "finish_reason": self.finish_reason, "usage": self.usage}
        if self.error is not None:
            out["error"] = self.error
        if self.decoding is not None:
            out["decoding"] = self.decoding
        if self.fallback is not None:
            out["fallback"] = self.fallback
        return out

    @classmethod
    def from_dict(cls, data: dict, cached: bool = False) -> Completion:
        return cls(str(data.get("text") or ""), data.get("finish_reason"), data.get("usage"), data.get("error"), cached,
                   data.get("decoding"), data.get("fallback"))

    @classmethod
    def failed(cls, error: str) -> Completion:
        return cls("", error=error)


@dataclass
class Stats:
    """Counters of one backend's life: requests sent, answers from the cache, failed prompts, retries."""

    sent: int = 0
    cached: int = 0
    failed: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict:
        return {"sent": self.sent, "cached": self.cached, "failed": self.failed, "retries": self.retries}


def messages_of(prompt: Prompt) -> list[dict]:
    """A prompt as chat messages: a str becomes one user message."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": str(m.get("role", "user")), "content": _text(m.get("content"))} for m in prompt]


def text_of(prompt: Prompt) -> str:
    """A prompt as completion text: chat messages are joined by blank lines."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(_text(m.get("content")) for m in prompt)


def _text(content: Any) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def check_prompt(prompt: Any) -> Prompt:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and all(isinstance(m, dict) and "content" in m for m in prompt):
        return prompt
    raise UserError(f"a prompt must be a string or a list of {{'role', 'content'}} messages, got {prompt!r:.80}")


def prompt_key(prompt: Prompt) -> str:
    """The key of a prompt in `answer_specs`: the text itself, or the chat messages as canonical JSON."""
    return prompt if isinstance(prompt, str) else json.dumps(prompt, ensure_ascii=False, sort_keys=True)


def clean_params(params: dict) -> dict:
    """Generation parameters in one canonical form (None dropped, stop as a list) for requests and cache keys."""
    out = {k: v for k, v in params.items() if v is not None}
    if isinstance(out.get("stop"), str):
        out["stop"] = [out["stop"]]
    if "stop" in out:
        out["stop"] = list(out["stop"]) or None
        if out["stop"] is None:
            del out["stop"]
    out.setdefault("n", 1)
    return out


class Backend(ABC):
    """Answers prompts. Subclasses implement `_generate`; this class adds the cache and the counters."""

    name: str = "backend"

    def __init__(self, config: LLMConfig):
        self.config = config
        self.stats = Stats()
        self._cache = None
        if not config.no_cache:
            from core.llm.cache import ResponseCache

            self._cache = ResponseCache(config.resolved_cache_dir())

    @property
    def model(self) -> str:
        """The model id recorded with every result and in every cache key."""
        return self.config.model or "default"

    def identity(self) -> dict:
        """What, besides prompt and parameters, decides the answers (goes into the cache key)."""
        return {"backend": self.name, "model": self.model}

    @property
    def endpoint(self) -> str | None:
        """How prompts reach the model: "chat" (messages, rendered by a chat/instruction template) or "completions"
        (text verbatim); None where a backend has no such choice. Run reports record it."""
        return None

    def describe(self) -> str:
        """One line for the progress bar / summary: how this backend sends requests."""
        return f"{self.name}:{self.model}"

    @abstractmethod
    def _generate(self, prompts: Sequence[Prompt], params: dict) -> Iterator[tuple[int, list[Completion]]]:
        """Yield (index into prompts, n completions) as each prompt finishes; a failed one gives [Completion.failed]."""

    @property
    def decoding(self) -> str:
        """The decoding mode asked for (LLMConfig.decoding): free, json or schema."""
        return getattr(self.config, "decoding", "free")

    def iter_complete(self, prompts: Sequence[Prompt], **params: Any) -> Iterator[tuple[int, list[Completion]]]:
        """Like `complete`, but yields (index, completions) as each finishes: cached answers first."""
        prompts = [check_prompt(p) for p in prompts]
        given = params.pop(SPECS, None) or {}
        params = clean_params(params)
        specs = [given.get(prompt_key(p)) for p in prompts] if self.decoding != "free" else [None] * len(prompts)
        todo, keys = [], {}
        ident = self.identity() if self._cache is not None else None
        for i, prompt in enumerate(prompts):
            hit = None
            if self._cache is not None:
                keyed = params
                if self.decoding != "free":  # the constraint decides the answer too
                    spec = specs[i].to_dict() if hasattr(specs[i], "to_dict") else specs[i]
                    keyed = {**params, "decoding": self.decoding, "answer": spec}
                keys[i] = self._cache.key(ident, prompt, keyed)
                hit = self._cache.get(keys[i])
            if hit is not None:
                self.stats.add(cached=1)
                yield i, [Completion.from_dict(c, cached=True) for c in hit]
            else:
                todo.append(i)
        if not todo:
            return
        if self.decoding != "free":
            params = {**params, SPECS: [specs[i] for i in todo]}
        for j, completions in self._generate([prompts[i] for i in todo], params):
            i = todo[j]
            if all(c.ok for c in completions):
                if self._cache is not None:
                    self._cache.put(keys[i], [c.to_dict() for c in completions], self.model)
            else:
                self.stats.add(failed=1)
            yield i, completions

    def complete(self, prompts: Sequence[Prompt], **params: Any) -> list[list[Completion]]:
        """n completions for each prompt, in prompt order; a failed request gives [Completion("", error=...)]."""
        out: list[list[Completion]] = [[] for _ in prompts]
        for i, completions in self.iter_complete(prompts, **params):
            out[i] = completions
        return out

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


_REGISTRY: Registry = Registry("backend")


def register_backend(name: str, factory: Callable[[LLMConfig], Backend]) -> Callable[[LLMConfig], Backend]:
    """Add a backend: `factory(config) -> Backend`. A name that is already taken is refused."""
    return _REGISTRY.add(name, factory)


def backend_names() -> list[str]:
    return sorted(_REGISTRY)


def create_backend(config: LLMConfig) -> Backend:
    """The backend `config.backend` names, built from the config."""
    if config.backend not in _REGISTRY:
        raise UserError(f"unknown backend '{config.backend}' (known: {', '.join(backend_names())})")
    return _REGISTRY[config.backend](config)
