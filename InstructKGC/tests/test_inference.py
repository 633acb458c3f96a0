"""InstructKGC/inference.py: fine-tuned adapter -> inference in a fresh process -> convert -> evaluate gives F1 = 1.0;
SIGKILL mid-run then rerun gives every id once; the adapter's template is enforced; torchrun shards and merges."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import UserError

CASE = Path(__file__).resolve().parents[1]
ROOT = CASE.parent
SCRIPT = CASE / "inference.py"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def load_inference():
    spec = importlib.util.spec_from_file_location("kgc_inference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def adapter():
    """A LoRA adapter (trained by core.train, the code path of InstructKGC/finetune.py) that memorised its records."""
    from core.testing.adapters import memorised_adapter

    return memorised_adapter("llama", "lora")


@pytest.fixture(scope="module")
def records():
    from core.testing.adapters import memorised_records

    return memorised_records()


def write_input(path, records, copies=1):
    """The records without their answers (as in valid.json), `copies` times with distinct ids."""
    with open(path, "w", encoding="utf-8") as fh:
        for k in range(copies):
            for r in records:
                rec = {"id": f"{r['id']}#{k}" if copies > 1 else r["id"], "cate": r["cate"],
                       "instruction": r["instruction"], "input": r["input"]}
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def run(args, cwd=ROOT, env=ENV, timeout=180):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


def test_finetuned_adapter_in_a_fresh_process_reproduces_the_targets_and_scores_f1_one(adapter, records, tmp_path):
    src = write_input(tmp_path / "valid.json", records)
    out = tmp_path / "pred.json"
    script = CASE / "scripts" / "run_inference.sh"
    env = {**ENV, "PYTHON": sys.executable, "LORA_WEIGHTS": str(adapter), "INPUT_FILE": str(src),
           "OUTPUT_FILE": str(out), "BATCH_SIZE": "3", "MAX_NEW_TOKENS": "64"}
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"wrote 5 records -> {out}" in proc.stdout and "template alpaca" in proc.stdout
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert [r["output"] for r in rows] == [r["output"] for r in records]
    assert rows[0]["cate"] == records[0]["cate"] and rows[0]["input"] == records[0]["input"]

    gold = tmp_path / "gold.json"
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    converted, metrics = tmp_path / "converted.json", tmp_path / "metrics.json"
    for cmd in ([CASE / "convert.py", "--pred_path", out, "--tgt_path", converted],
                [CASE / "evaluate.py", "--gold_file", gold, "--pred_file", converted, "--output_file", metrics]):
        step = subprocess.run([sys.executable, *map(str, cmd)], capture_output=True, text=True, env=ENV, timeout=120)
        assert step.returncode == 0, step.stderr[-2000:]
    scores = json.loads(metrics.read_text(encoding="utf-8"))
    assert scores["f1"] == 1.0 and scores["correct"] == scores["gold_triples"] == 6
    assert scores["rouge2"] == pytest.approx(1.0) and scores["score"] == pytest.approx(1.0)


def test_sigkill_after_the_first_batch_then_rerun_gives_every_id_exactly_once(adapter, records, tmp_path):
    src = write_input(tmp_path / "valid.json", records, copies=8)  # 40 records, 20 batches of 2
    out = tmp_path / "pred.json"
    args = [SCRIPT, "--lora_weights", adapter, "--input_file", src, "--output_file", out, "--batch_size", 2,
            "--max_new_tokens", 64]
    proc = subprocess.Popen([sys.executable, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=ROOT, env=ENV)
    deadline = time.monotonic() + 120
    while not (out.exists() and out.read_text(encoding="utf-8").count("\n") >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, "inference ended before the first batch"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    partial = out.read_text(encoding="utf-8").count("\n")
    assert 2 <= partial < 40, partial  # killed mid-run

    again = run(args[1:])
    assert again.returncode == 0, again.stderr[-2000:]
    rows = read_jsonl(out)
    ids = [r["id"] for r in read_jsonl(src)]
    assert [r["id"] for r in rows] == ids  # every id exactly once, in input order
    assert [r["output"] for r in rows] == [r["output"] for r in records] * 8
    assert f"{40 - partial} generated now" in again.stdout


def test_a_template_other_than_the_adapters_is_refused_unless_forced(adapter):
    inference = load_inference()
    from core.tuning import read_adapter_meta

    meta = read_adapter_meta(adapter)
    with pytest.raises(UserError, match="trained with prompt template 'alpaca', not 'chatglm'"):
        inference._template(meta, "chatglm", None, False)
    assert inference._template(meta, "chatglm", None, True).name == "chatglm"
    assert inference._template(meta, None, "alpaca", False).name == "alpaca"
    assert inference._template(None, None, None, False).name == "alpaca"
    with pytest.raises(UserError, match="disagree"):
        inference._template(meta, "alpaca", "chatglm", False)


def test_cli_errors_are_one_line_and_write_no_output(adapter, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": 1, "instruction": "x"}\n{"id": 2, "input": "no instruction"}\n', encoding="utf-8")
    out = tmp_path / "never.json"
    proc = run(["--lora_weights", adapter, "--input_file", bad, "--output_file", out])
    assert proc.returncode == 2 and proc.stderr.strip() == 'error: bad.json:2: field "instruction": missing'
    good = tmp_path / "good.json"
    good.write_text('{"id": 1, "instruction": "x"}\n', encoding="utf-8")
    proc = run(["--lora_weights", adapter, "--input_file", good, "--output_file", out, "--prompt_template_name",
                "chatglm"])
    assert proc.returncode == 2 and "trained with prompt template 'alpaca'" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not out.exists()
    dup = tmp_path / "dup.json"
    dup.write_text('{"id": 7, "instruction": "x"}\n{"id": 7, "instruction": "y"}\n', encoding="utf-8")
    proc = run(["--lora_weights", adapter, "--input_file", dup, "--output_file", out])
    assert proc.returncode == 2 and proc.stderr == \
        'error: dup.json:2: field "id": duplicate id 7 (first on line 1); ids must be unique to resume\n'
    assert not out.exists()


def test_resuming_with_other_generation_settings_is_refused(tmp_path, monkeypatch):
    inference = load_inference()
    out = tmp_path / "pred.json"
    out.write_text('{"id": 1, "output": "(a,b,c)"}\n', encoding="utf-8")
    settings = {"base_model": "m", "max_new_tokens": 256}
    inference._check_run(out, settings)
    inference._check_run(out, dict(settings))
    with pytest.raises(UserError, match=r"started with other settings \(max_new_tokens differ"):
        inference._check_run(out, {**settings, "max_new_tokens": 64})


def test_torchrun_two_processes_shard_the_records_and_merge_them_in_input_order(adapter, records, tmp_path):
    src = write_input(tmp_path / "valid.json", records, copies=2)
    out = tmp_path / "pred.json"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(SCRIPT), "--lora_weights", str(adapter), "--input_file", str(src), "--output_file",
                           str(out), "--batch_size", "2", "--max_new_tokens", "64"],
                          capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "merged from 2 processes" in proc.stdout
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in read_jsonl(src)]
    assert [r["output"] for r in rows] == [r["output"] for r in records] * 2
    assert not list(tmp_path.glob("pred.json.rank*"))


def test_help_lists_the_seed_flags():
    proc = run(["--help"], env={**ENV, "PAGER": "cat"})
    for flag in ("--base_model", "--lora_weights", "--prompt_template", "--input_file", "--output_file",
                 "--load_8bit", "--batch_size", "--max_new_tokens", "--do_sample"):
        assert flag in proc.stdout + proc.stderr


def test_backend_openai_against_a_server_holding_the_adapter_gives_the_same_answers(adapter, records, tmp_path):
    """As with vLLM serving base + adapter: the server (core.serve here) has the adapter; inference renders the
    prompts with the adapter's recorded template and sends them to /v1/completions."""
    import socket
    import threading

    import uvicorn

    from core.serve.__main__ import load_engine
    from core.serve.app import create_app

    engine = load_engine(None, str(adapter))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(engine, model_name="kgc"), log_level="error"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        src, out = write_input(tmp_path / "valid.json", records), tmp_path / "pred.json"
        env = {**ENV, "OPENAI_API_KEY": "sk-test-never-written", "KGLLM_CACHE_DIR": str(tmp_path / "cache")}
        proc = run(["--backend", "openai", "--base_url", f"http://127.0.0.1:{sock.getsockname()[1]}/v1",
                    "--model", "kgc", "--lora_weights", adapter, "--input_file", src, "--output_file", out,
                    "--max_new_tokens", 64], env=env)
    finally:
        server.should_exit = True
        thread.join(10)
        engine.close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "model kgc on the server; template alpaca" in proc.stdout
    rows = read_jsonl(out)
    assert [(r["id"], r["output"]) for r in rows] == [(r["id"], r["output"]) for r in records]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "pred.json.raw.jsonl" for p in written)
    assert not [p for p in written if b"sk-test-never-written" in p.read_bytes()]
