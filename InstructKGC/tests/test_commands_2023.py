"""DeepKE's 2023 InstructKGC commands (../shared/FORMATS.md section 1) still run with their own spellings:
finetune.py with run_finetune.bash's flags (`--micro_train_batch_size`, list as '[q_proj,v_proj]', bare booleans,
`--wandb_*`), inference.py with `--prompt_template` and `--max_new_tokens`, utils/convert.py's `--pred_path
--tgt_path`, chained on the toy LLaMA."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CASE = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def run(script, *args, cwd):
    proc = subprocess.run([sys.executable, str(CASE / script), *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_finetune_inference_convert_with_the_2023_flags(toy_llama_path, tmp_path):
    train = [json.loads(line) for line in (CASE / "data" / "train.json").read_text(encoding="utf-8").splitlines()][:6]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.json").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train),
                                                  encoding="utf-8")
    valid = [{"id": i, "cate": r.get("cate", ""), "instruction": r["instruction"], "input": r["input"]}
             for i, r in enumerate(train[:2])]
    (tmp_path / "data" / "valid.json").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in valid),
                                                  encoding="utf-8")
    # scripts/run_finetune.bash of May 2023 (batch and epochs made small), run from the project folder
    run("finetune.py", "--base_model", toy_llama_path, "--train_path", "data/train.json",
        "--output_dir", "lora/llama-7b-e3-r8", "--batch_size", 4, "--micro_train_batch_size", 2, "--num_epochs", 1,
        "--learning_rate", "1e-4", "--cutoff_len", 512, "--val_set_size", 1, "--lora_r", 8, "--lora_alpha", 16,
        "--lora_dropout", 0.05, "--lora_target_modules", "[q_proj,v_proj]", "--train_on_inputs",
        "--group_by_length", "--wandb_project", "", "--prompt_template_name", "alpaca", cwd=tmp_path)
    adapter = tmp_path / "lora" / "llama-7b-e3-r8"
    assert (adapter / "adapter_config.json").is_file()
    assert json.loads((adapter / "adapter_config.json").read_text())["target_modules"] in (["q_proj", "v_proj"],
                                                                                             ["v_proj", "q_proj"])
    # scripts/run_inference.bash (without --load_8bit: 8-bit needs a GPU to be quick)
    proc = run("inference.py", "--base_model", toy_llama_path, "--lora_weights", "lora/llama-7b-e3-r8",
               "--prompt_template", "alpaca", "--input_file", "data/valid.json",
               "--output_file", "result/llama_7b_e3_r8.json", "--max_new_tokens", 8, cwd=tmp_path)
    assert "template alpaca" in proc.stdout
    answered = read_jsonl(tmp_path / "result" / "llama_7b_e3_r8.json")
    assert [r["id"] for r in answered] == [0, 1] and all(isinstance(r["output"], str) for r in answered)
    # utils/convert.py
    run("convert.py", "--pred_path", "result/llama_7b_e3_r8.json", "--tgt_path", "result/result_llama_7b_e3_r8.json",
        cwd=tmp_path)
    converted = read_jsonl(tmp_path / "result" / "result_llama_7b_e3_r8.json")
    assert [r["id"] for r in converted] == [0, 1]
    assert all(isinstance(r["kg"], list) and r["raw"] == a["output"] for r, a in zip(converted, answered, strict=True))
