"""core.flags: the one command-line layer (flags from dataclasses, aliases, key=value, one-line errors)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core.errors import UserError
from core.flags import Flag, coerce, flags_of, help_text, parse, run


@dataclass
class Settings:
    train_path: str = field(default="data/train.json", metadata={"help": "training records",
                                                                 "aliases": ("-tp", "--train_file")})
    k: int = field(default=1, metadata={"help": "demos per relation"})
    lr: float = field(default=3e-4, metadata={"help": "learning rate"})
    group_by_length: bool = field(default=False, metadata={"help": "batch similar lengths"})
    modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"], metadata={"help": "LoRA targets"})
    base_model: str | None = field(default=None, metadata={"help": "model folder", "required": True})


FLAGS = flags_of(Settings)


def test_flags_come_from_the_fields_with_types_defaults_and_help():
    by_name = {f.name: f for f in FLAGS}
    assert (by_name["k"].type, by_name["k"].default, by_name["k"].help) == (int, 1, "demos per relation")
    assert by_name["modules"].type is list and by_name["modules"].default == ["q_proj", "v_proj"]
    assert by_name["base_model"].type is str and by_name["base_model"].required
    assert by_name["train_path"].spellings() == ["--train_path", "-tp", "--train_file"]


def test_every_spelling_and_style_reads_the_same_values():
    base = ["--base_model", "m"]
    a = parse(FLAGS, [*base, "--k", "5", "--lr=1e-3", "--group_by_length", "--modules", "[q_proj,k_proj]"], "p")
    b = parse(FLAGS, ["base_model=m", "k=5", "lr=0.001", "group_by_length=True", "modules=q_proj,k_proj"], "p",
              key_value=True)
    assert a == b
    assert a["k"] == 5 and a["lr"] == 0.001 and a["group_by_length"] is True and a["modules"] == ["q_proj", "k_proj"]
    assert parse(FLAGS, [*base, "-tp", "x.json"], "p")["train_path"] == "x.json"
    assert parse(FLAGS, [*base, "--group_by_length", "False"], "p")["group_by_length"] is False


@pytest.mark.parametrize(("argv", "message"), [
    (["--base_model", "m", "--kk", "3"], "p: unknown flag --kk (did you mean --k?)"),
    (["--base_model", "m", "--k", "abc"], "--k 'abc': expected an integer"),
    (["--base_model", "m", "--lr", "fast"], "--lr 'fast': expected a number"),
    (["--k", "2"], "p: --base_model is required (model folder)"),
    (["--base_model", "m", "-tp", "a", "--train_path", "b"], "p: -tp a and --train_path b disagree: give one of them"),
    (["--base_model"], "p: --base_model needs a value"),
    (["--base_model", "m", "stray"], "p: unexpected argument 'stray'; settings are given as --name value"),
])
def test_wrong_input_is_one_line_naming_the_flag(argv, message):
    with pytest.raises(UserError) as err:
        parse(FLAGS, argv, "p")
    assert str(err.value) == message


def test_help_shows_real_defaults_and_never_none_for_a_setting_that_has_one():
    text = help_text("p", "Train.\n\n    python p.py --base_model m", FLAGS)
    assert "--train_path, -tp, --train_file STR" in text and "(default: data/train.json)" in text
    assert "(default: [q_proj,v_proj])" in text and "(default: required)" in text
    assert "None" not in text


def test_run_exits_2_with_one_line_and_never_calls_main_on_a_bad_flag(capsys):
    called = []
    with pytest.raises(SystemExit) as exit_info:
        run(lambda **kw: called.append(kw), FLAGS, ["--base_model", "m", "--zzz", "1"], prog="p")
    assert exit_info.value.code == 2 and not called
    assert capsys.readouterr().err.strip() == "error: p: unknown flag --zzz; p --help lists the flags"
    run(lambda **kw: called.append(kw), FLAGS, ["-h"], prog="p", doc="Train.")
    assert not called and capsys.readouterr().out.startswith("Train.")


def test_coerce_reads_config_file_values_as_the_flag_type():
    assert coerce(Flag("n", int), 3) == 3 and coerce(Flag("n", float), "2") == 2.0
    assert coerce(Flag("labels", list), ["a", "b"]) == ["a", "b"] and coerce(Flag("x", str), "None") is None
    with pytest.raises(UserError):
        coerce(Flag("n", int), True)
