"""core.llm against a real loopback server (core.testing.fake_openai): retries, timeouts, failures, cache, endpoints."""

import json
import threading
import time

import pytest

from core.errors import UserError
from core.llm import Completion, ConfigError, LLMConfig, create_backend, register_backend, run_prompts
from core.llm.limits import TokenBucket, backoff_delay, retry_after
from core.testing.fake_openai import FakeOpenAI

KEY = "sk-kgllm-test-dummy"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def make(fake, tmp_path, **kw):
    kw.setdefault("model", "fake")
    kw.setdefault("cache_dir", str(tmp_path / "cache"))
    kw.setdefault("backoff", 0.01)
    return create_backend(LLMConfig(backend="openai", base_url=fake.base_url, **kw))


def lines(path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def scripted(*answers):
    """Responder giving the answers in order, then the last one forever (thread-safe)."""
    queue, lock = list(answers), threading.Lock()

    def respond(body):
        with lock:
            return queue.pop(0) if len(queue) > 1 else queue[0]

    return respond


# ---- faults ------------------------------------------------------------------------------------------------------
def test_429_with_retry_after_waits_that_long_then_succeeds(tmp_path):
    with FakeOpenAI(scripted({"status": 429, "headers": {"Retry-After": "1"}}, "fine")) as fake:
        backend = make(fake, tmp_path)
        start = time.monotonic()
        [[answer]] = backend.complete(["hello"])
        waited = time.monotonic() - start
    assert answer.text == "fine" and answer.ok
    assert fake.count == 2 and backend.stats.retries == 1
    assert 1.0 <= waited < 8.0  # backoff alone (0.01 s) would have retried at once


def test_500s_then_success_is_retried_with_backoff(tmp_path):
    with FakeOpenAI(scripted({"status": 500}, {"status": 503}, "third time")) as fake:
        backend = make(fake, tmp_path)
        [[answer]] = backend.complete(["hello"])
    assert answer.text == "third time"
    assert fake.count == 3 and backend.stats.as_dict() == {"sent": 3, "cached": 0, "failed": 0, "retries": 2}


def test_hanging_response_hits_the_timeout_and_is_retried(tmp_path):
    with FakeOpenAI(scripted({"delay": 15.0, "text": "too late"}, "in time")) as fake:
        backend = make(fake, tmp_path, timeout=0.5)
        start = time.monotonic()
        [[answer]] = backend.complete(["hello"])
        took = time.monotonic() - start
    assert answer.text == "in time" and fake.count == 2
    assert 0.5 <= took < 10.0  # well before the hanging answer (15 s)


def test_permanent_failure_marks_the_record_failed_and_the_run_finishes_then_rerun_retries_it(tmp_path):
    broken = {"on": True}

    def respond(body):
        prompt = FakeOpenAI.prompt_of(body)
        return {"status": 500, "error": "boom"} if prompt == "p1" and broken["on"] else prompt.upper()

    raw = tmp_path / "raw.jsonl"
    items = [(i, f"p{i}") for i in range(4)]
    with FakeOpenAI(respond) as fake:
        backend = make(fake, tmp_path, max_retries=2)
        results = run_prompts(backend, items, raw)
        assert [c.text for i in (0, 2, 3) for c in results[i]] == ["P0", "P2", "P3"]
        [failed] = results[1]
        assert not failed.ok and failed.text == "" and "HTTP 500: boom (after 2 retries)" == failed.error
        assert sum(FakeOpenAI.prompt_of(b) == "p1" for b in fake.requests) == 3  # first try + 2 retries
        rec = {r["id"]: r for r in lines(raw)}[1]
        assert rec["completions"] == [] and rec["error"].startswith("HTTP 500")
        assert backend.stats.failed == 1

        broken["on"] = False
        fake.reset()
        results = run_prompts(backend, items, raw)
    assert [FakeOpenAI.prompt_of(b) for b in fake.requests] == ["p1"]
    assert results[1][0].text == "P1"
    recs = lines(raw)
    assert sorted(r["id"] for r in recs) == [0, 1, 2, 3] and all(r["error"] is None for r in recs)


def test_rerun_asks_again_the_ids_whose_prompt_changed(tmp_path):
    raw = tmp_path / "raw.jsonl"
    with FakeOpenAI() as fake:
        run_prompts(make(fake, tmp_path), [(0, "old"), (1, "same")], raw)
        results = run_prompts(make(fake, tmp_path), [(0, "new"), (1, "same")], raw)
    assert results[0][0].text == "echo: new" and fake.count == 3  # only id 0 is asked again
    assert sorted((r["id"], r["prompt"]) for r in lines(raw)) == [(0, "new"), (1, "same")]


@pytest.mark.parametrize("body", [{"choices": None}, {"unexpected": 1}, ["not", "an", "object"]])
def test_a_malformed_answer_fails_that_record_only(tmp_path, body):
    with FakeOpenAI(lambda b: {"body": body} if FakeOpenAI.prompt_of(b) == "bad" else "fine") as fake:
        [[bad], [good]] = make(fake, tmp_path).complete(["bad", "good"])
    assert not bad.ok and bad.text == "" and good.text == "fine"


def test_client_error_400_is_not_retried(tmp_path):
    with FakeOpenAI(lambda b: {"status": 400, "error": "context too long"}) as fake:
        [[answer]] = make(fake, tmp_path, max_retries=3).complete(["x"])
    assert fake.count == 1 and answer.error == "HTTP 400: context too long"


def test_refused_api_key_stops_the_run_with_a_one_line_user_error(tmp_path):
    with FakeOpenAI(lambda b: {"status": 401, "error": "bad key"}) as fake:
        with pytest.raises(UserError, match="refused the API key") as err:
            run_prompts(make(fake, tmp_path), [(0, "x"), (1, "y")], tmp_path / "raw.jsonl")
    assert "\n" not in str(err.value)


def test_a_server_that_is_not_there_stops_the_run_with_a_user_error(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = LLMConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=1, backoff=0.01, no_cache=True)
    with pytest.raises(UserError, match=f"cannot reach http://127.0.0.1:{port}/v1/ .*is the server running"):
        run_prompts(create_backend(cfg), [(0, "x")], tmp_path / "raw.jsonl")
    assert not (tmp_path / "raw.jsonl").exists() or (tmp_path / "raw.jsonl").read_text() == ""


# ---- cache ----------------------------------------------------------------------------------------------------
def test_rerun_of_the_same_prompts_makes_zero_requests_and_no_cache_bypasses(tmp_path):
    items = [(i, f"q{i}") for i in range(6)]
    with FakeOpenAI() as fake:
        first = run_prompts(make(fake, tmp_path), items, tmp_path / "a.jsonl")
        assert fake.count == 6
        again = run_prompts(make(fake, tmp_path), items, tmp_path / "b.jsonl")
        assert fake.count == 6  # all from the cache
        assert all(c.cached for cs in again.values() for c in cs)
        assert {i: [c.text for c in cs] for i, cs in again.items()} == {i: [c.text for c in cs] for i, cs in first.items()}
        run_prompts(make(fake, tmp_path, no_cache=True), items, tmp_path / "c.jsonl")
        assert fake.count == 12
        run_prompts(make(fake, tmp_path), items, tmp_path / "d.jsonl", temperature=0.7)  # other params: other key
        assert fake.count == 18
    by_id = lambda path: sorted(lines(path), key=lambda r: r["id"])  # noqa: E731 (lines come in finishing order)
    assert by_id(tmp_path / "b.jsonl") == by_id(tmp_path / "a.jsonl")


def test_failed_answers_are_not_cached(tmp_path):
    with FakeOpenAI(scripted({"status": 400}, "good")) as fake:
        assert not make(fake, tmp_path).complete(["x"])[0][0].ok
        assert make(fake, tmp_path).complete(["x"])[0][0].text == "good"
        assert fake.count == 2


# ---- API key --------------------------------------------------------------------------------------------------
def test_api_key_never_reaches_any_file_or_log(tmp_path, monkeypatch, caplog, capfd):
    import logging
    import uuid

    secret = f"sk-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    caplog.set_level(logging.DEBUG)

    def respond(body):  # a server that echoes the key back in its error, as some do
        prompt = FakeOpenAI.prompt_of(body)
        return {"status": 400, "error": f"key {secret} is bad"} if prompt == "leak" else "ok"

    with FakeOpenAI(respond) as fake:
        backend = make(fake, tmp_path, cache_dir=str(tmp_path / "out" / "cache"))
        results = run_prompts(backend, [(0, "a"), (1, "leak"), (2, "b")], tmp_path / "out" / "raw.jsonl")
        backend.close()
    assert fake.headers[0]["authorization"] == f"Bearer {secret}"  # the key was really used
    assert results[1][0].error == "HTTP 400: key *** is bad"
    written = sorted(p for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert {p.name for p in written} >= {"raw.jsonl", "responses.sqlite3"}
    for path in written:
        assert secret.encode() not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert secret not in caplog.text + out + err
    assert secret not in repr(LLMConfig(api_key=secret)) and "api_key" not in LLMConfig(api_key=secret).to_dict()


def test_missing_key_and_no_base_url_is_a_one_line_user_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(UserError) as err:
        create_backend(LLMConfig(no_cache=True))
    assert str(err.value) == "set OPENAI_API_KEY, or --base_url for an OpenAI-compatible server"


def test_base_url_without_key_sends_a_placeholder_and_model_none_takes_the_first_listed(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    with FakeOpenAI(models=("served-a", "served-b")) as fake:
        backend = make(fake, tmp_path, model=None)
        assert backend.complete(["hi"])[0][0].text == "echo: hi"
    assert backend.model == "served-a" and fake.requests[0]["model"] == "served-a"
    assert fake.headers[0]["authorization"] == "Bearer EMPTY"
    assert fake.paths[0] == "GET /v1/models"


def test_model_lookup_waits_for_a_server_that_is_still_starting(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = create_backend(LLMConfig(backend="openai", base_url=f"http://127.0.0.1:{port}/v1", model=None,
                                       no_cache=True, backoff=0.2, max_retries=5))
    started = []
    timer = threading.Timer(0.5, lambda: started.append(FakeOpenAI(models=("late",), port=port).start()))
    timer.start()
    try:
        assert backend.model == "late"
    finally:
        timer.join()
        for fake in started:
            fake.close()


def test_model_lookup_gives_up_after_the_retries(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = create_backend(LLMConfig(backend="openai", base_url=f"http://127.0.0.1:{port}/v1", model=None,
                                       no_cache=True, backoff=0.01, max_retries=2))
    with pytest.raises(UserError, match=f"cannot list the models of http://127.0.0.1:{port}/v1/: Connection error"):
        _ = backend.model


def test_model_none_without_base_url_asks_for_model():
    with pytest.raises(UserError, match="pass --model"):
        create_backend(LLMConfig(no_cache=True)).model  # noqa: B018


# ---- endpoints, requests ------------------------------------------------------------------------------------
@pytest.mark.parametrize("model, chat, endpoint", [
    ("gpt-4o-mini", None, "chat"),
    ("text-davinci-003", None, "chat"),  # the model id is never guessed from: a silent server means chat
    ("gpt-3.5-turbo-instruct", None, "chat"),
    ("SmolLM2-135M-Instruct", None, "chat"),
    ("gpt-4o-mini", False, "completions"),
    ("text-davinci-003", False, "completions"),
    ("SmolLM2-135M-Instruct", True, "chat"),
])
def test_endpoint_is_the_flag_else_chat_when_the_server_does_not_say(tmp_path, model, chat, endpoint):
    """Defect 4: the choice came from a model-name regex. Now: --chat, else the server's /v1/models entry (FakeOpenAI's
    says nothing: chat; core.serve's says, see tests/test_serve.py), never the name."""
    with FakeOpenAI(models=(model,)) as fake:
        backend = make(fake, tmp_path, model=model, chat=chat)
        out = backend.complete(["say hi"])
    path = "chat/completions" if endpoint == "chat" else "completions"
    assert [p for p in fake.paths if p.startswith("POST")] == [f"POST /v1/{path}"] and out[0][0].text == "echo: say hi"
    assert backend.endpoint == endpoint
    assert ("GET /v1/models" in fake.paths) == (chat is None)  # only auto asks the server
    assert f"({endpoint}: " in backend.describe()
    assert ("set by --chat" if chat is not None else "the server does not say") in backend.describe()


def test_a_cached_rerun_with_chat_auto_asks_the_server_nothing(tmp_path, capsys):
    with FakeOpenAI() as fake:
        first = make(fake, tmp_path, model="fake-model")
        run_prompts(first, [(0, "q")], tmp_path / "a.jsonl")
        assert first.endpoint == "chat"
        fake.reset()
        backend = make(fake, tmp_path, model="fake-model")
        again = run_prompts(backend, [(0, "q")], tmp_path / "b.jsonl")  # its summary line describes the backend
    assert again[0][0].cached and fake.paths == []
    assert backend.endpoint is None and "(endpoint: auto, the server not asked yet;" in capsys.readouterr().err


def test_prompts_are_converted_for_the_endpoint(tmp_path):
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    with FakeOpenAI() as fake:
        make(fake, tmp_path, chat=True).complete(["plain"])
        make(fake, tmp_path, chat=False).complete([msgs])
    chat_body, text_body = fake.requests
    assert chat_body["messages"] == [{"role": "user", "content": "plain"}]
    assert text_body["prompt"] == "S\n\nU"


def test_parameters_reach_the_server_and_n_answers_come_back_in_order(tmp_path):
    with FakeOpenAI(lambda b: ["one", "two", "three"]) as fake:
        [answers] = make(fake, tmp_path).complete(["x"], max_tokens=7, temperature=0.5, n=3, stop="\n", seed=4,
                                                  top_k=5)
    body = fake.requests[0]
    assert (body["max_tokens"], body["temperature"], body["n"], body["stop"], body["seed"], body["top_k"]) == \
        (7, 0.5, 3, ["\n"], 4, 5)
    assert [a.text for a in answers] == ["one", "two", "three"]
    assert answers[0].usage == {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}
    assert answers[1].usage is None  # request usage is counted once


def test_concurrency_keeps_n_requests_in_flight(tmp_path):
    active, peak, lock = [0], [0], threading.Lock()

    def respond(body):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return "ok"

    with FakeOpenAI(respond) as fake:
        make(fake, tmp_path, concurrency=4, no_cache=True).complete([f"p{i}" for i in range(8)])
    assert peak[0] == 4


def test_rpm_limit_spaces_requests(tmp_path):
    with FakeOpenAI() as fake:
        start = time.monotonic()
        make(fake, tmp_path, rpm=120, concurrency=8, no_cache=True).complete([f"p{i}" for i in range(5)])
        took = time.monotonic() - start
    assert took >= 1.4  # 2/s with a burst of 2: the 5th request waits until t = 1.5 s


# ---- pieces ---------------------------------------------------------------------------------------------------
def test_token_bucket_reserves_in_order():
    now = [0.0]
    bucket = TokenBucket(60, clock=lambda: now[0])  # 1 a second, burst 1
    assert [bucket.acquire() for _ in range(3)] == [0.0, 1.0, 2.0]
    now[0] = 10.0
    assert bucket.acquire() == 0.0
    big = TokenBucket(600, clock=lambda: now[0])  # 10 a second, bucket of 10
    assert big.acquire(25) == 0.0 and big.acquire(1) == pytest.approx(1.6)


def test_backoff_doubles_with_jitter_and_retry_after_forms():
    import random

    rng = random.Random(0)
    for attempt, full in [(0, 1.0), (1, 2.0), (3, 8.0), (10, 30.0)]:
        assert full / 2 <= backoff_delay(attempt, 1.0, 30.0, rng) <= full
    assert retry_after({"retry-after": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a date in the past
    assert retry_after({"retry-after": "soon"}) is None and retry_after({}) is None


def test_config_from_flags_ignores_unknown_keys_and_validates():
    cfg = LLMConfig.from_flags(backend="OpenAI", concurrency="4", chat="false", no_cache=True, input_file="x", ak="k")
    assert (cfg.backend, cfg.concurrency, cfg.chat, cfg.no_cache, cfg.api_key) == ("openai", 4, False, True, "k")
    for bad in ({"concurrency": 0}, {"timeout": 0}, {"bits": 3}, {"rpm": -1}, {"chat": "maybe"}):
        with pytest.raises(ConfigError):
            LLMConfig(**bad)
    assert issubclass(ConfigError, UserError) and issubclass(ConfigError, ValueError)
    assert all(LLMConfig.help().values())


def test_registry_refuses_duplicates_and_unknown_names():
    with pytest.raises(ValueError, match="already registered"):
        register_backend("openai", lambda cfg: None)
    with pytest.raises(UserError, match="unknown backend 'nope'"):
        create_backend(LLMConfig(backend="nope"))


def test_duplicate_ids_are_refused(tmp_path):
    with pytest.raises(UserError, match="duplicate id 1"):
        run_prompts(object(), [(1, "a"), (1, "b")], tmp_path / "raw.jsonl")


def test_a_backend_with_only_complete_works_with_run_prompts(tmp_path):
    class Upper:
        name, model = "upper", "u1"

        def complete(self, prompts, **params):
            return [[Completion(p.upper())] for p in prompts]

    out = run_prompts(Upper(), [("a", "x"), ("b", "y")], tmp_path / "raw.jsonl")
    assert {k: v[0].text for k, v in out.items()} == {"a": "X", "b": "Y"}
    assert [r["model"] for r in lines(tmp_path / "raw.jsonl")] == ["u1", "u1"]


def test_importing_core_llm_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, core.llm, core.testing.fake_openai; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cache_keeps_answers_of_two_servers_with_the_same_model_id_apart(tmp_path):
    with FakeOpenAI(lambda body: "from A") as a, FakeOpenAI(lambda body: "from B") as b:
        assert make(a, tmp_path).complete(["same prompt"])[0][0].text == "from A"
        answer = make(b, tmp_path).complete(["same prompt"])[0][0]
        assert (answer.text, answer.cached, b.count) == ("from B", False, 1)
        again = make(a, tmp_path).complete(["same prompt"])[0][0]
        assert (again.text, again.cached, a.count) == ("from A", True, 1)


# ---- constrained decoding on a server (structured outputs) ------------------------------------------------------
def specs_for(prompts, fmt="json"):
    from core.decoding.spec import AnswerSpec
    from core.llm.base import prompt_key
    from core.tasks.rte import TRIPLES_SCHEMA

    schema = {**TRIPLES_SCHEMA, "items": {**TRIPLES_SCHEMA["items"], "prefixItems": [
        {"type": "string", "x-kgllm": "copy"}, {"type": "string", "x-kgllm": "relation", "enum": ["born in"]},
        {"type": "string", "x-kgllm": "copy"}]}}
    return {prompt_key(p): AnswerSpec(fmt, schema, "Ann was born in Oslo.") for p in prompts}


def test_schema_decoding_sends_response_format_or_structured_outputs_by_server_kind(tmp_path):
    prompts = ["p1", "p2"]
    with FakeOpenAI(lambda b: '{"output":[["Ann","born in","Oslo"]]}') as fake:
        auto = make(fake, tmp_path, decoding="schema", no_cache=True)
        got = auto.complete(prompts, answer_specs=specs_for(prompts))
        assert auto.structured == "openai"  # the fake server's /v1/models says nothing about structured outputs
        make(fake, tmp_path, decoding="schema", structured="vllm", no_cache=True).complete(
            ["p3"], answer_specs=specs_for(["p3"]))
        make(fake, tmp_path, decoding="schema", structured="vllm", no_cache=True).complete(
            ["p4"], answer_specs=specs_for(["p4"], fmt="triples"))
        make(fake, tmp_path, decoding="json", no_cache=True).complete(["p5"])
        make(fake, tmp_path, no_cache=True).complete(["p6"], answer_specs=specs_for(["p6"]))
    bodies = {FakeOpenAI.prompt_of(b): b for b in fake.requests}
    fmt = bodies["p1"]["response_format"]
    assert fmt["type"] == "json_schema" and "x-kgllm" not in json.dumps(fmt)
    triple = fmt["json_schema"]["schema"]["properties"]["output"]["items"]
    assert triple["prefixItems"][1] == {"type": "string", "enum": ["born in"]}
    assert [a[0].decoding for a in got] == ["schema", "schema"] and got[0][0].fallback is None
    assert bodies["p3"]["structured_outputs"]["json"]["items"]["prefixItems"][1]["enum"] == ["born in"]
    grammar = bodies["p4"]["structured_outputs"]["grammar"]
    assert "substring_chars" in grammar and '"born in"' in grammar  # the copy rule goes to vLLM as a grammar
    assert bodies["p5"]["response_format"] == {"type": "json_object"}
    assert not any(k in bodies["p6"] for k in ("response_format", "structured_outputs", "kgllm"))  # free


def test_a_server_that_refuses_structured_outputs_is_asked_free_and_every_answer_says_so(tmp_path, capfd):
    def respond(body):
        if "response_format" in body:
            return {"status": 400, "error": "Invalid parameter: 'response_format' of type 'json_schema' is not "
                                            "supported with this model."}
        return "(Ann,born in,Oslo)"

    prompts = [f"p{i}" for i in range(4)]
    with FakeOpenAI(respond) as fake:
        backend = make(fake, tmp_path, decoding="schema", concurrency=1)
        results = run_prompts(backend, list(enumerate(prompts)), tmp_path / "raw.jsonl",
                              answer_specs=specs_for(prompts))
    assert fake.count == len(prompts) + 1  # one refusal; the next prompts go free at once
    for i in range(4):
        answer = results[i][0]
        assert answer.ok and answer.text == "(Ann,born in,Oslo)" and answer.decoding == "free"
        assert "refused response_format json_schema (HTTP 400" in answer.fallback and "not supported" in answer.fallback
    raw = lines(tmp_path / "raw.jsonl")
    assert all(r["completions"][0]["fallback"] == results[0][0].fallback for r in raw)
    err = capfd.readouterr().err
    assert err.count("refused response_format json_schema") == 1 and "asked free" in err


def test_a_400_about_something_else_is_not_a_refusal_of_structured_outputs(tmp_path):
    with FakeOpenAI(lambda b: {"status": 400, "error": "maximum context length is 8 tokens"}) as fake:
        backend = make(fake, tmp_path, decoding="json", no_cache=True)
        [[answer]] = backend.complete(["x"])
    assert fake.count == 1 and not answer.ok and "context length" in answer.error


def test_structured_server_kind_and_decoding_flags():
    from core.llm.structured import body_kind, server_kind

    assert server_kind("auto", {"owned_by": "vllm"}) == "vllm"
    assert server_kind("auto", {"owned_by": "kgllm", "decoding": ["free", "json", "schema"]}) == "kgllm"
    assert server_kind("auto", {}) == server_kind("auto", {"owned_by": "openai"}) == "openai"
    assert server_kind("vllm", {"decoding": ["schema"]}) == "vllm"
    assert body_kind({"structured_outputs": {"grammar": "x"}}) == "structured_outputs grammar"
    assert body_kind({"kgllm": {"decoding": "schema"}}) == "kgllm"
    cfg = LLMConfig.from_flags(decoding="SCHEMA", structured="vllm")
    assert (cfg.decoding, cfg.structured) == ("schema", "vllm")
    for bad in ({"decoding": "grammar"}, {"structured": "guided"}):
        with pytest.raises(ConfigError, match=f"--{next(iter(bad))} must be one of"):
            LLMConfig(**bad)
