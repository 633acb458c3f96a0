"""core.llm across processes: kill mid-run and resume, Ctrl-C while requests hang, two processes on one cache."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.llm import LLMConfig, create_backend, run_prompts
from core.llm.cache import FILENAME, ResponseCache
from core.testing.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import sys
from core.errors import guard
from core.llm import LLMConfig, create_backend, run_prompts

@guard
def main(base_url, raw, cache, n, no_cache, concurrency):
    cfg = LLMConfig(base_url=base_url, model="fake", cache_dir=cache, no_cache=no_cache == "1",
                    concurrency=int(concurrency))
    run_prompts(create_backend(cfg), [(i, f"p{i}") for i in range(int(n))], raw)

main(*sys.argv[1:])
"""


def child(fake, raw, cache, n, no_cache=True, concurrency=2):
    env = {**os.environ, "OPENAI_API_KEY": "sk-dummy", "PYTHONPATH": str(ROOT)}
    args = [fake.base_url, str(raw), str(cache), str(n), "1" if no_cache else "0", str(concurrency)]
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def complete_lines(path):
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return [json.loads(x) for x in text.split("\n")[:-1] if x.strip()]  # a torn last line is not a record


def wait_for(predicate, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_sigkill_mid_run_then_rerun_sends_only_the_missing_ids_and_writes_each_id_once(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy")
    raw, n = tmp_path / "raw.jsonl", 40

    def slow(body):
        time.sleep(0.05)
        return FakeOpenAI.prompt_of(body).upper()

    with FakeOpenAI(slow) as fake:
        proc = child(fake, raw, tmp_path / "cache", n)
        assert wait_for(lambda: len(complete_lines(raw)) >= 8), proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kept = {r["id"] for r in complete_lines(raw)}
        assert 8 <= len(kept) < n  # really killed mid-run
        fake.reset()
        cfg = LLMConfig(base_url=fake.base_url, model="fake", no_cache=True, concurrency=4)
        results = run_prompts(create_backend(cfg), [(i, f"p{i}") for i in range(n)], raw)
    requested = sorted(int(FakeOpenAI.prompt_of(b)[1:]) for b in fake.requests)
    assert requested == sorted(set(range(n)) - kept)
    ids = [r["id"] for r in complete_lines(raw)]
    assert sorted(ids) == list(range(n))  # every id exactly once
    assert all(results[i][0].text == f"P{i}" for i in range(n))


def test_ctrl_c_exits_at_once_even_while_requests_hang(tmp_path):
    with FakeOpenAI(lambda body: {"delay": 30.0, "text": "late"}) as fake:
        proc = child(fake, tmp_path / "raw.jsonl", tmp_path / "cache", 10, concurrency=3)
        assert wait_for(lambda: fake.count >= 3), proc.communicate()
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        took = time.monotonic() - start
    assert proc.returncode == 130 and "rerun the same command to resume" in err
    assert "Traceback" not in err
    assert took < 10.0  # not the 30 s the requests hang


def test_two_processes_share_one_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy")
    cache, n = tmp_path / "cache", 30

    def respond(body):
        time.sleep(0.01)
        return FakeOpenAI.prompt_of(body).upper()

    with FakeOpenAI(respond) as fake:
        procs = [child(fake, tmp_path / f"raw{k}.jsonl", cache, n, no_cache=False, concurrency=4) for k in range(2)]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        assert n <= fake.count <= 2 * n
        for k in range(2):
            assert sorted(r["id"] for r in complete_lines(tmp_path / f"raw{k}.jsonl")) == list(range(n))
        before = fake.count
        cfg = LLMConfig(base_url=fake.base_url, model="fake", cache_dir=str(cache))
        results = run_prompts(create_backend(cfg), [(i, f"p{i}") for i in range(n)], tmp_path / "raw2.jsonl")
        assert fake.count == before  # every answer came from the shared cache
    assert all(results[i][0].cached and results[i][0].text == f"P{i}" for i in range(n))
    assert len(ResponseCache(cache)) == n and (cache / FILENAME).exists()
