"""Request and response bodies of the OpenAI-compatible API (pydantic models only; routes live in app.py).

    python -c "from core.serve.protocol import ChatRequest; print(ChatRequest(model='m', messages=[{'role': 'user', 'content': 'hi'}]))"

Requests accept the fields OpenAI clients send and ignore the ones we do not use (`seed`, `user`, `logprobs`, ...);
a field we cannot honour with a value that changes the answer (`echo`, `best_of` > 1, token-id prompts) is refused.
Structured outputs (both endpoints): OpenAI's `response_format` (`text`, `json_object`, `json_schema`), vLLM's
`structured_outputs` (`json` only) and our own `kgllm` (`{"decoding": "json"|"schema", "answer": AnswerSpec}`: the
constraint core.llm's hf backend would apply, copy-from-input included); at most one of them per request.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class JsonSchemaFormat(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str = "answer"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class KgllmDecoding(BaseModel):
    """core.serve's own structured-output field: a decoding mode and a core.decoding AnswerSpec (as a dict)."""

    model_config = ConfigDict(extra="forbid")

    decoding: Literal["free", "json", "schema"]
    answer: dict[str, Any] | None = None


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    max_tokens: int | None = Field(default=None, description="longest answer in tokens (server default if omitted)")
    temperature: float | None = Field(default=None, ge=0, le=2, description="0 or omitted: greedy; > 0 samples")
    top_p: float | None = Field(default=None, gt=0, le=1)
    n: int = Field(default=1, ge=1, le=16, description="answers per prompt")
    stop: str | list[str] | None = None
    stream: bool = False
    response_format: ResponseFormat | None = None
    structured_outputs: dict[str, Any] | None = None
    kgllm: KgllmDecoding | None = None

    @field_validator("stop")
    @classmethod
    def _stop_list(cls, value: str | list[str] | None) -> list[str] | None:
        if value is None:
            return None
        stops = [value] if isinstance(value, str) else value
        if len(stops) > 4:
            raise ValueError("at most 4 stop sequences")
        return [s for s in stops if s]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(_Request):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = None


class CompletionRequest(_Request):
    prompt: str | list[str]
    echo: bool = False
    best_of: int | None = None

    @field_validator("prompt")
    @classmethod
    def _some_prompt(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("prompt list is empty")
        return value


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: str | None
    logprobs: None = None


class ChatResponse(BaseModel):
    id: str = Field(default_factory=lambda: new_id("chatcmpl"))
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=now)
    model: str
    choices: list[ChatChoice]
    usage: Usage


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChatChunkChoice(BaseModel):
    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: None = None


class ChatChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChatChunkChoice]


class CompletionChoice(BaseModel):
    index: int
    text: str
    finish_reason: str | None
    logprobs: None = None


class CompletionResponse(BaseModel):
    id: str = Field(default_factory=lambda: new_id("cmpl"))
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=now)
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=now)
    owned_by: str = "kgllm"
    chat_template: bool | None = Field(default=None, description=(
        "true: /v1/chat/completions renders messages with a template this model knows (its tokenizer's chat "
        "template, its adapter's recorded template, or one chosen explicitly); false: only the alpaca fallback, "
        "send text to /v1/completions. core.llm's --chat auto follows it"))
    template: str | None = Field(default=None, description="the template chat messages are rendered with")
    decoding: list[str] | None = Field(default=None, description=(
        "the decoding modes the `kgllm` request field takes (core.llm's --structured auto sends it when listed)"))


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
