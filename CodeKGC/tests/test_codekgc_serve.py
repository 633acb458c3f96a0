"""codekgc.py end to end through core.serve (our OpenAI-compatible server) over the toy LLaMA, on a free local port:
the run completes, every record gets a status, the metrics file is written, and a rerun sends nothing."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CASE = Path(__file__).resolve().parents[1]
ROOT = CASE.parent
SCRIPT = CASE / "codekgc.py"
STATUSES = {"ok", "repaired", "invalid", "unparsable", "failed"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(toy_llama_path, tmp_path):
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "core.serve", "--base_model", str(toy_llama_path),
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"core.serve exited with {proc.returncode}: {(tmp_path / 'serve.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("core.serve did not answer /v1/models within 120 s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_run_through_core_serve_gives_every_record_a_status_and_writes_metrics(tmp_path, server):
    lines = (CASE / "data" / "test.json").read_text(encoding="utf-8").splitlines()[:4]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(HF_HUB_OFFLINE="1", KGLLM_CACHE_DIR=str(tmp_path / "cache"))
    args = [sys.executable, str(SCRIPT), "--base_url", server, "--chat", "false", "--max_tokens", "16",
            "--input_file", str(tmp_path / "in.jsonl"), "--output_file", str(tmp_path / "out" / "pred.jsonl")]
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    recs = [json.loads(line) for line in (tmp_path / "out" / "pred.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in recs] == ["test-01", "test-02", "test-03", "test-04"]
    assert all(r["status"] in STATUSES for r in recs)
    assert all(r["status"] != "failed" for r in recs), [r["issues"] for r in recs]
    metrics = json.loads((tmp_path / "out" / "pred.metrics.json").read_text(encoding="utf-8"))
    assert metrics["records"] == 4 and metrics["micro"]["gold"] == 6
    assert "records 4" in result.stdout and "micro" in result.stdout

    again = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "4 already in pred.raw.jsonl" in again.stderr and "0 requests sent" in again.stderr
