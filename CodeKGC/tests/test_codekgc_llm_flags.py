"""Every core.llm.LLMConfig setting is a codekgc.py flag and reaches the backend that answers the prompts.

The script runs in-process through its fire command line (`cli_main(main, argv)`) against FakeOpenAI; a spy around
core.llm.create_backend keeps the backend the script created, so the test reads the config it really used.
"""

import dataclasses
import inspect
import json
from pathlib import Path

import pytest

from core.errors import cli_main
from core.llm import LLMConfig
from core.modload import load_module
from core.testing.fake_openai import FakeOpenAI

CASE = Path(__file__).resolve().parents[1]

ANSWER = "extract = Extract([Triple(person('Ann Lee'), Rel('Work for'), organization('Acme Corp')),])"


@pytest.fixture
def codekgc():
    return load_module(CASE / "codekgc.py", "_codekgc_cli_under_test")


def test_every_llm_config_field_is_a_flag_of_main(codekgc):
    params = set(inspect.signature(codekgc.main).parameters)
    fields = {f.name for f in dataclasses.fields(LLMConfig)} - {"api_key"}  # the key: OPENAI_API_KEY / openai_key
    assert fields <= params, fields - params


def test_help_text_of_the_limit_flags_is_llm_config_help(codekgc):
    helps = LLMConfig.help()
    for name in ("rpm", "tpm", "backoff", "backoff_max", "prompt_template_name", "timeout", "max_retries"):
        assert f"{name}: {helps[name]}" in codekgc.main.__doc__
    assert "backoff: " + helps["backoff"] + " (default 1.0)" in codekgc.main.__doc__


def test_rate_limit_and_retry_flags_reach_the_backend_config(codekgc, created_backends, tmp_path, monkeypatch):
    monkeypatch.setenv("KGLLM_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"id": "a", "text": "Ann Lee works for Acme Corp ."}) + "\n", encoding="utf-8")
    with FakeOpenAI(lambda body: ANSWER) as fake:
        codekgc_argv = ["--base_url", fake.base_url, "--input_file", str(data), "--output_file",
                        str(tmp_path / "pred.jsonl"), "--rpm", "30", "--tpm", "90000", "--backoff", "0.25",
                        "--backoff_max", "3", "--timeout", "7", "--max_retries", "2",
                        "--prompt_template_name", "chatglm"]
        cli_main(codekgc.main, codekgc_argv)
        assert fake.count == 1
    assert len(created_backends) == 1
    cfg = created_backends[0].config
    assert (cfg.rpm, cfg.tpm, cfg.backoff, cfg.backoff_max, cfg.timeout, cfg.max_retries) == (30, 90000, 0.25, 3, 7, 2)
    assert cfg.prompt_template_name == "chatglm"
    assert json.loads((tmp_path / "pred.jsonl").read_text(encoding="utf-8"))["status"] == "ok"


def test_flags_left_out_keep_llm_config_defaults(codekgc, created_backends, tmp_path, monkeypatch):
    monkeypatch.setenv("KGLLM_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"id": "a", "text": "Ann Lee works for Acme Corp ."}) + "\n", encoding="utf-8")
    with FakeOpenAI(lambda body: ANSWER) as fake:
        cli_main(codekgc.main, ["--base_url", fake.base_url, "--input_file", str(data), "--output_file",
                                str(tmp_path / "pred.jsonl")])
    cfg, default = created_backends[0].config, LLMConfig()
    assert (cfg.rpm, cfg.tpm, cfg.backoff, cfg.backoff_max, cfg.timeout, cfg.max_retries) == (
        None, None, default.backoff, default.backoff_max, default.timeout, default.max_retries)
