"""Serve a local model (+ adapter) over an OpenAI-compatible HTTP API.

    python -m core.serve --base_model "$(python -m core.toy build llama)" --port 8000

Then any OpenAI client works, e.g. `OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused")`, or our own
`--backend openai --base_url http://127.0.0.1:8000/v1`. Binds 127.0.0.1 unless --host says otherwise; with
`--api_key_env VAR` every /v1 request must send `Authorization: Bearer $VAR` (the key is read from the environment
only). Chat messages are rendered with the template of core.loader's one rule (the adapter's recorded template, else
the tokenizer's chat template, else alpaca); /v1/models says which (`template`) and whether the model knows it
(`chat_template`: false only for the alpaca fallback), so `--chat auto` clients pick the right endpoint. The first
Ctrl-C stops it at once (waiting requests get a 503, the batch being generated stops; exit 130); `--threads N` sets
torch's CPU threads.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import EXIT_INTERRUPTED, UserError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PROG = "python -m core.serve"


def load_engine(base_model: str | None, lora_weights: str | None = None, *, bits: int | None = None,
                dtype: str = "auto", prompt_template_name: str | None = None, force_template: bool = False,
                **engine_options: Any) -> Any:
    """Load model (+ adapter) and its template with core.loader.load_for_inference and wrap them in an Engine."""
    from core.loader import load_for_inference
    from core.serve.engine import Engine, check_threads

    threads = engine_options.get("threads")
    check_threads(threads)
    if threads is not None:  # loading runs torch too; the engine sets it again in its worker thread
        import torch

        torch.set_num_threads(threads)
    loaded = load_for_inference(base_model or None, lora_weights or None, prompt_template_name or None,
                                force_template, bits=bits, dtype=dtype)
    return Engine(loaded.model, loaded.tokenizer, loaded.template, chat_template=loaded.knows_template,
                  **engine_options)


@dataclass
class ServeArgs:
    base_model: str = field(default="", metadata={
        "help": "base model folder or hub id; empty: $BASE_MODEL, else the base model the adapter recorded",
        "shown_default": "$BASE_MODEL, else the adapter's base model"})
    lora_weights: str = field(default="", metadata={
        "help": "adapter folder (LoRA or P-Tuning v2); its recorded template renders chat messages"})
    host: str = field(default="127.0.0.1", metadata={
        "help": "interface to bind; 127.0.0.1 is reachable from this machine only"})
    port: int = field(default=8000, metadata={
        "help": "TCP port (0 picks a free one; the URL printed at start-up has the real one)"})
    api_key_env: str = field(default="", metadata={
        "help": "name of an environment variable holding the API key clients must send", "shown_default": "no key"})
    model_name: str = field(default="", metadata={
        "help": "model id served at /v1/models and expected in requests",
        "shown_default": "the adapter's (or model's) folder name"})
    max_batch_size: int = field(default=16, metadata={"help": "most answers generated together in one batch"})
    max_wait_ms: float = field(default=5.0, metadata={
        "help": "how long the first request of a batch waits for others to join it"})
    default_max_tokens: int = field(default=256, metadata={"help": "max_tokens for requests that do not send one"})
    threads: int | None = field(default=None, metadata={
        "help": "CPU threads torch generates with (torch.set_num_threads); on a busy machine fewer can be faster",
        "shown_default": "torch's default ($OMP_NUM_THREADS, else one per core)"})
    bits: int | None = field(default=None, metadata={
        "help": "4 or 8 to load the base model quantized (bitsandbytes)", "shown_default": "not quantized"})
    dtype: str = field(default="auto", metadata={"help": "auto, bf16, fp16 or fp32"})
    prompt_template_name: str = field(default="", metadata={
        "help": "template for chat messages; another than the adapter's only together with --force_template",
        "shown_default": "the adapter's, else the tokenizer's chat template, else alpaca"})
    force_template: bool = field(default=False, metadata={
        "help": "use --prompt_template_name although the adapter recorded another template"})
    log_level: str = field(default="info", metadata={"help": "uvicorn log level",
                                                     "choices": ("critical", "error", "warning", "info", "debug")})


def main(**settings: Any) -> None:
    """Start the server (Ctrl-C stops it); `settings`: ServeArgs' fields (defaults for the rest)."""
    import uvicorn

    from core.flags import complete, flags_of
    from core.serve.app import create_app

    a = ServeArgs(**complete(flags_of(ServeArgs), settings, PROG))
    api_key = None
    if a.api_key_env:
        api_key = os.environ.get(a.api_key_env)
        if not api_key:
            raise UserError(f"--api_key_env {a.api_key_env}: that environment variable is empty or not set")
    base_model = a.base_model or os.environ.get("BASE_MODEL", "")
    lora_weights = a.lora_weights or ""
    name = a.model_name or Path(lora_weights or base_model).name or "kgllm"
    engine = load_engine(base_model, lora_weights, bits=a.bits, dtype=a.dtype,
                         prompt_template_name=a.prompt_template_name or None, force_template=a.force_template,
                         max_batch_size=a.max_batch_size, max_wait_ms=a.max_wait_ms,
                         default_max_tokens=a.default_max_tokens, threads=a.threads)
    sock = _bind(a.host, a.port)
    real_port = sock.getsockname()[1]
    shown = f"[{a.host}]" if ":" in a.host else a.host
    print(f"serving model '{name}' at http://{shown}:{real_port}/v1 (template {engine.template.name}, batch "
          f"{a.max_batch_size}, {'API key from $' + a.api_key_env if api_key else 'no API key'})", flush=True)
    if a.host not in LOOPBACK and not api_key:
        print(f"warning: --host {a.host} is reachable from other machines and no --api_key_env is set",
              file=sys.stderr)
    _log_to_stderr(a.log_level)

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            engine.shutdown()  # first Ctrl-C: waiting requests get a 503 now, the running batch stops
            await super().shutdown(sockets)

    server = Server(uvicorn.Config(create_app(engine, api_key=api_key, model_name=name), log_level=a.log_level,
                                   timeout_graceful_shutdown=5))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it stopped on
        print("server stopped", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        engine.close()


def _log_to_stderr(level: str) -> None:
    """core.serve's own messages (requests dropped, errors) in uvicorn's format and at its level."""
    import logging

    from uvicorn.logging import DefaultFormatter

    logger = logging.getLogger("core.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s", use_colors=False))
        logger.addHandler(handler)
    logger.setLevel(level.upper())


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    return sock


if __name__ == "__main__":
    from core.flags import flags_of, prog_name, run

    run(main, flags_of(ServeArgs), prog=prog_name(PROG), doc=__doc__)
