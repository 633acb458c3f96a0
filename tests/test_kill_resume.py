"""kill -9 at a random point of a run of each case, then the same command again: every id exactly once in every output
file, and no request for an id whose answer was already on disk (the one resume rule, core.llm.run_prompts)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.testing.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
DELAY = 0.15  # seconds per answer, so that a run of N ids lasts long enough to be killed in the middle


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # the torn last line a kill can leave; the rerun cuts it
    return out


def _json_array_or_lines(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8").strip()
    return json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines() if x.strip()]


def llmicl(tmp: Path, url: str):
    records = [{"id": f"r{i}", "text": f"Person{i} Smith visited Town{i} in May."} for i in range(8)]
    source = tmp / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp / "out" / "pred.jsonl"
    cmd = [sys.executable, str(ROOT / "LLMICL" / "run.py"), "task=ner", "language=en", f"input_file={source}",
           f"output_file={out}", f"base_url={url}", "model=fake", "concurrency=1", "no_cache=True"]
    return cmd, [r["id"] for r in records], out.with_name("pred.raw.jsonl"), [out]


def codekgc(tmp: Path, url: str):
    source = ROOT / "CodeKGC" / "data" / "test.json"
    ids = [r.get("id", i) for i, r in enumerate(_json_array_or_lines(source))][:36]
    out = tmp / "out" / "pred.jsonl"
    cmd = [sys.executable, str(ROOT / "CodeKGC" / "codekgc.py"), "--input_file", str(source), "--output_file",
           str(out), "--base_url", url, "--model", "fake", "--concurrency", "1", "--no_cache"]
    return cmd, ids, out.with_name("pred.raw.jsonl"), [out]


def unleash(tmp: Path, url: str):
    data = ROOT / "UnleashLLMRE" / "data"
    ids = [r.get("id", i) for i, r in enumerate(_json_array_or_lines(data / "test.json"))]
    out = tmp / "out"
    cmd = [sys.executable, str(ROOT / "UnleashLLMRE" / "gpt3ICL.py"), "-tp", str(data / "train.json"), "-ttp",
           str(data / "test.json"), "-os", str(out), "-on", str(out), "--prompt", "text", "--k", "1",
           "--base_url", url, "--model", "fake", "--concurrency", "1", "--no_cache"]
    # os.json (answers that named a label) and no.json (those that did not) together hold every id once
    return cmd, ids, out / "raw.jsonl", [(out / "os.json", out / "no.json"), out / "parsed.jsonl"]


def instructkgc(tmp: Path, url: str):
    source = ROOT / "InstructKGC" / "data" / "valid.json"
    ids = [r["id"] for r in _json_array_or_lines(source)]
    out = tmp / "out" / "pred.json"
    cmd = [sys.executable, str(ROOT / "InstructKGC" / "inference.py"), "--backend", "openai", "--base_url", url,
           "--model", "fake", "--input_file", str(source), "--output_file", str(out), "--concurrency", "1",
           "--no_cache"]
    return cmd, ids, out.with_name("pred.raw.jsonl"), [out]


CASES = {"LLMICL": llmicl, "CodeKGC": codekgc, "UnleashLLMRE": unleash, "InstructKGC": instructkgc}


def _raw_file(out_dir: Path, given: Path | None) -> Path:
    if given is not None:
        return given
    found = sorted(out_dir.rglob("*.raw.jsonl"))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("case", list(CASES))
def test_kill_9_mid_run_then_rerun_asks_nothing_twice_and_writes_every_id_once(case, tmp_path):
    env = dict(os.environ, OPENAI_API_KEY="sk-test", KGLLM_CACHE_DIR=str(tmp_path / "cache"), HF_HUB_OFFLINE="1")
    with FakeOpenAI(lambda body: {"text": "[]", "delay": DELAY}) as fake:
        cmd, ids, raw, outputs = CASES[case](tmp_path, fake.base_url)
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        wanted = random.Random(case).randint(2, max(2, len(ids) // 2))
        raw_path = None
        while time.monotonic() < deadline and proc.poll() is None:
            candidates = [raw] if raw else sorted((tmp_path / "out").rglob("*.raw.jsonl"))
            if candidates and candidates[0].exists() and len(_lines(candidates[0])) >= wanted:
                raw_path = candidates[0]
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()[-2000:]!r}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        answered = {r["id"] for r in _lines(raw_path) if not r.get("error")}
        assert 0 < len(answered) < len(ids)
        prompt_of = {r["id"]: r["prompt"] for r in _lines(raw_path)}
        fake.reset()
        done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        asked_again = [body for body in fake.requests
                       if any(FakeOpenAI.prompt_of(body) == _text(prompt_of[i]) for i in answered)]
        assert not asked_again, f"{len(asked_again)} ids answered before the kill were asked again"
        assert fake.count == len(ids) - len(answered)
    raw_ids = [r["id"] for r in _lines(_raw_file(tmp_path / "out", raw))]
    assert sorted(map(str, raw_ids)) == sorted(map(str, ids))
    for group in outputs:
        paths = group if isinstance(group, tuple) else (group,)
        got = [r["id"] for path in paths for r in _json_array_or_lines(path)]
        assert sorted(map(str, got)) == sorted(map(str, ids)), paths


def _text(prompt) -> str:
    """A raw-file prompt as the server sees it (a chat prompt's last message, a completion prompt as it is)."""
    if isinstance(prompt, list):
        return prompt[-1]["content"]
    return prompt
