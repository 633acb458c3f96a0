"""core.flags: the one command-line layer (flags from dataclasses, aliases, key=value, one-line errors)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core.errors import UserError
from core.flags import Command, Flag, complete, flags_of, parse, run, run_commands, take
from core.flags_help import help_text
from core.flags_values import coerce


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


@dataclass
class Tool:
    text: str | None = field(default=None, metadata={"help": "the text", "positional": True, "required": True})
    files: list[str] = field(default_factory=list, metadata={"help": "inputs", "aliases": ("-i",)})
    lang: str = field(default="zh", metadata={"help": "words", "choices": ("zh", "en")})
    out: str | None = field(default=None, metadata={"help": "where", "shown_default": "<stem>.json"})
    key: str | None = field(default="sk-secret", repr=False, metadata={"help": "deprecated key"})


TOOL = flags_of(Tool)


def test_positional_choices_repeated_and_several_word_lists():
    values = parse(TOOL, ["hello", "-i", "a.json", "--files", "b.json,c.json", "--lang", "en"], "t")
    assert (values["text"], values["files"], values["lang"]) == ("hello", ["a.json", "b.json", "c.json"], "en")
    many = flags_of(Settings)  # no positional setting: a list flag takes every word up to the next flag
    assert parse(many, ["--modules", "q_proj", "k_proj", "--k", "2", "--base_model", "m"], "p")["modules"] == \
        ["q_proj", "k_proj"]
    with pytest.raises(UserError, match=r"^--lang 'fr': expected one of zh, en$"):
        parse(TOOL, ["x", "--lang", "fr"], "t")
    with pytest.raises(UserError, match=r"^t: TEXT is required \(the text\)$"):
        parse(TOOL, ["--lang", "en"], "t")
    with pytest.raises(UserError, match=r"^t: unexpected argument 'y'"):
        parse(TOOL, ["x", "y"], "t")


def test_help_shows_choices_positional_computed_defaults_and_hides_secrets():
    text = help_text("t", "Tool.", TOOL)
    assert "usage: t TEXT [--flag value ...]" in text and "  TEXT STR" in text and "  --lang {zh,en}" in text
    assert "(default: <stem>.json)" in text and "(default: ***)" in text and "sk-secret" not in text


def test_complete_gives_a_python_caller_aliases_types_and_defaults():
    values = complete(FLAGS, {"base_model": "m", "train_file": "t.json", "k": "4"}, "p")
    assert (values["train_path"], values["k"], values["lr"]) == ("t.json", 4, 3e-4)
    with pytest.raises(UserError, match="unknown flag --kk"):
        complete(FLAGS, {"base_model": "m", "kk": 1}, "p")
    rest = dict(values)
    assert take(rest, Tool) == {} and take({"lang": "en", "k": 1}, Tool) == {"lang": "en"}


def test_run_takes_defaults_from_a_config_the_first_reading_names_and_shows_them(capsys):
    got = []

    def config(values):
        return {"k": 7, "train_file": "from-config.json"} if values["base_model"] == "cfg" else {}

    run(lambda **kw: got.append(kw), FLAGS, ["--base_model", "cfg", "--lr", "0.1"], prog="p", defaults=config)
    assert (got[0]["k"], got[0]["train_path"], got[0]["lr"]) == (7, "from-config.json", 0.1)
    run(lambda **kw: got.append(kw), FLAGS, ["--base_model", "cfg", "--k", "2"], prog="p", defaults=config)
    assert got[1]["k"] == 2  # a flag wins over the config
    run(lambda **kw: got.append(kw), FLAGS, ["--base_model", "cfg", "--help"], prog="p", defaults=config)
    out = capsys.readouterr().out
    assert len(got) == 2 and "(default: from-config.json)" in out and "demos per relation (default: 7)" in out


def test_run_commands_dispatches_lists_and_refuses_an_unknown_command(capsys):
    calls = []
    commands = [Command("fit", lambda **kw: calls.append(("fit", kw)), FLAGS, "train"),
                Command("show", lambda **kw: calls.append(("show", kw)), lambda: TOOL, "print")]
    run_commands(commands, ["show", "hi", "--lang", "en"], prog="tool")
    assert calls == [("show", {"text": "hi", "files": [], "lang": "en", "out": None, "key": "sk-secret"})]
    with pytest.raises(SystemExit) as done:
        run_commands(commands, ["--help"], prog="tool", doc="Tools.")
    assert done.value.code == 0 and "  fit   train\n  show  print" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        run_commands(commands, ["shwo"], prog="tool")
    assert done.value.code == 2 and capsys.readouterr().err == "error: tool: unknown command 'shwo'; did you mean show?\n"
    with pytest.raises(SystemExit) as done:
        run_commands(commands, ["fit", "--base_model", "m", "--k", "x"], prog="tool")
    assert done.value.code == 2 and capsys.readouterr().err == "error: --k 'x': expected an integer\n" and len(calls) == 1
