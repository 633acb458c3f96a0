"""Every core.llm.LLMConfig setting is a flag of gpt3ICL.py and gpt3DA.py (re_cli.add_llm_flags) and reaches the backend.

The parser is built as both scripts build it; the backend is made from the parsed flags as the scripts make it. One
subprocess run shows --backoff really sets the wait before a retry of a 429 (FakeOpenAI answers 429 once).
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.llm import LLMConfig, create_backend
from core.modload import load_module
from core.testing.fake_openai import FakeOpenAI

CASE = Path(__file__).resolve().parents[1]
DATA = CASE / "data"


@pytest.fixture(scope="module")
def re_cli():
    return load_module(CASE / "re_cli.py", "unleashllmre_re_cli")


def parse(re_cli, *argv):
    parser = argparse.ArgumentParser()
    re_cli.add_llm_flags(parser)
    return parser.parse_args([str(a) for a in argv])


def test_every_llm_config_field_is_a_flag(re_cli):
    fields = {f.name for f in dataclasses.fields(LLMConfig)}
    assert set(re_cli.LLM_FLAGS) == fields - {"api_key"}  # api_key is the seed's --api_key / -ak
    args = parse(re_cli)
    assert fields <= set(vars(args))


def test_rate_limit_and_retry_flags_reach_the_backend_config(re_cli):
    args = parse(re_cli, "--base_url", "http://127.0.0.1:9/v1", "--model", "m", "--rpm", 30, "--tpm", 90000,
                 "--backoff", 0.25, "--backoff_max", 3, "--timeout", 7, "--max_retries", 2,
                 "--prompt_template_name", "chatglm")
    with create_backend(re_cli.llm_config(args)) as backend:
        cfg = backend.config
    assert (cfg.rpm, cfg.tpm, cfg.backoff, cfg.backoff_max, cfg.timeout, cfg.max_retries) == (30, 90000, 0.25, 3, 7, 2)
    assert cfg.prompt_template_name == "chatglm"


def test_flags_left_out_keep_llm_config_defaults(re_cli):
    cfg, default = re_cli.llm_config(parse(re_cli)), LLMConfig()
    assert (cfg.rpm, cfg.tpm, cfg.backoff, cfg.backoff_max, cfg.timeout, cfg.max_retries) == (
        None, None, default.backoff, default.backoff_max, default.timeout, default.max_retries)


def test_help_text_is_llm_config_help_with_its_default(re_cli):
    parser = argparse.ArgumentParser()
    re_cli.add_llm_flags(parser)
    helps = {a.dest: a.help for a in parser._actions}
    assert helps["backoff"] == LLMConfig.help()["backoff"] + " (default 1.0)"
    assert helps["rpm"] == LLMConfig.help()["rpm"]


@pytest.mark.parametrize("script", ["gpt3ICL.py", "gpt3DA.py"])
def test_both_scripts_list_the_retry_flags_in_help(script):
    out = subprocess.run([sys.executable, str(CASE / script), "--help"], capture_output=True, text=True,
                         check=True).stdout
    for flag in ("--rpm", "--tpm", "--backoff", "--backoff_max", "--timeout", "--max_retries",
                 "--prompt_template_name"):
        assert f" {flag} " in out, flag


def test_backoff_flag_sets_the_wait_before_retrying_a_429(tmp_path):
    arrivals = []

    def once_429(body):
        arrivals.append(time.monotonic())
        return {"status": 429, "error": "slow down"} if len(arrivals) == 1 else "no relation"

    test_file = tmp_path / "test.json"
    first = json.loads((DATA / "test.json").read_text(encoding="utf-8"))[0]
    test_file.write_text(json.dumps(first) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    env = dict(os.environ, OPENAI_API_KEY="sk-dummy", HF_HUB_OFFLINE="1", KGLLM_CACHE_DIR=str(tmp_path / "cache"))
    with FakeOpenAI(once_429) as fake:
        proc = subprocess.run([sys.executable, str(CASE / "gpt3ICL.py"), "-tp", str(DATA / "train.json"), "-ttp",
                               str(test_file), "-os", str(out), "-on", str(out / "nores"), "--prompt", "text", "--k", "1",
                               "--base_url", fake.base_url, "--model", "fake", "--max_retries", "1", "--backoff", "3",
                               "--backoff_max", "4"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(arrivals) == 2
    # backoff 3 waits 1.5-3 s before the first retry (the default, 1.0, would wait 0.5-1 s)
    assert arrivals[1] - arrivals[0] >= 1.5
    assert "1 retries" in proc.stderr
