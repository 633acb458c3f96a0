"""InstructKGC/inference.py: fine-tuned adapter -> inference in a fresh process -> convert -> evaluate gives F1 = 1.0;
SIGKILL mid-run then rerun gives every id once; the template rule (core.loader) is enforced; torchrun shares the
batches. Local answers go through core.llm's hf backend + run_prompts (raw answers in <output stem>.raw.jsonl)."""

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
    from core.modload import load_module

    return load_module(SCRIPT, "kgc_inference")


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
    out, raw = tmp_path / "pred.json", tmp_path / "pred.raw.jsonl"
    args = [SCRIPT, "--lora_weights", adapter, "--input_file", src, "--output_file", out, "--batch_size", 2,
            "--max_new_tokens", 64]
    proc = subprocess.Popen([sys.executable, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=ROOT, env=ENV)
    deadline = time.monotonic() + 120
    while not (raw.exists() and raw.read_text(encoding="utf-8").count("\n") >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, "inference ended before the first batch"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    partial = raw.read_text(encoding="utf-8").count("\n")
    assert 2 <= partial < 40, partial  # killed mid-run
    assert not out.exists()  # the output is written whole at the end, never half

    again = run(args[1:])
    assert again.returncode == 0, again.stderr[-2000:]
    rows = read_jsonl(out)
    ids = [r["id"] for r in read_jsonl(src)]
    assert [r["id"] for r in rows] == ids  # every id exactly once, in input order
    assert [r["output"] for r in rows] == [r["output"] for r in records] * 8
    assert sorted(r["id"] for r in read_jsonl(raw)) == sorted(ids)  # and once in the raw answers
    assert f"{40 - partial} generated now" in again.stdout


def test_a_template_other_than_the_adapters_is_refused_unless_forced(adapter, tmp_path):
    from core.loader import choose_template, recorded_template
    from core.tuning import read_adapter_meta

    recorded = recorded_template(read_adapter_meta(adapter))
    with pytest.raises(UserError, match="trained with prompt template 'alpaca', not 'chatglm'"):
        choose_template(recorded, "chatglm", False)
    assert choose_template(recorded, "chatglm", True)[0].name == "chatglm"
    assert choose_template(recorded, "alpaca", False)[0].name == "alpaca"
    assert choose_template(None, None, False, has_chat_template=False)[0].name == "alpaca"
    inference = load_inference()
    with pytest.raises(UserError, match="disagree"):
        inference.main(lora_weights=str(adapter), prompt_template_name="alpaca", prompt_template="chatglm",
                       output_file=str(tmp_path / "never.json"))
    assert not (tmp_path / "never.json").exists()


def test_base_model_with_a_chat_template_is_prompted_with_it(toy_glm_path, tmp_path):
    """Defect 7: inference defaulted to alpaca even when the tokenizer has a chat template."""
    src, out = tmp_path / "valid.json", tmp_path / "pred.json"
    src.write_text('{"id": 1, "instruction": "Extract triples.", "input": "Ann works for Acme."}\n', encoding="utf-8")
    proc = run(["--base_model", toy_glm_path, "--input_file", src, "--output_file", out, "--max_new_tokens", 4])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "template chat_template" in proc.stdout
    [raw] = read_jsonl(tmp_path / "pred.raw.jsonl")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(toy_glm_path))
    assert raw["prompt"] == tok.apply_chat_template([{"role": "user", "content": "Extract triples.\nAnn works for "
                                                      "Acme."}], add_generation_prompt=True, tokenize=False)


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


def test_rerun_with_another_template_asks_every_id_again_and_max_tokens_is_max_new_tokens(adapter, records,
                                                                                          tmp_path, capsys):
    """The sidecar that refused a resume with other settings is gone: run_prompts' one resume rule asks again every
    id whose prompt changed (here: another template, forced)."""
    inference = load_inference()
    src, out = write_input(tmp_path / "valid.json", records), tmp_path / "pred.json"
    common = dict(lora_weights=str(adapter), input_file=str(src), output_file=str(out), batch_size=5)
    inference.main(max_new_tokens=64, **common)
    assert "(5 generated now; template alpaca)" in capsys.readouterr().out
    inference.main(max_tokens=64, **common)
    assert "(0 generated now; template alpaca)" in capsys.readouterr().out
    assert [r["output"] for r in read_jsonl(out)] == [r["output"] for r in records]
    inference.main(max_tokens=4, prompt_template_name="chatglm", force_template=True, **common)
    assert "(5 generated now; template chatglm)" in capsys.readouterr().out
    assert all(len(r["output"]) < len(g["output"]) for r, g in zip(read_jsonl(out), records, strict=True))
    with pytest.raises(UserError, match="--max_new_tokens 64 and --max_tokens 4 disagree"):
        inference.main(max_new_tokens=64, max_tokens=4, **common)


def test_torchrun_two_processes_shard_the_records_and_merge_them_in_input_order(adapter, records, tmp_path):
    src = write_input(tmp_path / "valid.json", records, copies=2)
    out = tmp_path / "pred.json"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(SCRIPT), "--lora_weights", str(adapter), "--input_file", str(src), "--output_file",
                           str(out), "--batch_size", "2", "--max_new_tokens", "64"],
                          capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(10 generated now, merged from 2 processes; template alpaca)" in proc.stdout
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in read_jsonl(src)]
    assert [r["output"] for r in rows] == [r["output"] for r in records] * 2
    assert sorted(r["id"] for r in read_jsonl(tmp_path / "pred.raw.jsonl")) == sorted(r["id"] for r in rows)
    assert not list(tmp_path.glob("pred.json.rank*"))


