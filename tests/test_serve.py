"""core.serve: the real openai client on a real loopback port gets the memorised answers (chat, completions,
streaming); concurrent requests share generate calls; 200 bad requests in a row get the right 4xx and the server
still answers; the CLI prints its URL and binds loopback."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from openai import OpenAI  # noqa: E402

from core.serve.app import create_app  # noqa: E402
from core.serve.engine import Engine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KEY = "test-key-7f3a"


class Server:
    """uvicorn in a thread on a free loopback port."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


def chat_records():
    """The memorised records with the input folded into the instruction: a one-message chat renders (alpaca,
    no-input form) to exactly the prompt the adapter was trained on."""
    from core.testing.adapters import memorised_records

    return [{**r, "instruction": f"{r['instruction']}\n{r['input']}", "input": ""} for r in memorised_records()]


@pytest.fixture(scope="module")
def memorised():
    """(engine, records) for a LoRA adapter on the toy LLaMA that memorised chat_records()."""
    from core.serve.__main__ import load_engine
    from core.testing.adapters import memorised_adapter

    records = chat_records()
    engine = load_engine(None, str(memorised_adapter("llama", "lora", records=records)), max_batch_size=8,
                         max_wait_ms=20)
    yield engine, records
    engine.close()


@pytest.fixture(scope="module")
def served(memorised):
    engine, records = memorised
    server = Server(create_app(engine, api_key=KEY, model_name="kgc"))
    yield server, engine, records
    server.stop()


def client(server):
    return OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=60)


def messages(rec):
    return [{"role": "user", "content": rec["instruction"]}]


def prompt_of(engine, rec):
    return engine.template.render(rec["instruction"], rec["input"] or None)


def test_openai_client_gets_the_memorised_answers_through_chat(served):
    server, engine, records = served
    c = client(server)
    assert [m.id for m in c.models.list().data] == ["kgc"]
    for rec in records:
        assert engine.render_chat(messages(rec)) == prompt_of(engine, rec)
        r = c.chat.completions.create(model="kgc", messages=messages(rec), max_tokens=64, temperature=0)
        assert r.choices[0].message.content == rec["output"]
        assert r.choices[0].finish_reason == "stop" and r.usage.completion_tokens > 0


def test_openai_client_gets_the_memorised_answers_through_completions_and_streaming(served):
    server, engine, records = served
    c = client(server)
    prompts = [prompt_of(engine, r) for r in records]
    r = c.completions.create(model="kgc", prompt=prompts, max_tokens=64, temperature=0)
    assert [ch.text for ch in sorted(r.choices, key=lambda ch: ch.index)] == [rec["output"] for rec in records]
    assert r.usage.prompt_tokens > len(records)

    for prompt, rec in zip(prompts, records, strict=True):
        pieces = [ch.choices[0].text for ch in c.completions.create(model="kgc", prompt=prompt, max_tokens=64,
                                                                     stream=True)]
        assert "".join(pieces) == rec["output"] and len([p for p in pieces if p]) > 1


def test_streamed_chat_deltas_join_to_the_non_streamed_answer(served):
    server, engine, records = served
    c = client(server)
    for rec in records[:3]:
        msgs = messages(rec)
        whole = c.chat.completions.create(model="kgc", messages=msgs, max_tokens=64).choices[0].message.content
        chunks = list(c.chat.completions.create(model="kgc", messages=msgs, max_tokens=64, stream=True))
        assert chunks[0].choices[0].delta.role == "assistant"
        assert "".join(ch.choices[0].delta.content or "" for ch in chunks) == whole
        assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_concurrent_requests_share_generate_calls_and_get_their_own_answers(served):
    server, engine, records = served
    c = client(server)
    prompts = [prompt_of(engine, r) for r in records] * 2
    before = engine.batches
    with ThreadPoolExecutor(len(prompts)) as pool:
        texts = list(pool.map(lambda p: c.completions.create(model="kgc", prompt=p, max_tokens=64,
                                                             temperature=0).choices[0].text, prompts))
    assert texts == [r["output"] for r in records] * 2
    assert engine.batches - before < len(prompts)


