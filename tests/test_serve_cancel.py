"""core.serve when clients go away or the server is stopped: a request whose client has gone is dropped before it
is generated, a batch whose clients have all gone stops, the first Ctrl-C stops the server at once (exit 130), and
--threads reaches torch in the server process.

The toy model is made slow and endless on purpose (a forward hook sleeps STEP seconds per token and forbids EOS), so
a request for SLOW_TOKENS tokens takes SLOW_TOKENS * STEP seconds whatever the machine's load: the times asserted
below are far under what generating the abandoned requests would take.
"""

import http.client
import json
import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import openai  # noqa: E402
from openai import OpenAI  # noqa: E402

from core.serve.app import create_app  # noqa: E402
from core.testing.app_server import AppServer  # noqa: E402

STEP = 0.02  # seconds per generated token
SLOW_TOKENS = 100  # 2 s of generation per slow request


def slow_down(model, started=None):
    """A forward hook: every step sleeps STEP seconds and forbids EOS (so every answer has max_tokens tokens)."""
    eos = model.config.eos_token_id

    def hook(module, args, out):
        if started is not None:
            started.set()
        time.sleep(STEP)
        out.logits[..., eos] = float("-inf")

    return model.register_forward_hook(hook)


@pytest.fixture
def slow(toy_llama_path):
    """(server, engine, started): one request per batch, every token STEP seconds; `started` is set by the first
    forward step."""
    from core.serve.__main__ import load_engine

    engine = load_engine(str(toy_llama_path), max_batch_size=1, max_wait_ms=1)
    started = threading.Event()
    hook = slow_down(engine.model, started)
    server = AppServer(create_app(engine, model_name="toy"))
    yield server, engine, started
    server.stop()
    engine.close()
    hook.remove()


def test_requests_whose_clients_timed_out_are_not_generated_and_the_next_one_is_answered_at_once(slow, caplog):
    server, engine, started = slow
    caplog.set_level("INFO", logger="core.serve")
    impatient = OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=0.5)

    def give_up(prompt):
        with pytest.raises(openai.APITimeoutError):
            impatient.completions.create(model="toy", prompt=prompt, max_tokens=SLOW_TOKENS)

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(give_up, "a")  # generating when its client gives up
        assert started.wait(10)
        rest = [pool.submit(give_up, p) for p in "bcd"]  # waiting behind it when theirs do
        for f in [first, *rest]:
            f.result()
    t0 = time.monotonic()
    r = OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=30).completions.create(
        model="toy", prompt="e", max_tokens=3)
    took = time.monotonic() - t0
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 3
    # today's engine generates the four abandoned requests first: 4 * SLOW_TOKENS * STEP = 8 s
    assert took < 1.5, took
    assert (engine.generated, engine.dropped) == (1, 4)
    assert engine.stopped >= 1  # at least the first one stopped mid-generation
    said = [m for m in caplog.messages if "dropped in all" in m]
    assert said and said[-1].endswith("(4 dropped in all)"), caplog.messages
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]  # no request crashed


def test_a_stream_whose_client_hangs_up_stops_its_batch(slow, caplog):
    server, engine, started = slow
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = json.dumps({"model": "toy", "prompt": "a", "max_tokens": SLOW_TOKENS, "stream": True})
    conn.request("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read(6) == b"data: "  # streaming has begun
    conn.close()  # hang up after the first event
    t0 = time.monotonic()
    while engine.stopped == 0:
        assert time.monotonic() - t0 < SLOW_TOKENS * STEP / 2, "the batch went on generating for nobody"
        time.sleep(0.02)
    assert (engine.generated, engine.dropped, engine.stopped) == (0, 1, 1)
    time.sleep(0.2)
    import gc

    gc.collect()  # an abandoned task whose error nobody read would be logged now
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_threads_below_one_is_a_one_line_error(toy_llama_path):
    from core.errors import UserError
    from core.serve.__main__ import load_engine

    with pytest.raises(UserError, match=r"^--threads must be an integer >= 1 \(got 0\)$"):
        load_engine(str(toy_llama_path), threads=0)


def test_engine_without_threads_keeps_torchs_default(slow):
    import torch

    _, engine, _ = slow
    assert engine.threads == torch.get_num_threads()


def _post(port, max_tokens, results):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        body = json.dumps({"model": "toy", "prompt": "a", "max_tokens": max_tokens})
        conn.request("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        results.append((resp.status, json.loads(resp.read()), time.monotonic()))
    except OSError as exc:
        results.append((None, repr(exc), time.monotonic()))
    finally:
        conn.close()


def _health(port, deadline):
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/health")
            return json.loads(conn.getresponse().read())
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)
        finally:
            conn.close()


def test_first_ctrl_c_stops_a_busy_server_at_once_and_threads_reach_torch(toy_llama_path, monkeypatch, capsys):
    """`python -m core.serve`'s main() in this process (the main thread, as on the command line), its model slowed
    down; three requests of 4 s each are waiting or generating when one real SIGINT arrives."""
    import torch

    import core.serve.__main__ as cli

    bound, hooks, seen, results = [], [], {}, []
    bind, load = cli._bind, cli.load_engine
    monkeypatch.setattr(cli, "_bind", lambda host, port: bound.append(bind(host, port)) or bound[-1])

    def slow_engine(*args, **kwargs):
        engine = load(*args, **kwargs)
        hooks.append(slow_down(engine.model))
        return engine

    monkeypatch.setattr(cli, "load_engine", slow_engine)

    def clients():
        deadline = time.monotonic() + 60
        while not bound and time.monotonic() < deadline:
            time.sleep(0.05)
        port = bound[0].getsockname()[1] if bound else None
        seen["health"] = _health(port, deadline) if port else None
        if seen["health"] is None:
            return  # never up: no Ctrl-C to send
        posts = [threading.Thread(target=_post, args=(port, 2 * SLOW_TOKENS, results)) for _ in range(3)]
        for t in posts:
            t.start()
        time.sleep(0.5)  # the first is generating (4 s each), the other two wait
        seen["t0"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)
        for t in posts:
            t.join(30)

    helper = threading.Thread(target=clients, daemon=True)
    threads_before, logger = torch.get_num_threads(), logging.getLogger("core.serve")
    handlers_before, level_before = list(logger.handlers), logger.level
    helper.start()
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.main(base_model=str(toy_llama_path), port=0, model_name="toy", max_batch_size=1, threads=3,
                     log_level="warning")
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C escaped main()")
    finally:
        helper.join(30)
        torch.set_num_threads(threads_before)
        logger.handlers[:], logger.level = handlers_before, level_before
        for hook in hooks:
            hook.remove()
    assert seen["health"] == {"status": "ok", "threads": 3}
    assert stopped.value.code == 130 and capsys.readouterr().err.strip().splitlines()[-1] == "server stopped"
    # today's server goes on generating all three first: answers after 3.5, 7.5 and 11.5 s
    assert len(results) == 3 and max(t for _, _, t in results) - seen["t0"] < 2, results
    assert [status for status, _, _ in results] == [503] * 3, results
    assert all("shutting down" in body["error"]["message"] for _, body, _ in results)
