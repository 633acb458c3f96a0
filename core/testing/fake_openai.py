"""FakeOpenAI: a real OpenAI-compatible HTTP server on 127.0.0.1 with scripted answers, for tests and benchmarks.

    python -c "from core.testing.fake_openai import FakeOpenAI; f = FakeOpenAI(lambda b: 'hi').start(); print(f.base_url); f.close()"

Serves GET /v1/models, POST /v1/chat/completions and POST /v1/completions (no streaming) in OpenAI's JSON shapes,
so the real `openai` client (and core.llm's retries, timeouts and rate limits) run unchanged against it::

    with FakeOpenAI(lambda body: "(A,rel,B)") as fake:
        cfg = LLMConfig(base_url=fake.base_url, model="fake", cache_dir=tmp_path / "cache")
        ...
        assert fake.count == 3                      # completion requests received
        assert FakeOpenAI.prompt_of(fake.requests[0]) == "..."

`responder(body) -> answer` decides each completion request (`body` is the parsed JSON request). The answer is:
- a str: the completion text (repeated for each of `n` choices);
- a list of str: one text per choice;
- a dict for anything else (all keys optional):
  `{"text": str | list[str], "status": 429, "headers": {"Retry-After": "1"}, "delay": 2.0,
    "finish_reason": "length", "usage": {...}, "error": "message", "body": <raw JSON to send instead>}`;
  a status >= 400 sends an OpenAI-style error object (`error` is its message); `delay` sleeps before answering
  (longer than the client's timeout = a hanging server);
- raising an exception sends HTTP 500 with the exception text.
The default responder echoes the prompt: `"echo: <prompt>"`.

Counters: `.requests` (JSON bodies of the completion requests, in arrival order), `.count` (their number),
`.paths` (every request's "METHOD /path", /v1/models included), `.headers` (each completion request's headers, names lowercased).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict], Any]
MAX_BODY = 16 * 1024 * 1024


class FakeOpenAI:
    def __init__(self, responder: Responder | None = None, models: tuple[str, ...] = ("fake-model",),
                 host: str = "127.0.0.1", port: int = 0):
        self.responder = responder or (lambda body: "echo: " + FakeOpenAI.prompt_of(body))
        self.models = list(models)
        self.requests: list[dict] = []
        self.paths: list[str] = []
        self.headers: list[dict] = []
        self._lock = threading.Lock()
        self._ids = 0
        self._sockets: set = set()
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    # ---- life cycle -------------------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="fake-openai", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and drop open connections (kept-alive ones included)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            try:
                sock.shutdown(2)
            except OSError:
                pass

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- what tests look at -------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def serve_forever(self, note: str = "") -> None:
        """Run in the foreground (a command-line server) until Ctrl-C, printing the URL first."""
        print(f"{type(self).__name__} serving {self.base_url} {note}".rstrip(), flush=True)
        try:
            self._server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.paths.clear()
            self.headers.clear()

    @staticmethod
    def prompt_of(body: dict) -> str:
        """The prompt of a request: `prompt` (completions) or the last user message's content (chat)."""
        if "messages" in body:
            users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
            content = users[-1].get("content") if users else ""
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return "" if content is None else str(content)
        prompt = body.get("prompt", "")
        return prompt[0] if isinstance(prompt, list) and prompt else str(prompt)

    # ---- answering ------------------------------------------------------------------------------------------------
    def _record(self, line: str, body: dict | None, headers: dict) -> None:
        with self._lock:
            self.paths.append(line)
            if body is not None:
                self.requests.append(body)
                self.headers.append(headers)
            self._ids += 1

    def _answer(self, path: str, body: dict) -> tuple[int, dict, dict, float]:
        """(status, JSON body, extra headers, delay) for one completion request."""
        try:
            answer = self.responder(body)
        except Exception as exc:  # the responder's failure is the server's failure
            return 500, _error(f"responder raised {type(exc).__name__}: {exc}", "server_error"), {}, 0.0
        if not isinstance(answer, dict):
            answer = {"text": answer}
        status = int(answer.get("status", 200))
        headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
        delay = float(answer.get("delay", 0.0))
        if "body" in answer:
            return status, answer["body"], headers, delay
        if status >= 400:
            kind = "rate_limit_exceeded" if status == 429 else "server_error" if status >= 500 else "invalid_request"
            return status, _error(str(answer.get("error") or answer.get("text") or f"fake error {status}"), kind), \
                headers, delay
        n = max(1, int(body.get("n") or 1))
        texts = answer.get("text", "")
        texts = [str(t) for t in texts] if isinstance(texts, (list, tuple)) else [str(texts)] * n
        reason = answer.get("finish_reason", "stop")
        chat = path.endswith("/chat/completions")
        usage = answer.get("usage") or {
            "prompt_tokens": len(self.prompt_of(body).split()),
            "completion_tokens": sum(len(t.split()) for t in texts),
        }
        usage.setdefault("total_tokens", usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
        choices = [
            {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": reason, "logprobs": None}
            if chat else {"index": i, "text": t, "finish_reason": reason, "logprobs": None}
            for i, t in enumerate(texts)
        ]
        with self._lock:
            rid = self._ids
        return 200, {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-fake{rid}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": body.get("model") or self.models[0],
            "choices": choices,
            "usage": usage,
        }, headers, delay


def _error(message: str, kind: str) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout) leaves a broken pipe: not news in a test


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers (the openai client pools connections)
    server: _Server

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms to each answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.fake._lock:
            self.server.fake._sockets.add(self.connection)

    def finish(self) -> None:
        with self.server.fake._lock:
            self.server.fake._sockets.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: Any, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        fake = self.server.fake
        fake._record(f"GET {self.path}", None, {})
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models]
            self._send(200, {"object": "list", "data": data})
        else:
            self._send(404, _error(f"no route GET {self.path}", "not_found"))

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self._send(413, _error("request body too large", "invalid_request"))
        raw = self.rfile.read(length)
        path = self.path.split("?", 1)[0].rstrip("/")
        if path not in ("/v1/chat/completions", "/v1/completions"):
            fake._record(f"POST {self.path}", None, {})
            return self._send(404, _error(f"no route POST {self.path}", "not_found"))
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            fake._record(f"POST {path}", None, {})
            return self._send(400, _error(f"request body is not a JSON object: {exc}", "invalid_request"))
        fake._record(f"POST {path}", body, {k.lower(): v for k, v in self.headers.items()})
        status, payload, headers, delay = fake._answer(path, body)
        if delay > 0:
            time.sleep(delay)
        try:
            self._send(status, payload, headers)
        except OSError:
            self.close_connection = True


@dataclass
class ServeArgs:
    port: int = field(default=0, metadata={"help": "port on 127.0.0.1 (0: any free one)"})
    delay: float = field(default=0.0, metadata={"help": "seconds before each answer"})
    text: str | None = field(default=None, metadata={"help": "the answer to every request",
                                                     "shown_default": "echo the prompt"})
    model: str = field(default="fake-model", metadata={"help": "the model id /v1/models lists"})


def main(argv: list[str] | None = None) -> None:
    """Serve until Ctrl-C: `python -m core.testing.fake_openai --port 8011 --delay 0.05 --text '(A,rel,B)'`."""
    from core.flags import flags_of, run

    run(_serve, flags_of(ServeArgs), argv, prog="python -m core.testing.fake_openai", doc=__doc__)


def _serve(port: int, delay: float, text: str | None, model: str) -> None:
    args = ServeArgs(port, delay, text, model)

    def respond(body: dict) -> dict:
        text = args.text if args.text is not None else "echo: " + FakeOpenAI.prompt_of(body)
        return {"text": text, "delay": args.delay}

    FakeOpenAI(respond, models=(args.model,), port=args.port).serve_forever(f"(model {args.model}); Ctrl-C to stop")


if __name__ == "__main__":
    main()