def raw_request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


BAD = [
    ("POST", "/v1/chat/completions", b"{not json", True, 400),
    ("POST", "/v1/chat/completions", b"[1, 2]", True, 400),
    ("POST", "/v1/chat/completions", b'{"model": "kgc"}', True, 400),
    ("POST", "/v1/chat/completions", b'{"model": "kgc", "messages": []}', True, 400),
    ("POST", "/v1/chat/completions", b'{"model": "kgc", "messages": [{"role": "wizard", "content": "a"}]}', True, 400),
    ("POST", "/v1/chat/completions", b'{"model": "gpt-9", "messages": [{"role": "user", "content": "a"}]}', True, 404),
    ("POST", "/v1/chat/completions", b'{"model": "kgc", "messages": [{"role": "user", "content": "a"}], '
                                     b'"max_tokens": 0}', True, 400),
    ("POST", "/v1/chat/completions", b'{"model": "kgc", "messages": [{"role": "user", "content": "a"}], '
                                     b'"max_tokens": 100000000}', True, 400),
    ("POST", "/v1/chat/completions", b'{"model": "kgc", "messages": [{"role": "user", "content": "a"}], '
                                     b'"temperature": -1}', True, 400),
    ("POST", "/v1/completions", b'{"model": "kgc"}', True, 400),
    ("POST", "/v1/completions", b'{"model": "kgc", "prompt": [1, 2, 3]}', True, 400),
    ("POST", "/v1/completions", b'{"model": "kgc", "prompt": "a", "max_tokens": "many"}', True, 400),
    ("POST", "/v1/completions", b"\xff\xfe", True, 400),
    ("POST", "/v1/completions", b'{"model": "kgc", "prompt": "' + b"a" * 1_100_000 + b'"}', True, 413),
    ("POST", "/v1/chat/completions", b'{"model": "kgc", "messages": [{"role": "user", "content": "a"}]}', False, 401),
    ("GET", "/v1/models", None, False, 401),
    ("GET", "/v1/nothing", None, True, 404),
    ("GET", "/v1/chat/completions", None, True, 405),
]


def test_two_hundred_bad_requests_get_the_right_4xx_and_the_server_still_answers(served):
    server, engine, records = served
    seen = []
    for k in range(200):
        method, path, body, auth, status = BAD[k % len(BAD)]
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {KEY}"
        elif k % 2:
            headers["Authorization"] = "Bearer wrong-key"
        got, raw = raw_request(server.port, method, path, body, headers)
        error = json.loads(raw)["error"]
        assert got == status, (k, path, body[:80] if body else None, raw[:200])
        assert error["message"] and "Traceback" not in error["message"]
        seen.append(got)
    assert set(seen) == {400, 401, 404, 405, 413}
    rec = records[0]
    prompt = prompt_of(engine, rec)
    assert client(server).completions.create(model="kgc", prompt=prompt, max_tokens=64).choices[0].text == rec["output"]


