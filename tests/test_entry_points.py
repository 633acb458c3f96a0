"""Every entry point, discovered (a new script is covered without editing this file), on the one command-line layer.

- every case script with a `__main__` block, every core module with one (`python -m core.kg`, `core.toy`, ...) and
  every `kgllm` subcommand answers `--help` (and `-h`, the same page) with exit 0, no traceback, no fire banner, no
  `None` as a default (a command with subcommands: its overview and each subcommand's help);
- an unknown flag and a wrongly typed value are one `error: ...` line and exit 2, before anything is written;
- every case entry point that talks to an LLM takes every core.llm.LLMConfig field as a flag, and the values reach
  the config of the backend the run creates (in-process against FakeOpenAI, read through `created_backends`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import COMMANDS
from core.llm import LLMConfig
from core.testing.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted(d for d in ROOT.iterdir() if d.is_dir() and not d.name.startswith(".") and (d / "tests").is_dir())
MAIN = re.compile(r"^if __name__ == [\"']__main__[\"']:", re.M)


def _has_main(path: Path) -> bool:
    return bool(MAIN.search(path.read_text(encoding="utf-8")))


def discover() -> dict[str, list[str]]:
    """Entry point id -> the command that starts it (after the interpreter)."""
    found = {}
    for case in CASES:
        for script in sorted(case.glob("*.py")):
            if _has_main(script):
                found[f"{case.name}/{script.name}"] = [str(script)]
    for path in sorted((ROOT / "core").rglob("*.py")):
        if path.name != "cli.py" and (path.name == "__main__.py" or _has_main(path)):
            parts = path.relative_to(ROOT).with_suffix("").parts
            module = ".".join(parts[:-1] if path.name == "__main__.py" else parts)
            found[module] = ["-m", module]
    found["kgllm"] = ["-m", "core.cli"]
    for name, command in COMMANDS.items():
        if command.available():
            found[f"kgllm {name}"] = ["-m", "core.cli", name]
    return found


ENTRY_POINTS = discover()
# kgllm's subcommands are entry points of their own (above): its overview is checked, not each subcommand again
OVERVIEW_ONLY = {"kgllm"}


def test_discovery_finds_every_kind_of_entry_point():
    assert {"InstructKGC/inference.py", "CodeKGC/codeparse.py", "LLMICL/run.py", "UnleashLLMRE/gpt3DA.py",
            "core.kg", "core.serve", "core.toy", "core.testing.fake_openai", "kgllm", "kgllm kg"} <= set(ENTRY_POINTS)
    assert "UnleashLLMRE/re_cli.py" not in ENTRY_POINTS  # a helper module, no __main__


def start(entry: str, *args: str, cwd: Path | None = None, home: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("OPENAI_API_KEY", None)
    env.pop("BASE_MODEL", None)
    if home is not None:
        env.update(HOME=str(home), KGLLM_CACHE_DIR=str(home / "cache"), XDG_CACHE_HOME=str(home / "xdg"))
    return subprocess.run([sys.executable, *ENTRY_POINTS[entry], *args], capture_output=True, text=True, env=env,
                          cwd=cwd or ROOT, timeout=120)


def subcommands(help_out: str) -> list[str]:
    """The names listed under `commands:` in a help page (empty for a command without subcommands)."""
    if "\ncommands:\n" not in help_out:
        return []
    block = help_out.split("\ncommands:\n", 1)[1]
    return [line.split()[0] for line in block.splitlines() if line.startswith("  ") and line.strip()]


def check_help(proc: subprocess.CompletedProcess, what: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{what} --help: exit {proc.returncode}\n{out[-2000:]}"
    assert "Traceback" not in out, f"{what} --help:\n{out[-2000:]}"
    assert "INFO: Showing help" not in out and "NAME\n" not in out, f"{what} --help prints fire's banner"
    none_default = re.search(r".*default[:=]?\s*None\b.*", out, re.I)
    assert none_default is None, f"{what} --help shows None as a default: {none_default.group(0)}"
    assert "usage: " in out, f"{what} --help has no usage line"
    return proc.stdout


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_help_exits_0_without_traceback_banner_or_none_defaults(entry):
    out = check_help(start(entry, "--help"), entry)
    assert start(entry, "-h").stdout == out, f"{entry}: -h is not --help"
    if entry in OVERVIEW_ONLY:
        return
    for name in subcommands(out):
        check_help(start(entry, name, "--help"), f"{entry} {name}")
    if entry.split("/")[0] in {c.name for c in CASES} and "--base_url" in out and entry not in ASKS_NO_MODEL:
        assert entry in LLM_RUNS, f"{entry} talks to an LLM: add a run of it to LLM_RUNS below"


TYPED = re.compile(r"^  (--\w+)(?:, \S+)* (INT|FLOAT|\{[^}]*\})$", re.M)


def bad_value_target(entry: str) -> tuple[list[str], str, str] | None:
    """(words before the flag, the flag, a value of the wrong type) for the first INT, FLOAT or choice flag of the
    entry point (of its first subcommand that has one); None when it has none."""
    out = start(entry, "--help").stdout
    for prefix in [[]] if not subcommands(out) else [[name] for name in subcommands(out)]:
        page = start(entry, *prefix, "--help").stdout if prefix else out
        match = TYPED.search(page)
        if match:
            return prefix, match.group(1), "not-a-number" if match.group(2) in ("INT", "FLOAT") else "no-such-choice"
    return None


def assert_one_line_error(proc: subprocess.CompletedProcess, *parts: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert all(p in lines[0] for p in parts), (lines[0], parts)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_unknown_flag_and_wrong_type_are_one_line_exit_2_and_write_nothing(entry, tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    out = start(entry, "--help").stdout
    prefix = [subcommands(out)[0]] if subcommands(out) and entry not in OVERVIEW_ONLY else []
    proc = start(entry, *prefix, "--no_such_flag", "1", cwd=work, home=home)
    assert_one_line_error(proc, "--no_such_flag")
    target = None if entry in OVERVIEW_ONLY else bad_value_target(entry)
    if target is not None:
        words, flag, value = target
        proc = start(entry, *words, flag, value, cwd=work, home=home)
        assert_one_line_error(proc, flag, repr(value), "expected")
    assert [p for p in tmp_path.rglob("*") if p not in (home, work)] == [], "an entry point wrote files on a bad flag"


# --- every LLMConfig field is a flag of every case entry point that talks to an LLM and reaches its backend ---

ASKS_NO_MODEL = {"LLMICL/preprocess.py"}  # takes run.py's settings, prints the prompts, asks no model
CASE_DATA = {"ccks": '{"id": "a", "instruction": "Extract triples.", "input": "Ann works for Acme."}\n',
             "code": '{"id": "a", "text": "Ann Lee works for Acme Corp .", "triple_list": []}\n'}
LLM_RUNS = {  # entry point -> its arguments for a small run ({tmp}: a scratch folder, {data}: files made there)
    "InstructKGC/inference.py": ["--input_file", "{tmp}/ccks.json", "--output_file", "{tmp}/pred.json",
                                 "--max_tokens", "8"],
    "InstructKGC/iepile_predict.py": ["--input_file", str(ROOT / "InstructKGC/tests/data/iepile_answered.json"),
                                      "--output_file", "{tmp}/pred.jsonl"],
    "CodeKGC/codekgc.py": ["--input_file", "{tmp}/code.json", "--output_file", "{tmp}/pred.jsonl"],
    "LLMICL/run.py": ["task=ner", "language=en", "text_input=Japan beat Syria in Doha.", "output_file={tmp}/ner.jsonl"],
    "UnleashLLMRE/gpt3ICL.py": ["-tp", str(ROOT / "UnleashLLMRE/data/train.json"), "-ttp", "{tmp}/tacred.json",
                                "-os", "{tmp}/os", "-on", "{tmp}/on", "--prompt", "text"],
    "UnleashLLMRE/gpt3DA.py": ["-dp", str(ROOT / "UnleashLLMRE/data/train.json"), "--output_dir", "{tmp}/da",
                               "--dataset", "tacred", "--k", "1", "--num_per_relation", "1"],
}


def llm_values(fake: FakeOpenAI, tmp: Path) -> dict:
    """A value for every LLMConfig field, each other than LLMConfig's default where the field allows it, valid for
    an openai run against FakeOpenAI (the hf-only fields go into the config all the same)."""
    adapter = tmp / "adapter"
    adapter.mkdir()
    (adapter / "kgllm_adapter.json").write_text(json.dumps({"template": "alpaca", "base_model": "base-id"}))
    values = {"backend": "openai", "model": "fake-model", "base_url": fake.base_url, "chat": False,
              "concurrency": 3, "timeout": 7.0, "max_retries": 2, "rpm": 60000.0, "tpm": 90000000.0,
              "backoff": 0.25, "backoff_max": 3.0, "cache_dir": str(tmp / "llm-cache"), "no_cache": True,
              "base_model": "base-id", "lora_weights": str(adapter), "bits": 4, "dtype": "fp32", "batch_size": 3,
              "prompt_template_name": "alpaca", "force_template": True, "api_key": "sk-flag-test",
              "decoding": "json", "structured": "vllm"}
    assert set(values) == {f.name for f in dataclasses.fields(LLMConfig)}, "a new LLMConfig field: give it a value"
    return values


def run_in_process(entry: str, argv: list[str]) -> None:
    """The script as `python SCRIPT ARGS` runs it, in this process (so the created_backends spy sees its backend)."""
    script = ROOT / entry
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(script), *argv]
    sys.path.insert(0, str(script.parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as done:
        assert done.code in (0, None), f"{entry} exited {done.code}"
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


def prepare(tmp: Path, argv: list[str]) -> list[str]:
    (tmp / "ccks.json").write_text(CASE_DATA["ccks"], encoding="utf-8")
    (tmp / "code.json").write_text(CASE_DATA["code"], encoding="utf-8")
    first = json.loads((ROOT / "UnleashLLMRE/data/test.json").read_text(encoding="utf-8"))[0]
    (tmp / "tacred.json").write_text(json.dumps(first) + "\n", encoding="utf-8")
    return [a.replace("{tmp}", str(tmp)) for a in argv]


@pytest.mark.parametrize("entry", sorted(LLM_RUNS))
def test_every_llm_config_field_is_a_flag_that_reaches_the_backend(entry, tmp_path, created_backends, monkeypatch,
                                                                   capsys):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BASE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KGLLM_CACHE_DIR", str(tmp_path / "default-cache"))
    run_in_process(entry, ["--help"])
    shown = capsys.readouterr().out
    missing = [f.name for f in dataclasses.fields(LLMConfig) if not re.search(rf"^  --{f.name}\b", shown, re.M)]
    assert not missing, f"{entry} --help lacks LLMConfig flags {missing}"

    with FakeOpenAI(lambda body: "(Ann, work for, Acme)") as fake:
        values = llm_values(fake, tmp_path)
        flags = [w for k, v in values.items() for w in (f"--{k}", str(v).lower() if isinstance(v, bool) else str(v))]
        run_in_process(entry, [*prepare(tmp_path, LLM_RUNS[entry]), *flags])
        assert fake.count >= 1, f"{entry} sent no request"
        assert {h.get("Authorization") or h.get("authorization") for h in fake.headers} == {"Bearer sk-flag-test"}
        config = created_backends[0].config
        assert {k: getattr(config, k) for k in values} == values

        created_backends.clear()
        run_in_process(entry, [*prepare(tmp_path, LLM_RUNS[entry]), "--base_url", fake.base_url, "--model",
                               "fake-model", "--api_key", "sk-flag-test", "--backend", "openai"])
    config, default = created_backends[0].config, LLMConfig()
    left_out = [k for k in values if k not in ("backend", "model", "base_url", "api_key", "chat")]
    assert {k: getattr(config, k) for k in left_out} == {k: getattr(default, k) for k in left_out}
