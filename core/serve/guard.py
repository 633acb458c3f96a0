"""ASGI middleware in front of the server's routes: the API key check and the body size limit, run before any body is
parsed; and the one OpenAI-style error body every route answers with.

    python -c "from core.serve.guard import error; print(error(404, 'no such model').body)"
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi.responses import JSONResponse

from core.serve import protocol as P

MAX_BODY_BYTES = 1_000_000


def error(status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
          code: str | None = None):
    body = P.ErrorResponse(error=P.ErrorBody(message=message, type=type_, param=param, code=code))
    return JSONResponse(body.model_dump(), status_code=status)


class Guard:
    """ASGI middleware: bearer-token check (when a key is set) and body size limit, before any parsing."""

    def __init__(self, app: Any, api_key: str | None, max_body_bytes: int):
        self.app, self.api_key, self.limit = app, api_key, max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.api_key and scope["path"].startswith("/v1"):
            token = headers.get("authorization", "")
            scheme, _, given = token.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.api_key.encode()):
                return await error(401, "missing or incorrect API key: send `Authorization: Bearer <key>`",
                                   code="invalid_api_key")(scope, receive, send)
        too_big = error(413, f"request body is larger than {self.limit} bytes", code="request_too_large")
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            return await too_big(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return await too_big(scope, receive, send)
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
