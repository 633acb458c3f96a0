"""Settings: the seed's key=value commands and --key value give the same run; defaults come from conf/run.yaml."""

from __future__ import annotations

import re

import pytest

from core.errors import UserError


def test_key_value_and_double_dash_forms_give_the_same_settings(m):
    seed_style = m.config.load_settings(["task=re", "language=en", "k=2", "zero_shot=False", "labels=[a, b]"])
    flag_style = m.config.load_settings(["--task", "re", "--language", "en", "--k", "2", "--zero_shot", "False",
                                         "--labels", "a,b"])
    equals_style = m.config.load_settings(["--task=re", "--language=en", "--k=2", "--zero_shot=False", "--labels=a,b"])
    assert seed_style.public() == flag_style.public() == equals_style.public()
    assert seed_style.k == 2 and seed_style.zero_shot is False and seed_style.labels == ["a", "b"]


def test_hydra_plus_prefix_and_bare_flag_are_accepted(m):
    settings = m.config.load_settings(["+task=ee", "--no_cache"])
    assert settings.task == "ee" and settings.no_cache is True


@pytest.mark.parametrize("given", ["ch", "cn", "CH", "zh"])
def test_seed_language_ch_is_an_alias_of_cn(m, given):
    assert m.config.load_settings([f"language={given}"]).language == "cn"


@pytest.mark.parametrize("value", ["['PER','ORG']", "[PER, ORG]", "PER,ORG", "PER，ORG", "PER、ORG"])
def test_labels_are_read_as_a_list_from_every_spelling(m, value):
    assert m.config.load_settings([f"labels={value}"]).labels == ["PER", "ORG"]


def test_seed_bug_yaml_none_is_none_not_the_string_none(m, tmp_path):
    conf = tmp_path / "run.yaml"
    conf.write_text("task: ner\ninstruction: None\nlabels: None\ndomain: null\ntext_input: ''\n", encoding="utf-8")
    settings = m.config.load_settings(["head_type=None"], defaults_file=conf)
    assert settings.instruction is None and settings.labels is None and settings.domain is None
    assert settings.text_input is None and settings.head_type is None


def test_shipped_run_yaml_has_no_string_none_and_sets_every_key_it_names(m):
    defaults = m.config.read_defaults()
    assert set(defaults) == set(m.config.KEYS)
    assert "None" not in [v for v in defaults.values() if isinstance(v, str)]
    assert defaults["task"] == "ner" and defaults["zero_shot"] is True and defaults["instruction"] is None


@pytest.mark.parametrize("argv, message", [
    (["taks=ner"], "run.py: unknown flag --taks (did you mean --task?)"),
    (["k=two"], "--k 'two': expected an integer"),
    (["zero_shot=maybe"], "--zero_shot 'maybe': expected true or false"),
    (["language=fr"], "language='fr'"),
    (["k=-1"], "k=-1: must be at least 0"),
    (["max_new_tokens=many"], "--max_new_tokens 'many': expected an integer"),
    (["justaword"], "run.py: unexpected argument 'justaword'"),
])
def test_bad_settings_are_one_line_user_errors(m, argv, message):
    with pytest.raises(UserError, match=re.escape(message)):
        m.config.load_settings(argv)


def test_api_key_is_kept_out_of_the_public_settings(m):
    settings = m.config.load_settings(["api_key=sk-should-not-show"])
    assert "api_key" not in settings.public() and "sk-should-not-show" not in repr(settings)


def test_help_lists_every_key_and_runs_from_any_folder(h, m, tmp_path):
    done = h.run_cli("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in m.config.KEYS:
        assert re.search(rf"^  --{name}[ ,\n]", done.stdout, re.M), name
    assert "  --max_tokens, --max_new_tokens INT" in done.stdout  # the name InstructKGC's 2023 inference used
    assert "python LLMICL/run.py" in done.stdout


def test_unknown_key_exits_2_with_one_line_and_no_traceback(h):
    done = h.run_cli("task=ner", "lables=[PER]")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: run.py: unknown flag --lables (did you mean --labels?)"


def test_a_bad_limit_is_a_one_line_user_error_before_any_request(run_script, env):
    with pytest.raises(UserError, match=r"--rpm must be > 0.0, got -5.0"):
        run_script.main(["task=ner", "text_input=Japan beat Syria.", "base_url=http://127.0.0.1:9/v1", "model=fake",
                         "rpm=-5"])

