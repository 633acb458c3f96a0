"""inference.py --backend openai takes the rate-limit / retry settings of core.llm.LLMConfig and they reach the backend.

The script runs in-process through its fire command line against FakeOpenAI; a spy around core.llm.create_backend
keeps the backend it created, so the test reads the config it really used.
"""

import importlib.util
import json
from pathlib import Path

import pytest

from core.errors import UserError, cli_main
from core.llm import LLMConfig
from core.testing.fake_openai import FakeOpenAI

SCRIPT = Path(__file__).resolve().parents[1] / "inference.py"
LIMITS = {"rpm": 30, "tpm": 90000, "backoff": 0.25, "backoff_max": 3, "timeout": 7, "max_retries": 2}


@pytest.fixture
def inference():
    spec = importlib.util.spec_from_file_location("kgc_inference_api_flags", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def one_record(tmp_path):
    src = tmp_path / "valid.json"
    src.write_text(json.dumps({"id": "a", "instruction": "Extract triples.", "input": "Ann works for Acme."}) + "\n",
                   encoding="utf-8")
    return src


def test_rate_limit_and_retry_flags_reach_the_backend_config(inference, created_backends, one_record, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy")
    out = tmp_path / "pred.json"
    with FakeOpenAI(lambda body: "(Ann, work for, Acme)") as fake:
        argv = ["--backend", "openai", "--base_url", fake.base_url, "--model", "fake-model", "--input_file",
                str(one_record), "--output_file", str(out), "--max_new_tokens", "16",
                "--cache_dir", str(tmp_path / "cache"), *[w for k, v in LIMITS.items() for w in (f"--{k}", str(v))]]
        cli_main(inference.main, argv)
        assert fake.count == 1
    cfg = created_backends[0].config
    assert {k: getattr(cfg, k) for k in LIMITS} == LIMITS
    assert cfg.cache_dir == str(tmp_path / "cache") and (tmp_path / "cache" / "responses.sqlite3").exists()
    assert json.loads(out.read_text(encoding="utf-8"))["output"] == "(Ann, work for, Acme)"


def test_flags_left_out_keep_llm_config_defaults(inference, created_backends, one_record, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy")
    monkeypatch.setenv("KGLLM_CACHE_DIR", str(tmp_path / "cache"))
    with FakeOpenAI(lambda body: "x") as fake:
        cli_main(inference.main, ["--backend", "openai", "--base_url", fake.base_url, "--input_file", str(one_record),
                                  "--output_file", str(tmp_path / "pred.json"), "--max_new_tokens", "16"])
    cfg, default = created_backends[0].config, LLMConfig()
    assert {k: getattr(cfg, k) for k in LIMITS} == {k: getattr(default, k) for k in LIMITS}


def test_an_api_flag_with_the_hf_backend_is_a_user_error(inference, one_record, tmp_path):
    with pytest.raises(UserError, match="--rpm applies to --backend openai only"):
        inference.main(base_model="unused", input_file=str(one_record), output_file=str(tmp_path / "p.json"), rpm=30)
    assert not (tmp_path / "p.json").exists()


def test_help_of_the_api_flags_is_llm_config_help(inference):
    helps = LLMConfig.help()
    for name in inference.API_FLAGS:
        assert f"{name}: --backend openai: {helps[name]}" in inference.main.__doc__
