"""codekgc.py on a local model (hf backend, the toy LLaMA): the run completes, every record gets a status, metrics
are written. A toy model with random weights scores what it scores; the point is the plumbing."""

import json
import os
import subprocess
import sys
from pathlib import Path

CASE = Path(__file__).resolve().parents[1]
SCRIPT = CASE / "codekgc.py"
STATUSES = {"ok", "repaired", "invalid", "unparsable", "failed"}


def test_hf_backend_run_gives_every_record_a_status_and_writes_metrics(tmp_path, toy_llama_path):
    lines = (CASE / "data" / "test.json").read_text(encoding="utf-8").splitlines()[:3]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(HF_HUB_OFFLINE="1", KGLLM_CACHE_DIR=str(tmp_path / "cache"))
    args = [sys.executable, str(SCRIPT), "--backend", "hf", "--base_model", str(toy_llama_path), "--max_tokens", "16",
            "--input_file", str(tmp_path / "in.jsonl"), "--output_file", str(tmp_path / "pred.jsonl")]
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    recs = [json.loads(line) for line in (tmp_path / "pred.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in recs] == ["test-01", "test-02", "test-03"]
    assert all(r["status"] in STATUSES and len(r["completions"]) == 1 for r in recs)
    metrics = json.loads((tmp_path / "pred.metrics.json").read_text(encoding="utf-8"))
    assert metrics["records"] == 3 and metrics["micro"]["gold"] == 4
    assert metrics["run"]["backend"] == "hf" and metrics["run"]["chat"] is False
    raw = [json.loads(line) for line in (tmp_path / "pred.raw.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["id"] for r in raw} == {"test-01", "test-02", "test-03"}