def test_help_lists_the_seed_flags():
    proc = run(["--help"], env={**ENV, "PAGER": "cat"})
    for flag in ("--base_model", "--lora_weights", "--prompt_template", "--input_file", "--output_file",
                 "--load_8bit", "--batch_size", "--max_new_tokens", "--max_tokens", "--do_sample"):
        assert flag in proc.stdout + proc.stderr


def test_backend_openai_against_a_server_holding_the_adapter_gives_the_same_answers(adapter, records, tmp_path):
    """As with vLLM serving base + adapter: the server (core.serve here) has the adapter; inference renders the
    prompts with the adapter's recorded template and sends them to /v1/completions."""
    from core.serve.__main__ import load_engine
    from core.serve.app import create_app
    from core.testing.app_server import AppServer

    engine = load_engine(None, str(adapter))
    try:
        with AppServer(create_app(engine, model_name="kgc")) as server:
            src, out = write_input(tmp_path / "valid.json", records), tmp_path / "pred.json"
            env = {**ENV, "OPENAI_API_KEY": "sk-test-never-written", "KGLLM_CACHE_DIR": str(tmp_path / "cache")}
            proc = run(["--backend", "openai", "--base_url", server.base_url, "--model", "kgc", "--lora_weights",
                        adapter, "--input_file", src, "--output_file", out, "--max_new_tokens", 64], env=env)
    finally:
        engine.close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "model kgc on the server; template alpaca" in proc.stdout
    rows = read_jsonl(out)
    assert [(r["id"], r["output"]) for r in rows] == [(r["id"], r["output"]) for r in records]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "pred.raw.jsonl" for p in written)
    assert not [p for p in written if b"sk-test-never-written" in p.read_bytes()]


def test_a_server_only_flag_with_the_hf_backend_is_a_user_error_and_writes_nothing(tmp_path):
    src = tmp_path / "valid.json"
    src.write_text('{"id": 1, "instruction": "x"}\n', encoding="utf-8")
    inference = load_inference()
    for flag, value in (("rpm", 30), ("chat", True), ("max_retries", 1)):
        with pytest.raises(UserError, match=f"--{flag} applies to --backend openai only"):
            inference.main(base_model="unused", input_file=str(src), output_file=str(tmp_path / "p.json"),
                           **{flag: value})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["valid.json"]



def test_decoding_schema_gives_every_record_triples_of_its_relations_copied_from_its_input(toy_llama_path, tmp_path):
    """--decoding schema (core.decoding through the hf backend): on the random toy model every answer parses as
    CCKS triples, each relation from the record's instruction, each head and tail a substring of its input;
    the same command with free decoding gives (almost) none."""
    from core.parsing.ccks import parse_triples
    from core.parsing.ccks_instruction import relations_from_instruction

    lines = (CASE / "data" / "valid.json").read_text(encoding="utf-8").splitlines()[:4]
    src = tmp_path / "valid.json"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parsed = {}
    for mode in ("free", "schema"):
        out = tmp_path / f"{mode}.json"
        proc = run(["--base_model", toy_llama_path, "--input_file", src, "--output_file", out, "--max_tokens", 40,
                    "--decoding", mode, "--batch_size", 4])
        assert proc.returncode == 0, proc.stderr[-2000:]
        parsed[mode] = []
        for rec in read_jsonl(out):
            relations = relations_from_instruction(rec["instruction"])
            result = parse_triples(rec["output"], input_text=rec["input"], relations=relations)
            parsed[mode].append((rec, relations, result))
    assert sum(bool(r.triples) and r.status in ("ok", "repaired") for _, _, r in parsed["free"]) == 0
    for rec, relations, result in parsed["schema"]:
        assert result.status in ("ok", "repaired") and result.triples, (rec["output"], result.issues)
        for t in result.triples:
            assert t.relation in relations and t.head in rec["input"] and t.tail in rec["input"], rec["output"]
