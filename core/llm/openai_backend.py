"""OpenAI-compatible backend (OpenAI, vLLM, core.serve, ...): the real `openai` client, N requests in flight.

    python -c "from core.llm import LLMConfig, create_backend; print(create_backend(LLMConfig(base_url='http://127.0.0.1:8000/v1', model='m', chat=True)).describe())"

Chat or completions: `--chat true|false` decides; left out (auto), the server's /v1/models entry for the model
decides where it says (core.serve's `chat_template` field: true when the model has a chat template or its adapter
recorded a template), else chat. The model id is never guessed from (`endpoint` and `describe()` say what was used).

`--concurrency` requests are in flight at once, on core.llm.pool's daemon threads.

The client's own retries are off (max_retries=0): this module retries 429 / 408 / 409 / 5xx / timeouts / connection
errors itself, with exponential backoff and jitter, honouring Retry-After, and applies the client-side rpm / tpm
limits before every attempt. A prompt that still fails after `max_retries` retries gives `[Completion.failed(...)]`
and the run goes on; a refused API key (401/403), an unknown model/endpoint (404) or a server that never answered
(connection errors only, after all retries) stops the run with a UserError.

`--decoding json|schema`: each prompt's answer spec goes into the request body as `--structured` says
(core.llm.structured); a server that refuses is asked again free at once (so is every later prompt with that kind of
body), and the answer records `decoding: free` and the refusal (`fallback`).
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from core.errors import UserError
from core.llm.base import SPECS, Backend, Completion, Prompt, messages_of, text_of
from core.llm.config import LLMConfig
from core.llm.limits import TokenBucket, backoff_delay, estimate_tokens, retry_after
from core.llm.pool import in_flight
from core.llm.structured import body_kind, plan, refusal, server_kind

PLACEHOLDER_KEY = "EMPTY"  # what vLLM-style servers accept when they check no key
_DIRECT = ("max_tokens", "temperature", "top_p", "n", "stop", "seed", "presence_penalty", "frequency_penalty",
           "logit_bias", "user")
_RETRY_STATUS = (408, 409, 429)


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, config: LLMConfig):
        key = config.api_key or os.environ.get("OPENAI_API_KEY") or ""
        base_url = config.base_url or os.environ.get("OPENAI_BASE_URL") or None
        if not key.strip():
            if not base_url:
                raise UserError("set OPENAI_API_KEY, or --base_url for an OpenAI-compatible server")
            key = PLACEHOLDER_KEY
        self._secret = key if key != PLACEHOLDER_KEY else None
        super().__init__(config)
        from openai import OpenAI

        self.client = OpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=config.timeout)
        self.base_url = str(self.client.base_url)
        self._has_base_url = base_url is not None
        self._model = config.model
        self._model_lock = threading.Lock()
        self._listed: list[dict] | None = None  # the server's /v1/models entries, asked once
        self._reached = False  # has any request got an HTTP answer?
        self._rpm = TokenBucket(config.rpm) if config.rpm else None
        self._tpm = TokenBucket(config.tpm) if config.tpm else None
        self._refused: dict[str, str] = {}  # kind of structured-output body -> why the server refused it

    # ---- what we talk to -------------------------------------------------------------------------------------
    @property
    def model(self) -> str:
        if self._model is None:
            with self._model_lock:
                if self._model is None:
                    if not self._has_base_url:
                        raise UserError("pass --model (e.g. --model gpt-4o-mini); only a --base_url server is asked "
                                        "for its models")
                    ids = [m.get("id") for m in self._models(purpose="list")]
                    if not ids:
                        raise UserError(f"{self.base_url} lists no models: pass --model")
                    self._model = str(ids[0])
        return self._model

    def _models(self, purpose: str) -> list[dict]:
        """GET /v1/models once (retried while the server is starting up). `purpose` "list": any failure is a
        UserError; "card": an HTTP error means the server does not say (empty list)."""
        import openai

        if self._listed is not None:
            return self._listed
        for attempt in range(self.config.max_retries + 1):
            try:
                self._listed = [m.model_dump() for m in self.client.models.list(timeout=self.config.timeout).data]
                return self._listed
            except openai.APIConnectionError as exc:  # a server still starting up: wait as for any request
                if attempt == self.config.max_retries:
                    error = self._scrub(_one_line(exc))
                    if purpose == "card":
                        raise UserError(f"cannot reach {self.base_url} (connection error: {error}): is the server "
                                        "running?") from None
                    raise UserError(f"cannot list the models of {self.base_url}: {error}") from None
                time.sleep(backoff_delay(attempt, self.config.backoff, self.config.backoff_max))
            except openai.APIError as exc:
                if purpose == "card":
                    self._listed = []
                    return self._listed
                raise UserError(f"cannot list the models of {self.base_url}: {self._scrub(_one_line(exc))}") from None
        return []  # not reached

    def card(self) -> dict:
        """The server's /v1/models entry for this model ({} without --base_url or when it lists no such entry)."""
        if not self._has_base_url:
            return {}
        model = self.model
        with self._model_lock:
            entries = self._models(purpose="card")
        return next((m for m in entries if m.get("id") == model), {})

    @property
    def chat(self) -> bool:
        """--chat when given; else what the server says (core.serve's `chat_template` field); else chat."""
        if self.config.chat is not None:
            return self.config.chat
        said = self.card().get("chat_template")
        return said if isinstance(said, bool) else True

    @property
    def endpoint(self) -> str | None:
        """Which endpoint the prompts went to: "chat" (/v1/chat/completions) or "completions" (/v1/completions);
        None while --chat is auto and the server was not asked yet (nothing sent: every answer came from the cache)."""
        if self._undecided():
            return None
        return "chat" if self.chat else "completions"

    def _undecided(self) -> bool:
        return self.config.chat is None and self._has_base_url and self._listed is None

    def _why(self) -> str:
        if self.config.chat is not None:
            return "set by --chat"
        if self._undecided():
            return "auto, the server not asked yet"
        said = self.card().get("chat_template")
        if said is True:
            return "the server says the model has a chat template"
        if said is False:
            return "the server says the model has no chat template"
        return "the default: the server does not say"

    def identity(self) -> dict:
        # the server is part of it: two servers may serve different weights under one model id ("kgc", "llama");
        # chat as configured (None: the server's choice for this model), so a cached rerun asks the server nothing
        out = {"backend": self.name, "base_url": self.base_url, "model": self.model, "chat": self.config.chat}
        if self.decoding != "free":
            out["structured"] = self.config.structured
        return out

    @property
    def structured(self) -> str:
        """How constrained decoding is asked for: --structured, else what the server's /v1/models entry says."""
        return server_kind(self.config.structured, self.card() if self.config.structured == "auto" else {})

    def describe(self) -> str:
        c = self.config
        limits = "".join(f", {n} {v:g}" for n, v in (("rpm", c.rpm), ("tpm", c.tpm)) if v)
        limits += f", decoding {self.decoding} as {self.structured}" if self.decoding != "free" else ""
        return (f"openai:{self.model} @ {self.base_url} ({self.endpoint or 'endpoint'}: {self._why()}; concurrency "
                f"{c.concurrency}{limits}, timeout {c.timeout:g}s, retries {c.max_retries})")

    # ---- sending ----------------------------------------------------------------------------------------------
    def _generate(self, prompts: Sequence[Prompt], params: dict) -> Iterator[tuple[int, list[Completion]]]:
        self.model, self.chat  # noqa: B018 -- resolve model id and endpoint (and fail early) before starting threads
        specs = params.get(SPECS) or [None] * len(prompts)
        params = {k: v for k, v in params.items() if k != SPECS}

        def work(i: int, prompt: Prompt, stop: threading.Event) -> list[Completion]:
            return self._one(prompt, params, stop, specs[i])

        yield from in_flight(prompts, work, self.config.concurrency, "kgllm-openai")

    def _one(self, prompt: Prompt, params: dict, stop: threading.Event, spec: Any = None) -> list[Completion]:
        import openai

        kind = self.structured if self.decoding != "free" else ""  # free: the server is not asked about it
        body, decoding, fallback = plan(self.decoding, kind, spec, self._refused)
        attempt = 0
        while True:
            if not self._throttle(prompt, params, stop):
                return [Completion.failed("interrupted")]
            self.stats.add(sent=1)
            hint = None
            unreachable = False
            try:
                answers = self._request(prompt, params, body)
                self._reached = True
                for answer in answers:
                    answer.decoding, answer.fallback = decoding, fallback
                return answers
            except openai.APIStatusError as exc:
                self._reached = True
                status = exc.status_code
                if refusal(body, status, _status_message(exc)):  # ask free; say so once
                    fallback = self._scrub(f"the server refused {body_kind(body)} (HTTP {status}: "
                                           f"{_status_message(exc)}); asked free")
                    if self._refused.setdefault(body_kind(body), fallback) is fallback:
                        print(f"warning: {self.base_url}: {fallback}", file=sys.stderr)
                    body, decoding = {}, "free"
                    continue
                self._fatal(status, exc)
                retryable = status in _RETRY_STATUS or status >= 500
                hint = retry_after(exc.response.headers)
                error = f"HTTP {status}: {_status_message(exc)}"
            except openai.APITimeoutError:
                retryable, error = True, f"timed out after {self.config.timeout:g}s"
            except openai.APIConnectionError as exc:
                retryable, error, unreachable = True, f"connection error: {_one_line(exc)}", True
            except openai.APIError as exc:  # e.g. a response that is not valid JSON
                retryable, error = False, _one_line(exc)
            except (TypeError, AttributeError, KeyError, ValueError) as exc:  # JSON, but not a completion's shape
                retryable, error = False, f"malformed response: {_one_line(exc)}"
            if not retryable or attempt >= self.config.max_retries:
                if unreachable and not self._reached:  # nothing ever got through: the server is not there
                    raise UserError(f"cannot reach {self.base_url} ({self._scrub(error)}): is the server running?")
                note = f" (after {attempt} retries)" if attempt else ""
                return [Completion.failed(self._scrub(error + note))]
            delay = backoff_delay(attempt, self.config.backoff, self.config.backoff_max)
            if hint is not None:
                delay = hint + random.uniform(0, min(1.0, 0.1 * hint))
            self.stats.add(retries=1)
            attempt += 1
            if stop.wait(delay):
                return [Completion.failed("interrupted")]

    def _fatal(self, status: int, exc: Exception) -> None:
        if status in (401, 403):
            raise UserError(f"{self.base_url} refused the API key (HTTP {status}): set OPENAI_API_KEY to a valid key")
        if status == 404:
            endpoint = "chat/completions" if self.chat else "completions"
            hint = "; a completion-only model needs --chat false" if self.chat and self.config.chat is None else ""
            raise UserError(f"HTTP 404 from {self.base_url}{endpoint} for model '{self.model}': "
                            f"{self._scrub(_status_message(exc))} (check --model, --base_url and --chat{hint})")

    def _throttle(self, prompt: Prompt, params: dict, stop: threading.Event) -> bool:
        wait = 0.0
        if self._rpm is not None:
            wait = max(wait, self._rpm.acquire(1))
        if self._tpm is not None:
            wait = max(wait, self._tpm.acquire(self._estimate(prompt, params)))
        return not (wait > 0 and stop.wait(wait))

    @staticmethod
    def _estimate(prompt: Prompt, params: dict) -> int:
        return estimate_tokens(text_of(prompt), params.get("max_tokens"), params.get("n", 1))

    def _request(self, prompt: Prompt, params: dict, body: dict | None = None) -> list[Completion]:
        direct = {k: v for k, v in params.items() if k in _DIRECT}
        extra = {**{k: v for k, v in params.items() if k not in _DIRECT}, **(body or {})} or None
        common = dict(model=self.model, timeout=self.config.timeout, extra_body=extra, **direct)
        if self.chat:
            resp = self.client.chat.completions.create(messages=messages_of(prompt), **common)
            answers = [(c.index, c.message.content or "", c.finish_reason) for c in resp.choices]
        else:
            resp = self.client.completions.create(prompt=text_of(prompt), **common)
            answers = [(c.index, c.text or "", c.finish_reason) for c in resp.choices]
        usage = None
        if getattr(resp, "usage", None) is not None:
            usage = {k: v for k, v in resp.usage.model_dump().items() if isinstance(v, int)}
            if self._tpm is not None and "total_tokens" in usage:
                self._tpm.refund(self._estimate(prompt, params) - usage["total_tokens"])
        answers.sort(key=lambda a: a[0] or 0)
        # usage is per request: it goes on the first completion only, so sums over completions stay right
        return [Completion(text, reason, usage if k == 0 else None) for k, (_, text, reason) in enumerate(answers)]

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def close(self) -> None:
        super().close()
        self.client.close()


def _status_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and body.get("message"):
        return _one_line(body["message"])
    return _one_line(getattr(exc, "message", exc))


def _one_line(value: Any, limit: int = 300) -> str:
    text = " ".join(str(value).split()) or type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
