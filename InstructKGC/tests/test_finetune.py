"""InstructKGC/finetune.py and its scripts: adapters that memorise their records and reproduce them in a FRESH process
(LoRA on the toy LLaMA and the toy GLM, P-Tuning v2 on the toy GLM), torchrun with 2 processes, one-line errors
before training, --help."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.modload import load_module
from core.testing.adapters import ALL_LINEAR, RECIPES, memorised_adapter, memorised_records

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "InstructKGC"
SCRIPTS = CASE / "scripts"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHON": sys.executable, "TQDM_DISABLE": "1"}
SEED_FLAGS = ["base_model", "train_path", "valid_path", "val_set_size", "output_dir", "batch_size", "micro_batch_size",
              "num_epochs", "learning_rate", "cutoff_len", "lora_r", "lora_alpha", "lora_dropout",
              "lora_target_modules", "train_on_inputs", "group_by_length", "prompt_template_name",
              "resume_from_checkpoint", "micro_train_batch_size", "valid_file", "finetuning_type", "bits",
              "pre_seq_len", "prefix_projection", "seed", "device"]

# A fresh interpreter: base + adapter from disk, batched greedy generation with core.generate, the recorded template.
FRESH = """
import json, sys
from core.generate import generate
from core.models import load_model_and_tokenizer
from core.loader import load_model_with_adapter
from core.tuning import adapter_template
records = json.loads(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    model, tok, meta = load_model_with_adapter(None, path)
    template = adapter_template(meta)
    prompts = [template.render(r["instruction"], r["input"], tok) for r in records]
    out[path] = [template.response(o.text) for o in generate(model, tok, prompts, batch_size=3, max_new_tokens=48,
                                                             progress=False)]
    if meta["finetuning_type"] == "ptuning":  # the same prompts through the base model alone
        base, btok = load_model_and_tokenizer(meta["base_model"])
        out[path + ":base"] = [template.response(o.text) for o in generate(base, btok, prompts, batch_size=3,
                                                                           max_new_tokens=16, progress=False)]
print(json.dumps(out, ensure_ascii=False))
"""


def run(cmd, cwd=None, env=None, timeout=300):
    return subprocess.run(cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=timeout)


def recipe_flags(kind, data):
    """The memorisation recipe of core.testing.adapters as finetune.py flags (extra script arguments win)."""
    lora = RECIPES["lora"]
    return ["--train_path", str(data), "--valid_path", str(data), "--batch_size", "5", "--micro_batch_size", "5",
            "--max_steps", str(lora["max_steps"]), "--learning_rate", str(lora["learning_rate"]), "--lora_r",
            str(lora["lora_r"]), "--lora_alpha", str(lora["lora_alpha"]), "--lora_dropout", "0",
            "--lora_target_modules", "[" + ",".join(ALL_LINEAR[kind]) + "]", "--save_steps", "1000000", "--seed", "0",
            "--prompt_template_name", "alpaca", "--device", "cpu", "--logging_steps", "50"]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "mem.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in memorised_records()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def script_adapter(records, tmp_path_factory):
    """A LoRA adapter trained by run_finetune_lora.sh (run from another directory) on the memorised records."""
    out = tmp_path_factory.mktemp("adapters")
    done = run(["bash", str(SCRIPTS / "run_finetune_lora.sh"), *recipe_flags("llama", records), "--output_dir",
                str(out / "llama")], cwd=out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"adapter: {out / 'llama'}" in done.stdout
    return out / "llama"


@pytest.fixture(scope="module")
def fresh_outputs(script_adapter):
    """Greedy outputs of each adapter (and of its base model) computed in ONE fresh Python process."""
    paths = [str(script_adapter), str(memorised_adapter("glm", "lora")), str(memorised_adapter("glm", "ptuning"))]
    done = run([sys.executable, "-c", FRESH, json.dumps(memorised_records(), ensure_ascii=False), *paths])
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = json.loads(done.stdout.strip().splitlines()[-1])
    return dict(zip(["llama-lora", "glm-lora", "glm-ptuning"], [(outputs[p], outputs.get(p + ":base")) for p in paths],
                    strict=True))


TARGETS = [r["output"] for r in memorised_records()]


def test_lora_on_the_toy_llama_memorises_and_a_fresh_process_reproduces_every_target(fresh_outputs, script_adapter):
    assert fresh_outputs["llama-lora"][0] == TARGETS
    meta = json.loads((script_adapter / "kgllm_adapter.json").read_text(encoding="utf-8"))
    assert (meta["model_type"], meta["template"], meta["finetuning_type"], meta["cutoff_len"]) == \
        ("llama", "alpaca", "lora", 512)
    assert Path(meta["base_model"]).name == "llama" and meta["train"]["steps"] == RECIPES["lora"]["max_steps"]


def test_lora_on_the_toy_glm_memorises_and_a_fresh_process_reproduces_every_target(fresh_outputs):
    assert fresh_outputs["glm-lora"][0] == TARGETS


def test_glm_lora_script_finds_the_native_glm_attention_modules(tmp_path):
    done = run(["bash", str(SCRIPTS / "run_finetune_glm_lora.sh"), "--max_steps", "2", "--output_dir",
                str(tmp_path / "glm"), "--device", "cpu"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads((tmp_path / "glm" / "kgllm_adapter.json").read_text(encoding="utf-8"))
    assert (meta["model_type"], meta["template"], meta["lora_target_modules"], meta["lora_alpha"]) == \
        ("glm", "chatglm", ["q_proj", "v_proj"], 32)


def test_ptuning_v2_on_the_toy_glm_reproduces_every_target_and_differs_from_the_base(fresh_outputs):
    tuned, base = fresh_outputs["glm-ptuning"]
    assert tuned == TARGETS
    assert all(b != t for b, t in zip(base, TARGETS, strict=True))  # the prefix is really used at generation


def test_ptuning_script_trains_a_prefix_on_the_toy_glm(tmp_path):
    done = run(["bash", str(SCRIPTS / "run_finetune_ptuning.sh"), "--max_steps", "2", "--output_dir",
                str(tmp_path / "pt"), "--device", "cpu"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads((tmp_path / "pt" / "kgllm_adapter.json").read_text(encoding="utf-8"))
    assert (meta["finetuning_type"], meta["pre_seq_len"], meta["prefix_projection"], meta["model_type"],
            meta["template"]) == ("ptuning", 16, False, "glm", "chatglm")


def test_torchrun_with_two_cpu_processes_saves_a_loadable_adapter(tmp_path):
    from core.loader import load_model_with_adapter

    env = {**ENV, "NPROC": "2", "DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
    done = run(["bash", str(SCRIPTS / "run_finetune_multi.sh"), "--max_steps", "2", "--output_dir",
                str(tmp_path / "ddp")], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("adapter: ") == 1  # only rank 0 saves and reports
    model, tok, meta = load_model_with_adapter(None, tmp_path / "ddp")
    assert meta["train"]["world_size"] == 2 and meta["train"]["steps"] == 2
    assert meta["finetuning_type"] == "lora" and model.peft_config["default"].r == 8


@pytest.fixture(scope="module")
def finetune():
    return load_module(CASE / "finetune.py", "_instructkgc_finetune")


def bad_file(tmp_path, line):
    good = {"instruction": "抽取", "input": "故宫位于北京。", "output": "(故宫,位于,北京)"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(good, ensure_ascii=False) + "\n" + json.dumps(line, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return str(path)


BAD = {
    "missing field": (lambda t: ["--train_path", bad_file(t, {"instruction": "a", "input": "b"})],
                      'error: bad.json:2: field "output": missing'),
    "empty output": (lambda t: ["--train_path", bad_file(t, {"instruction": "a", "input": "b", "output": ""})],
                     'error: bad.json:2: field "output": empty'),
    "longer than cutoff_len": (lambda t: ["--cutoff_len", "40"], "error: train.json:1: record is"),
    "unknown template": (lambda t: ["--prompt_template_name", "vicuna"], "error: unknown prompt template 'vicuna'"),
    "missing base model": (lambda t: ["--base_model", str(t / "no-such-model")], "error: base model '"),
    "no base model": (lambda t: ["--base_model", ""], "error: finetune.py: --base_model is required"),
    "bad finetuning type": (lambda t: ["--finetuning_type", "adapter"], "error: --finetuning_type must be one of"),
    "bad bits": (lambda t: ["--bits", "3"], "error: --bits must be 4, 8, 16 or 32"),
    "bad learning rate": (lambda t: ["--learning_rate", "0"], "error: --learning_rate must be a number > 0"),
    "aliases disagree": (lambda t: ["--micro_batch_size", "4", "--micro_train_batch_size", "2"],
                         "error: finetune.py: --micro_batch_size 4 and --micro_train_batch_size 2 disagree"),
    "unknown target module": (lambda t: ["--lora_target_modules", "[query_key_value]", "--max_steps", "1"],
                              "error: --lora_target_modules: query_key_value not found in the model"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_a_one_line_error_and_exit_2_before_training(case, finetune, toy_llama_path, tmp_path, capsys,
                                                                monkeypatch):
    """Defect 3 ("no base model"): a run without --base_model trained the toy model silently."""
    from core.flags import run

    monkeypatch.delenv("BASE_MODEL", raising=False)
    flags, message = BAD[case]
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        run(finetune.main, finetune.flags(), ["--base_model", str(toy_llama_path), *flags(tmp_path), "--output_dir",
                                              str(out), "--device", "cpu"], prog="finetune.py")
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2
    assert err[-1].startswith(message), err
    assert "Traceback" not in "\n".join(err)
    assert not (out / "kgllm_adapter.json").exists() and not list(out.glob("checkpoint-*"))


def test_bits_4_without_bitsandbytes_is_a_one_line_error(finetune, toy_llama_path, tmp_path, capsys, monkeypatch):
    from core.flags import run

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # `import bitsandbytes` now raises ImportError
    with pytest.raises(SystemExit) as exit_info:
        run(finetune.main, finetune.flags(), ["--base_model", str(toy_llama_path), "--bits", "4", "--output_dir",
                                              str(tmp_path / "out"), "--device", "cpu"], prog="finetune.py")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == "error: --bits 4 needs bitsandbytes (pip install bitsandbytes)"
    assert not (tmp_path / "out").exists()


def test_the_script_exits_2_with_one_line_on_stderr(toy_llama_path, tmp_path):
    done = run([sys.executable, str(CASE / "finetune.py"), "--base_model", str(toy_llama_path), "--train_path",
                bad_file(tmp_path, {"instruction": "a", "input": "b", "output": "  "}), "--output_dir",
                str(tmp_path / "out")])
    assert done.returncode == 2
    assert [ln for ln in done.stderr.splitlines() if ln.startswith("error:")] == \
        ['error: bad.json:2: field "output": empty (nothing to learn)']
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_help_lists_the_seed_flags_and_the_new_ones():
    done = run([sys.executable, str(CASE / "finetune.py"), "--help"])
    assert done.returncode == 0
    for flag in SEED_FLAGS:
        assert f"--{flag}" in done.stdout + done.stderr, flag


def test_scripts_are_short_run_from_anywhere_and_end_without_a_dangling_backslash():
    for script in sorted(SCRIPTS.glob("run_finetune_*.sh")):
        lines = script.read_text(encoding="utf-8").splitlines()
        assert 5 <= len(lines) <= 15, script.name
        assert not lines[-1].rstrip().endswith("\\"), script.name
        assert 'dirname "${BASH_SOURCE[0]}"' in script.read_text(encoding="utf-8") and "${PYTHON:-python}" in \
            script.read_text(encoding="utf-8"), script.name
        assert run(["bash", "-n", str(script)]).returncode == 0, script.name


def test_the_deepspeed_zero2_config_is_valid_json_for_the_trainer():
    config = json.loads((CASE / "ds_config_zero2.json").read_text(encoding="utf-8"))
    assert config["zero_optimization"]["stage"] == 2
    assert config["train_micro_batch_size_per_gpu"] == config["gradient_accumulation_steps"] == "auto"
