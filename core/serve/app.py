"""Routes of the OpenAI-compatible server: /v1/models, /v1/chat/completions, /v1/completions (stream=true as SSE).

    python -c "from core.serve.app import create_app; help(create_app)"

Every error is an OpenAI-style JSON body `{"error": {"message", "type", "param", "code"}}` with a 4xx status for the
client's mistakes (400 bad JSON / fields / ranges / an invalid schema, 401 bad key, 404 unknown model or route, 413
body too large) and 500 without a traceback for ours. The API key check and the body size limit run before the body
is parsed. Structured outputs (`response_format`, `structured_outputs`, `kgllm`; core.serve.protocol) become one
core.decoding Constraint per request, checked before anything is generated, and every answer of the request keeps to
it (not cut at stop strings); /v1/models lists the modes the `kgllm` field takes. A client that disconnects (times
out) while its request waits or generates cancels it: the engine drops it rather than generate for nobody.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from core.serve import protocol as P
from core.serve.engine import Engine
from core.serve.guard import MAX_BODY_BYTES, Guard, error
from core.serve.jobs import ClientGone, EngineBusy, Params, PromptTooLong

log = logging.getLogger("core.serve")


class _ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def _parse(raw: bytes, model: type[BaseModel]) -> Any:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _ApiError(400, f"request body is not valid JSON ({exc})", code="invalid_json") from None
    if not isinstance(data, dict):
        raise _ApiError(400, "request body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise _ApiError(400, f"{where or 'body'}: {first.get('msg', 'invalid')}", param=where or None) from None


def _params(req: Any, engine: Engine, max_tokens: int | None) -> Params:
    limit = engine.max_tokens_limit
    value = engine.default_max_tokens if max_tokens is None else max_tokens
    if not 1 <= value <= limit:
        raise _ApiError(400, f"max_tokens must be between 1 and {limit} (got {value})", param="max_tokens")
    if getattr(req, "best_of", None) not in (None, 1):
        raise _ApiError(400, "best_of is not supported", param="best_of")
    if getattr(req, "echo", False):
        raise _ApiError(400, "echo is not supported", param="echo")
    return Params(max_new_tokens=value, temperature=float(req.temperature or 0.0),
                  top_p=float(req.top_p if req.top_p is not None else 1.0), n=req.n, stop=tuple(req.stop or ()))


def _constraint(req: Any) -> Any:
    """The core.decoding Constraint a request asks for (None: free); a 400 naming the field when it is invalid."""
    from core.decoding import constraint_for
    from core.decoding.spec import AnswerSpec, local_plan

    asked = [name for name in ("response_format", "structured_outputs", "kgllm") if getattr(req, name) is not None]
    if len(asked) > 1:
        raise _ApiError(400, f"give one of {' and '.join(asked)}, not both", param=asked[1])
    if not asked:
        return None
    param = asked[0]
    fmt, outputs = req.response_format, req.structured_outputs
    try:
        if req.kgllm is not None:
            answer = AnswerSpec.from_dict(req.kgllm.answer, "kgllm.answer") if req.kgllm.answer is not None else None
            constraint = local_plan(req.kgllm.decoding, answer)[0]
        elif fmt is not None and fmt.type == "json_schema":
            if fmt.json_schema is None or fmt.json_schema.schema_ is None:
                raise ValueError("response_format.json_schema.schema: missing")
            constraint = constraint_for("schema", schema=fmt.json_schema.schema_)
        elif fmt is not None:
            constraint = constraint_for("json") if fmt.type == "json_object" else None
        else:
            other = sorted(set(outputs) - {"json"})
            if other or not isinstance(outputs.get("json"), dict):
                raise ValueError(f"structured_outputs: this server takes only a JSON schema as `json` (got "
                                 f"{', '.join(other) or 'no json schema'})")
            constraint = constraint_for("schema", schema=outputs["json"])
        return constraint.validate() if constraint is not None else None
    except ValueError as exc:
        raise _ApiError(400, " ".join(str(exc).split())[:500], param=param, code="invalid_schema") from None


def _usage(outs: list[Any], n: int) -> P.Usage:
    prompt = sum(o.prompt_tokens for o in outs[::n])
    completion = sum(o.completion_tokens for o in outs)
    return P.Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def create_app(engine: Engine, api_key: str | None = None, model_name: str = "kgllm",
               max_body_bytes: int = MAX_BODY_BYTES):
    """A FastAPI app serving `engine` under the model id `model_name`; `api_key` set -> bearer token required."""
    app = FastAPI(title="kgllm OpenAI-compatible server", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(_ApiError)
    async def _api_error(_: Request, exc: _ApiError):
        return error(exc.status, exc.message, param=exc.param, code=exc.code)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException):
        return error(exc.status_code, str(exc.detail), code="not_found" if exc.status_code == 404 else None)

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception):
        log.exception("request failed")
        return error(500, f"internal error ({type(exc).__name__}); see the server log", type_="server_error")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "threads": engine.threads}

    @app.get("/v1/models")
    async def models() -> dict:
        card = P.ModelCard(id=model_name, chat_template=engine.chat_template, template=engine.template.name,
                           decoding=["free", "json", "schema"])
        return P.ModelList(data=[card]).model_dump()

    def check_model(name: str) -> None:
        if name != model_name:
            raise _ApiError(404, f"model '{name}' does not exist; this server serves '{model_name}'",
                            param="model", code="model_not_found")

    async def run(request: Request, prompts: list[str], params: Params, on_text: Any = None,
                  constraint: Any = None) -> list[Any]:
        """The engine's answers; while they are awaited, a client that disconnects (or a cancelled handler) cancels
        the job, so the engine drops it (or stops its batch) instead of generating for nobody."""
        try:
            future = engine.submit(prompts, params, on_text, constraints=[constraint] * len(prompts))
        except EngineBusy as exc:
            raise _ApiError(503, str(exc), code="server_busy") from None
        answers, gone = asyncio.wrap_future(future), asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait([answers, gone], return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when this handler is cancelled
            gone.cancel()
            abandoned = not answers.done()
            if abandoned:
                future.cancel()
                answers.cancel()
        if abandoned:
            raise _ApiError(499, "the client closed the connection", code="client_gone")
        try:
            return answers.result()
        except PromptTooLong as exc:
            raise _ApiError(400, str(exc), param="messages", code="context_length_exceeded") from None
        except (EngineBusy, ClientGone) as exc:
            raise _ApiError(503, str(exc), code="server_busy") from None

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        req = _parse(await request.body(), P.ChatRequest)
        check_model(req.model)
        params = _params(req, engine, req.max_tokens if req.max_completion_tokens is None
                         else req.max_completion_tokens)
        constraint = _constraint(req)
        prompt = engine.render_chat([m.model_dump() for m in req.messages])
        if req.stream:
            return await _stream(engine, functools.partial(run, request), [prompt], params, model_name, chat=True,
                                 constraint=constraint)
        outs = await run(request, [prompt], params, constraint=constraint)
        answer = engine.chat_answer if constraint is None else (lambda text: text)
        choices = [P.ChatChoice(index=j, message=P.AssistantMessage(content=answer(o.text)),
                                finish_reason=o.finish_reason) for j, o in enumerate(outs)]
        return P.ChatResponse(model=model_name, choices=choices, usage=_usage(outs, params.n)).model_dump()

    @app.post("/v1/completions")
    async def completions(request: Request):
        req = _parse(await request.body(), P.CompletionRequest)
        check_model(req.model)
        params = _params(req, engine, req.max_tokens)
        prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
        constraint = _constraint(req)
        if req.stream:
            return await _stream(engine, functools.partial(run, request), prompts, params, model_name, chat=False,
                                 constraint=constraint)
        outs = await run(request, prompts, params, constraint=constraint)
        choices = [P.CompletionChoice(index=k, text=o.text, finish_reason=o.finish_reason) for k, o in enumerate(outs)]
        return P.CompletionResponse(model=model_name, choices=choices, usage=_usage(outs, params.n)).model_dump()

    return Guard(app, api_key, max_body_bytes)


async def _disconnected(request: Request) -> None:
    """Returns once the client has gone (the ASGI server reports `http.disconnect`); the body is already read."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _stream(engine: Engine, run: Any, prompts: list[str], params: Params, model_name: str, chat: bool,
                  constraint: Any = None):
    """Server-sent events: text deltas as the batch generates, then each choice's finish_reason, then [DONE].

    The response starts with the first piece of text, so a request the engine refuses (prompt too long, busy) still
    gets its 4xx status instead of an event."""
    loop = asyncio.get_running_loop()
    updates: asyncio.Queue = asyncio.Queue()
    answer = engine.chat_answer if chat and constraint is None else (lambda text: text)
    sent = [""] * (len(prompts) * params.n)
    cid, created = P.new_id("chatcmpl" if chat else "cmpl"), P.now()

    def on_text(i: int, j: int, text: str) -> None:
        loop.call_soon_threadsafe(updates.put_nowait, (i * params.n + j, text))

    def event(index: int, delta: str | None, finish: str | None = None, first: bool = False) -> str:
        if chat:
            body: BaseModel = P.ChatChunk(id=cid, created=created, model=model_name, choices=[P.ChatChunkChoice(
                index=index, delta=P.Delta(role="assistant" if first else None, content=delta),
                finish_reason=finish)])
        else:
            body = P.CompletionResponse(id=cid, created=created, model=model_name, choices=[
                P.CompletionChoice(index=index, text=delta or "", finish_reason=finish)])
        return f"data: {body.model_dump_json(exclude_none=chat)}\n\n"

    def delta(index: int, text: str) -> str:
        shown = answer(text)
        if not shown.startswith(sent[index]) or shown == sent[index]:
            return ""
        new, sent[index] = shown[len(sent[index]):], shown
        return new

    task = asyncio.ensure_future(run(prompts, params, on_text, constraint))
    task.add_done_callback(lambda _: updates.put_nowait(None))
    first = await updates.get()
    if first is None and task.exception() is not None:
        raise task.exception()

    async def events():
        try:
            if chat:
                for index in range(len(sent)):
                    yield event(index, "", first=True)
            item = first
            while item is not None:
                if piece := delta(*item):
                    yield event(item[0], piece)
                item = await updates.get()
        finally:  # closed early (the client has gone): the job is not wanted any more, nor its error logged
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()
        try:
            outs = task.result()
        except _ApiError as exc:
            yield f"data: {json.dumps({'error': {'message': exc.message, 'type': 'invalid_request_error'}})}\n\n"
            return
        except Exception as exc:  # noqa: BLE001 - the stream is already open: report in-band
            log.exception("stream failed")
            yield f"data: {json.dumps({'error': {'message': type(exc).__name__, 'type': 'server_error'}})}\n\n"
            return
        for index, out in enumerate(outs):
            piece = delta(index, out.text)
            yield event(index, (piece or None) if chat else piece, finish=out.finish_reason)
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
