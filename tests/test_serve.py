"""core.serve: the real openai client on a real loopback port gets the memorised answers (chat, completions,
streaming); concurrent requests share generate calls; 200 bad requests in a row get the right 4xx and the server
still answers; the CLI prints its URL and binds loopback."""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from openai import OpenAI  # noqa: E402

from core.serve.app import create_app  # noqa: E402
from core.serve.engine import Engine  # noqa: E402
from core.testing.app_server import AppServer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KEY = "test-key-7f3a"


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
    server = AppServer(create_app(engine, api_key=KEY, model_name="kgc"))
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
    server = AppServer(create_app(engine, model_name="toy"))
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
    server = AppServer(create_app(engine, model_name=name))
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


# ---- structured outputs (issue 17) -------------------------------------------------------------------------------
RELS = ["发源地", "流入", "located in"]
TRIPLES_FORMAT = {"type": "json_schema", "json_schema": {"name": "triples", "schema": {
    "type": "object", "required": ["output"], "additionalProperties": False, "properties": {"output": {
        "type": "array", "items": {"type": "array", "prefixItems": [
            {"type": "string"}, {"type": "string", "enum": RELS}, {"type": "string"}], "items": False}}}}}}


@pytest.fixture(scope="module")
def toy_server(toy_llama_path):
    """core.serve over the bare toy LLaMA (random weights: free answers are gibberish) on a loopback port."""
    from core.serve.__main__ import load_engine

    engine = load_engine(str(toy_llama_path), max_batch_size=8, max_wait_ms=50)
    server = AppServer(create_app(engine, model_name="toy"))
    yield server, engine
    server.stop()
    engine.close()


def test_response_format_through_the_openai_client_gives_only_parseable_answers(toy_server):
    server, _ = toy_server
    c = OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=60)
    free, schema = [], []
    for text in ["长江发源于青藏高原。", "Mount Everest is in Nepal.", "大熊猫生活在四川。"]:
        msgs = [{"role": "user", "content": f"{text}\n答案："}]
        free.append(c.chat.completions.create(model="toy", messages=msgs, max_tokens=40).choices[0].message.content)
        r = c.chat.completions.create(model="toy", messages=msgs, max_tokens=40, response_format=TRIPLES_FORMAT)
        schema.append(r.choices[0].message.content)
        streamed = c.chat.completions.create(model="toy", messages=msgs, max_tokens=40, stream=True,
                                             response_format=TRIPLES_FORMAT)
        assert "".join(ch.choices[0].delta.content or "" for ch in streamed) == schema[-1]
        r = c.completions.create(model="toy", prompt=f"{text}\n答案：", max_tokens=30,
                                 extra_body={"response_format": {"type": "json_object"}})
        assert isinstance(json.loads(r.choices[0].text), dict)
    assert sum(_loads(x) is not None for x in free) == 0
    for answer in schema:
        value = json.loads(answer)
        assert all(len(t) == 3 and t[1] in RELS for t in value["output"]), answer


def _loads(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


@pytest.mark.parametrize("extra, message", [
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {
        "type": "object", "properties": {"a": {"type": "strin"}}}}}}, "Invalid type: strin"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "a"}}}, "schema: missing"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {
        "type": "string", "x-kgllm": "cpy"}}}}, "unknown x-kgllm 'cpy'"),
    ({"response_format": {"type": "json_object"}, "kgllm": {"decoding": "json"}}, "not both"),
    ({"structured_outputs": {"grammar": "start: \"a\""}}, "takes only a JSON schema"),
    ({"kgllm": {"decoding": "schema", "answer": {"format": "xml"}}}, "kgllm.answer.format"),
])
def test_an_invalid_schema_is_an_openai_style_400_and_the_server_goes_on(toy_server, extra, message):
    import openai

    server, _ = toy_server
    c = OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=60)
    with pytest.raises(openai.BadRequestError) as caught:
        c.completions.create(model="toy", prompt="x", max_tokens=8, extra_body=extra)
    error = caught.value.body
    assert message in error["message"] and error["type"] == "invalid_request_error"
    assert error["param"] in ("response_format", "structured_outputs", "kgllm")
    assert c.completions.create(model="toy", prompt="x", max_tokens=3).choices[0].text is not None


