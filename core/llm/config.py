"""LLMConfig: which backend answers the prompts, and how (one dataclass, every field with help text).

    python -c "from core.llm import LLMConfig; print(LLMConfig.from_flags(backend='openai', concurrency=16, foo=1))"

The API key is never a field you should set: it comes from the environment (`OPENAI_API_KEY`). The deprecated
`api_key` field (DeepKE's 2023 `--api_key`/`-ak`, CodeKGC's config.json `openai_key`) is accepted, used for requests and
hidden from repr; nothing in core.llm writes it anywhere.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.decoding import DECODING_MODES
from core.errors import UserError
from core.flags_values import read_bool

BACKENDS_HELP = "openai (any OpenAI-compatible server: OpenAI, vLLM, core.serve) | hf (local model + optional adapter)"
STRUCTURED = ("auto", "openai", "vllm", "kgllm")


class ConfigError(UserError, ValueError):
    """A bad LLMConfig value: a one-line UserError for CLIs, a ValueError for library callers."""


@dataclass
class LLMConfig:
    backend: str = field(default="openai", metadata={"help": BACKENDS_HELP})
    model: str | None = field(default=None, metadata={
        "help": "model id for the API; None -> the first id from GET /v1/models of --base_url",
        "shown_default": "the server's first model"})
    base_url: str | None = field(default=None, metadata={
        "help": "OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1; None -> $OPENAI_BASE_URL or OpenAI",
        "shown_default": "$OPENAI_BASE_URL, else OpenAI"})
    chat: bool | None = field(default=None, metadata={
        "help": "True: /v1/chat/completions, False: /v1/completions, None (auto): what the server's /v1/models says "
                "(core.serve: chat when the model has a chat template or its adapter a recorded template), chat when "
                "it does not say. hf backend: True renders every prompt with the template, False sends it verbatim, "
                "None: chat when the template is the adapter's, --prompt_template_name or the tokenizer's own",
        "shown_default": "auto"})
    decoding: str = field(default="free", metadata={
        "help": "free: the model writes what it likes (the parser repairs what it can); json: any JSON object (the "
                "CCKS text format: any (h,r,t) list); schema: the task's answer schema for each record (relations "
                "and entity types from the allowed labels, heads/tails/words copied from the input; the CCKS text "
                "format likewise). hf backend and core.serve: enforced token by token; other servers: structured "
                "outputs (see --structured), else free with the reason recorded. See docs/llm.md",
        "choices": DECODING_MODES})
    structured: str = field(default="auto", metadata={
        "help": "openai backend, --decoding json|schema: how to ask the server. openai: response_format (JSON "
                "schema: relations/types as enums, no copy rule); vllm: structured_outputs (the CCKS text format as "
                "a grammar); kgllm: core.serve's own field (exactly the hf backend's constraint); auto: what "
                "/v1/models says (core.serve -> kgllm, vLLM -> vllm, else openai). A server that refuses is asked "
                "again free and the answer records why", "choices": STRUCTURED})
    concurrency: int = field(default=8, metadata={"help": "requests in flight at once (openai backend)"})
    timeout: float = field(default=60.0, metadata={"help": "seconds one HTTP request may take before it is retried"})
    max_retries: int = field(default=5, metadata={
        "help": "retries per request on 408 / 409 / 429 / 5xx / timeouts / connection errors; then the record is marked failed"})
    rpm: float | None = field(default=None, metadata={"help": "client-side limit: requests per minute (None: off)",
                                                       "shown_default": "off"})
    tpm: float | None = field(default=None, metadata={
        "help": "client-side limit: tokens per minute, prompt (~4 chars a token) + max_tokens * n (None: off)",
        "shown_default": "off"})
    backoff: float = field(default=1.0, metadata={
        "help": "first retry waits about this many seconds, doubling each retry (with jitter); Retry-After wins"})
    backoff_max: float = field(default=60.0, metadata={"help": "longest wait between two retries, in seconds"})
    cache_dir: str | None = field(default=None, metadata={
        "help": "on-disk response cache (sqlite); None -> $KGLLM_CACHE_DIR or ~/.cache/kgllm/llm",
        "shown_default": "$KGLLM_CACHE_DIR, else ~/.cache/kgllm/llm"})
    no_cache: bool = field(default=False, metadata={"help": "neither read nor write the response cache"})
    base_model: str | None = field(default=None, metadata={"help": "hf backend: base model folder or hub id"})
    lora_weights: str | None = field(default=None, metadata={
        "help": "hf backend: adapter folder (LoRA or P-Tuning); its recorded template renders the prompts"})
    bits: int | None = field(default=None, metadata={"help": "hf backend: load the base model in 4 or 8 bits"})
    dtype: str = field(default="auto", metadata={
        "help": "hf backend: auto (bf16/fp16 on a GPU, fp32 on CPU), bf16, fp16 or fp32"})
    batch_size: int = field(default=8, metadata={"help": "hf backend: prompts per generate call"})
    prompt_template_name: str | None = field(default=None, metadata={
        "help": "hf backend: prompt template (alpaca, chatglm, chat_template or a .json path); default: the "
                "adapter's, else the tokenizer's chat template, else alpaca; another than the adapter's needs "
                "--force_template", "shown_default": "the adapter's, else the tokenizer's chat template, else alpaca"})
    force_template: bool = field(default=False, metadata={
        "help": "hf backend: use --prompt_template_name although the adapter recorded another template"})
    api_key: str | None = field(default=None, repr=False, metadata={
        "help": "DEPRECATED: set OPENAI_API_KEY instead. Used for requests, never written anywhere"})

    def __post_init__(self) -> None:
        self.backend = str(self.backend).strip().lower()
        self.chat = _parse_bool(self.chat, "chat")
        self.no_cache = bool(_parse_bool(self.no_cache, "no_cache"))
        self.force_template = bool(_parse_bool(self.force_template, "force_template"))
        for name, choices in (("decoding", DECODING_MODES), ("structured", STRUCTURED)):
            value = str(getattr(self, name)).strip().lower()
            if value not in choices:
                raise ConfigError(f"--{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
            setattr(self, name, value)
        for name in ("concurrency", "max_retries", "batch_size"):
            _check_number(self, name, int, minimum=1 if name != "max_retries" else 0)
        for name in ("timeout", "backoff", "backoff_max"):
            _check_number(self, name, float, minimum=0.0, strict=name == "timeout")
        for name in ("rpm", "tpm"):
            if getattr(self, name) is not None:
                _check_number(self, name, float, minimum=0.0, strict=True)
        if self.bits is not None and self.bits not in (4, 8, 16, 32):
            raise ConfigError(f"--bits must be 4, 8, 16 or 32, got {self.bits!r}")
        if self.model is not None:
            self.model = str(self.model)

    @classmethod
    def from_flags(cls, **kwargs: Any) -> LLMConfig:
        """Build from a case's CLI kwargs: keys it does not know are ignored; `ak` is DeepKE's 2023 alias of api_key."""
        if "ak" in kwargs and not kwargs.get("api_key"):
            kwargs["api_key"] = kwargs["ak"]
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in kwargs.items() if k in names and v is not None})

    def resolved_cache_dir(self) -> Path:
        """Where the sqlite cache lives: --cache_dir, else $KGLLM_CACHE_DIR, else ~/.cache/kgllm/llm."""
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        env = os.environ.get("KGLLM_CACHE_DIR")
        return Path(env).expanduser() if env else Path.home() / ".cache" / "kgllm" / "llm"

    def to_dict(self) -> dict:
        """The settings as plain data, safe to save: the api_key is left out."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "api_key"}

    @classmethod
    def help(cls) -> dict[str, str]:
        """Field name -> help text (for a CLI's --help or the docs)."""
        return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def _parse_bool(value: Any, name: str) -> bool | None:
    """core.flags' rule for a yes/no value (core.flags_values.read_bool), with `auto` (chat's "the server decides")
    also meaning not set; a ConfigError, so a library caller can catch it as a ValueError."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    try:
        return read_bool(value, f"--{name}")
    except UserError as exc:
        raise ConfigError(str(exc)) from None


def _check_number(cfg: LLMConfig, name: str, typ: type, minimum: float, strict: bool = False) -> None:
    value = getattr(cfg, name)
    try:
        number = typ(value)
        if isinstance(value, bool) or (typ is int and float(value) != number):
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"--{name} must be a number, got {value!r}") from None
    if number < minimum or (strict and number == minimum):
        raise ConfigError(f"--{name} must be {'>' if strict else '>='} {minimum}, got {value!r}")
    setattr(cfg, name, number)
