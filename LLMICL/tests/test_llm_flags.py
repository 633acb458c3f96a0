"""Every core.llm.LLMConfig setting is a run.py key (key=value or --key value) and reaches the backend that answers.

run.py runs in-process against FakeOpenAI; a spy around core.llm.create_backend keeps the backend the run created,
so the test reads the config it really used.
"""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import UserError
from core.llm import LLMConfig
from core.testing.fake_openai import FakeOpenAI

TEXT = "text_input=Japan beat Syria in Doha."


def test_every_llm_config_field_is_a_key(m):
    fields = {f.name for f in dataclasses.fields(LLMConfig)}
    assert fields <= set(m.config.KEYS), fields - set(m.config.KEYS)
    assert set(m.config.LLM_KEYS) == fields - {"model", "api_key"}  # those two are resolved by the runner first


def test_help_of_the_llm_keys_is_llm_config_help(m):
    helps = LLMConfig.help()
    for name in ("rpm", "tpm", "backoff", "backoff_max", "prompt_template_name", "timeout", "max_retries"):
        assert m.config.KEYS[name].help == helps[name]
    text = m.config.help_text()
    assert f"{helps['backoff']} (default: 1.0)" in text  # not in run.yaml: LLMConfig's default is shown
    assert f"{helps['rpm']} (default: not set)" in text


@pytest.mark.parametrize("style", ["key=value", "--key value"])
def test_rate_limit_and_retry_keys_reach_the_backend_config(run_script, created_backends, env, style):
    given = {"rpm": "30", "tpm": "90000", "backoff": "0.25", "backoff_max": "3", "timeout": "7", "max_retries": "2",
             "prompt_template_name": "chatglm"}
    argv = [f"{k}={v}" for k, v in given.items()] if style == "key=value" else \
        [w for k, v in given.items() for w in (f"--{k}", v)]
    with FakeOpenAI(lambda body: '[{"E": "LOC", "W": "Doha"}]') as fake:
        run_script.main(["task=ner", TEXT, f"base_url={fake.base_url}", "model=fake", *argv])
        assert fake.count == 1
    assert len(created_backends) == 1
    cfg = created_backends[0].config
    assert (cfg.rpm, cfg.tpm, cfg.backoff, cfg.backoff_max, cfg.timeout, cfg.max_retries) == (30, 90000, 0.25, 3, 7, 2)
    assert cfg.prompt_template_name == "chatglm"


def test_keys_left_out_keep_llm_config_defaults(run_script, created_backends, env):
    with FakeOpenAI(lambda body: "[]") as fake:
        run_script.main(["task=ner", TEXT, f"base_url={fake.base_url}", "model=fake"])
    cfg, default = created_backends[0].config, LLMConfig()
    assert (cfg.rpm, cfg.tpm, cfg.backoff, cfg.backoff_max) == (None, None, default.backoff, default.backoff_max)


def test_a_bad_limit_is_a_one_line_user_error(run_script, env):
    with pytest.raises(UserError, match=r"--rpm must be > 0.0, got -5.0"):
        run_script.main(["task=ner", TEXT, "base_url=http://127.0.0.1:9/v1", "model=fake", "rpm=-5"])