def test_a_prompt_longer_than_the_context_is_a_400_even_when_streaming(served):
    server, engine, _ = served
    body = json.dumps({"model": "kgc", "prompt": "word " * 3000, "max_tokens": 16, "stream": True}).encode()
    got, raw = raw_request(server.port, "POST", "/v1/completions", body,
                           {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    assert got == 400 and json.loads(raw)["error"]["code"] == "context_length_exceeded"


def test_without_an_api_key_configured_no_token_is_needed(toy_llama_path):
    from core.models import load_model_and_tokenizer
    from core.templates import get_template

    engine = Engine(*load_model_and_tokenizer(str(toy_llama_path)), get_template("alpaca"))
    server = Server(create_app(engine, model_name="toy"))
    try:
        c = OpenAI(base_url=server.base_url, api_key="anything", max_retries=0)
        assert [m.id for m in c.models.list().data] == ["toy"]
        r = c.chat.completions.create(model="toy", messages=[{"role": "user", "content": "hi"}], max_tokens=3, n=2)
        assert len(r.choices) == 2 and r.choices[0].message.content == r.choices[1].message.content
        assert raw_request(server.port, "GET", "/health")[0] == 200
    finally:
        server.stop()
        engine.close()


def test_cli_prints_url_and_model_binds_loopback_and_requires_its_key(toy_llama_path, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "SERVE_TEST_KEY": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "core.serve", "--base_model", str(toy_llama_path), "--port", "0",
                             "--api_key_env", "SERVE_TEST_KEY", "--model_name", "toy", "--log_level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving model 'toy' at http://127.0.0.1:") and "API key from $SERVE_TEST_KEY" in line
        url = line.split(" at ", 1)[1].split()[0]
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = raw_request(port, "GET", "/v1/models")
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 401
        c = OpenAI(base_url=url, api_key=KEY, max_retries=0)
        assert [m.id for m in c.models.list().data] == ["toy"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


def test_cli_with_an_unset_key_variable_is_a_one_line_error(toy_llama_path):
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_KEY_VAR"}
    proc = subprocess.run([sys.executable, "-m", "core.serve", "--base_model", str(toy_llama_path),
                           "--api_key_env", "NO_SUCH_KEY_VAR"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == \
        "error: --api_key_env NO_SUCH_KEY_VAR: that environment variable is empty or not set"


@pytest.fixture(scope="module")
def base_engines(toy_llama_path, toy_glm_path):
    """Engines over the bare toy models, loaded the way `python -m core.serve --base_model ...` loads them: the toy
    GLM's tokenizer has a chat template, the toy LLaMA's has none (so its template is the alpaca fallback)."""
    from core.serve.__main__ import load_engine

    engines = {"glm": load_engine(str(toy_glm_path)), "llama": load_engine(str(toy_llama_path))}
    yield engines
    for engine in engines.values():
        engine.close()


def test_models_entry_says_whether_the_model_knows_its_chat_template(served, base_engines):
    server, _, _ = served
    [card] = client(server).models.list().data
    assert (card.id, card.model_extra["chat_template"], card.model_extra["template"]) == ("kgc", True, "alpaca")
    for kind, (knows, template) in {"glm": (True, "chat_template"), "llama": (False, "alpaca")}.items():
        app = create_app(base_engines[kind], model_name=kind)
        status, raw = _in_process(app, "/v1/models")
        assert status == 200
        assert [(m["chat_template"], m["template"]) for m in json.loads(raw)["data"]] == [(knows, template)]


def _in_process(app, path):
    from starlette.testclient import TestClient

    with TestClient(app) as http:
        resp = http.get(path)
        return resp.status_code, resp.content


@pytest.mark.parametrize("kind, endpoint", [("glm", "chat"), ("llama", "completions")])
def test_llm_backend_with_chat_auto_follows_what_the_server_says_not_the_model_name(base_engines, tmp_path,
                                                                                    monkeypatch, kind, endpoint):
    """Defect 4: a served model id containing `instruct` went to /v1/completions without its chat template. Now the
    server's /v1/models entry decides: a model with a chat template gets chat, one without gets completions."""
    from core.llm import LLMConfig, create_backend, run_prompts

    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    engine = base_engines[kind]
    name = f"toy-{kind}-135M-Instruct"
    server = Server(create_app(engine, model_name=name))
    try:
        backend = create_backend(LLMConfig(base_url=server.base_url, model=name, no_cache=True))
        msgs = [{"role": "user", "content": "Beijing is the capital of"}]
        results = run_prompts(backend, [(0, msgs)], tmp_path / "raw.jsonl", max_tokens=6)
        c = OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        by_chat = c.chat.completions.create(model=name, messages=msgs, max_tokens=6).choices[0].message.content
        by_text = c.completions.create(model=name, prompt=msgs[0]["content"], max_tokens=6).choices[0].text
    finally:
        server.stop()
    assert backend.endpoint == endpoint and by_chat != by_text
    assert results[0][0].text == (by_chat if endpoint == "chat" else by_text)
    says = "has a chat template" if endpoint == "chat" else "has no chat template"
    assert f"({endpoint}: the server says the model {says}" in backend.describe()
