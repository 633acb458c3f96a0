"""kill -9 in the middle of `kgllm extract`, then the same command again: no chunk is asked twice, every triple once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core.extract import extract
from core.extract.oracle import GoldOracle
from core.testing.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "examples" / "corpus"
FLAGS = ["--chunk_tokens", "120", "--overlap_tokens", "40", "--schema_batch", "0", "--concurrency", "1",
         "--no_cache", "--no_resolve", "--formats", "", "--model", "fake-model"]
ANSWERED_BEFORE_KILL = 8


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def mention_keys(folder: Path) -> list[tuple]:
    return sorted((m["document"], m["head"], m["relation"], m["tail"], tuple(m.get("head_span") or ()),
                   tuple(m.get("tail_span") or ())) for m in jsonl(folder / "mentions.jsonl"))


def command(out: Path, base_url: str) -> list[str]:
    return [sys.executable, "-m", "core.extract", "--input", str(CORPUS / "en"), "--schema",
            str(CORPUS / "schema.en.json"), "--output", str(out), "--base_url", base_url, *FLAGS]


def test_kill_9_mid_run_then_rerun_asks_nothing_twice_and_keeps_every_triple_once(tmp_path):
    oracle = GoldOracle.from_gold(CORPUS / "gold.json")
    release = threading.Event()
    answered: list[str] = []

    def respond(body: dict):
        prompt = FakeOpenAI.prompt_of(body)
        if len(answered) >= ANSWERED_BEFORE_KILL and not release.is_set():
            release.wait(60)  # hold this request open: the process is killed while it waits
            return {"status": 503, "error": "the client is gone"}
        answered.append(prompt)
        return oracle(body)

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-test"}
    out = tmp_path / "out"
    with FakeOpenAI(respond) as fake:
        proc = subprocess.Popen(command(out, fake.base_url), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        raw = out / "raw.jsonl"
        while time.monotonic() < deadline:
            lines = raw.read_text(encoding="utf-8").count("\n") if raw.exists() else 0
            if lines == ANSWERED_BEFORE_KILL and fake.count == ANSWERED_BEFORE_KILL + 1:
                break
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        else:
            proc.kill()
            raise AssertionError(f"run did not reach {ANSWERED_BEFORE_KILL} answers in time")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        proc.stderr.close()
        release.set()
        assert proc.returncode == -signal.SIGKILL
        assert not (out / "mentions.jsonl").exists() and not (out / "report.json").exists()
        first = list(answered)
        fake.reset()

        rerun = subprocess.run(command(out, fake.base_url), cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        asked_again = [FakeOpenAI.prompt_of(b) for b in fake.requests]

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    total = report["requests"]
    assert report["resumed"] == ANSWERED_BEFORE_KILL and report["sent"] == total - ANSWERED_BEFORE_KILL
    assert len(asked_again) == total - ANSWERED_BEFORE_KILL and not set(asked_again) & set(first)
    assert sorted(first + asked_again) == sorted(set(first + asked_again))  # every chunk answered exactly once
    raw_ids = [r["id"] for r in jsonl(out / "raw.jsonl")]
    assert len(raw_ids) == len(set(raw_ids)) == total

    # the same mentions as a run that was never interrupted, each once
    with FakeOpenAI(oracle) as fake:
        extract([CORPUS / "en"], CORPUS / "schema.en.json", tmp_path / "clean", base_url=fake.base_url,
                model="fake-model", chunk_tokens=120, overlap_tokens=40, schema_batch=0, no_cache=True,
                no_resolve=True, formats="", quiet=True)
    keys = mention_keys(out)
    assert keys == mention_keys(tmp_path / "clean") and len(keys) == len(set(keys)) > 40