def _ccks_plan():
    from core.tasks import get_task

    task = get_task("ccks")
    sentences = [("长江发源于青藏高原，流入东海。", ["发源地", "流入"]), ("Mount Everest is in Nepal.", ["located in"]),
                 ("《红楼梦》是曹雪芹创作的小说。", ["作者", "类型"]), ("大熊猫生活在四川，以竹子为食。", ["食物", "分布"])]
    records = [task.check({"id": i, "instruction": f"已知候选的关系列表：{rels}，请抽取三元组。", "input": text}, "x", i + 1)
               for i, (text, rels) in enumerate(sentences)]
    return task, records, [(r["id"], f"{r['instruction']}\n输入：{r['input']}\n输出：") for r in records]


def _pipeline(backend, tmp_path, name):
    from core.pipeline import RunFiles, run

    task, records, items = _ccks_plan()
    with backend:
        return run(task, records, items, backend, RunFiles.beside(tmp_path / f"{name}.jsonl"), language="cn",
                   max_tokens=40, stop=["\n"])


def test_our_backend_against_core_serve_gets_exactly_the_local_schema_answers(toy_server, toy_llama_path, tmp_path,
                                                                            monkeypatch):
    """--structured auto finds core.serve's `kgllm` field, so a served run is constrained exactly as a local one:
    copied heads/tails, allowed relations, the same answers, through core.pipeline (batched by the server)."""
    from core.llm import LLMConfig, create_backend
    from core.parsing.ccks_instruction import relations_from_instruction

    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    server, engine = toy_server
    local = _pipeline(create_backend(LLMConfig(backend="hf", base_model=str(toy_llama_path), no_cache=True,
                                               decoding="schema")), tmp_path, "local")
    backend = create_backend(LLMConfig(base_url=server.base_url, no_cache=True, decoding="schema"))
    before = engine.batches
    served = _pipeline(backend, tmp_path, "served")
    assert backend.structured == "kgllm" and engine.batches - before < len(served.pairs)
    assert "decoding schema as kgllm" in backend.describe()
    assert [p.raw for _, p in served.pairs] == [p.raw for _, p in local.pairs]
    assert served.metrics["decoding"] == {"schema": {"answers": 4, "parsed": 4, "valid": 4, "parse_rate": 1.0}}
    for rec, parsed in served.pairs:
        assert parsed.pred and parsed.decoding == "schema"
        assert all(r in relations_from_instruction(rec["instruction"]) and h in rec["input"] and t in rec["input"]
                   for h, r, t in parsed.pred)


def test_a_server_that_refuses_the_grammar_is_asked_free_and_the_report_says_so(toy_server, tmp_path, monkeypatch):
    """The CCKS text format goes to a vLLM-kind server as a grammar; core.serve takes only JSON schemas there, so it
    answers 400 and our backend asks again free: every answer records the refusal, the report counts them free."""
    from core.llm import LLMConfig, create_backend

    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    server, _ = toy_server
    backend = create_backend(LLMConfig(base_url=server.base_url, no_cache=True, decoding="schema",
                                       structured="vllm", concurrency=1))
    result = _pipeline(backend, tmp_path, "refused")
    assert set(result.metrics["decoding"]) == {"free"}
    raw = [json.loads(x) for x in (tmp_path / "refused.raw.jsonl").read_text(encoding="utf-8").splitlines()]
    reasons = {r["completions"][0]["fallback"] for r in raw}
    assert len(reasons) == 1 and "refused structured_outputs grammar (HTTP 400" in reasons.pop()
