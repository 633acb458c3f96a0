import json
import os

import pytest

from core.errors import UserError
from core.templates import Template, get_template, load_template_file, register_template, template_names

TEXT_TEMPLATES = [n for n in template_names() if not get_template(n).needs_tokenizer]


def test_builtins_are_registered():
    assert {"alpaca", "chatglm", "chat_template"} <= set(template_names())


@pytest.mark.parametrize("name", TEXT_TEMPLATES)
@pytest.mark.parametrize("inp", ["张三出生于北京。", ""])
def test_render_then_response_round_trips(name, inp):
    t = get_template(name)
    prompt = t.render("抽取三元组 {input} stays literal", inp)
    assert "抽取三元组 {input} stays literal" in prompt
    if inp:
        assert inp in prompt
    answer = "(张三,出生地,北京)"
    assert t.response(prompt + answer) == answer
    assert t.response(answer + "\n") == answer


def test_alpaca_matches_the_seed_wording():
    t = get_template("alpaca")
    assert t.render("I", "X").endswith("### Instruction:\nI\n\n### Input:\nX\n\n### Response:\n")
    assert t.render("I").startswith("Below is an instruction that describes a task. Write a response")


def test_duplicate_name_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_template("alpaca", get_template("alpaca"))


def test_unknown_name_is_a_user_error_listing_known_ones():
    with pytest.raises(UserError, match="unknown prompt template 'nope'.*alpaca"):
        get_template("nope")


def test_template_file_by_path_is_found_independent_of_cwd(tmp_path, monkeypatch):
    p = tmp_path / "mine.json"
    p.write_text(json.dumps({"prompt_input": "Q: {instruction} {input}\nA:", "prompt_no_input": "Q: {instruction}\nA:",
                             "response_split": "A:"}), encoding="utf-8")
    t = get_template(str(p))
    assert t.render("x", "y") == "Q: x y\nA:" and t.response("Q: x y\nA: ok") == "ok"
    monkeypatch.chdir(tmp_path)
    assert os.getcwd() == str(tmp_path)
    assert get_template("alpaca").response_split == "### Response:"


def test_template_file_missing_field_is_reported(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"prompt_input": "x"}), encoding="utf-8")
    with pytest.raises(UserError, match='bad.json: field "prompt_no_input": missing'):
        load_template_file(p)


def test_messages_render_with_the_text_template():
    t = get_template("alpaca")
    prompt = t.render_messages([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Extract."}])
    assert prompt == t.render("Be brief.\n\nExtract.")


class _Tok:
    chat_template = "x"

    def apply_chat_template(self, msgs, add_generation_prompt, tokenize):
        assert add_generation_prompt and not tokenize
        return "".join(f"<{m['role']}>{m['content']}" for m in msgs) + "<assistant>"


def test_chat_template_uses_the_tokenizer_and_needs_one():
    t = get_template("chat_template")
    assert t.render("Extract", "text", tokenizer=_Tok()) == "<user>Extract\ntext<assistant>"
    with pytest.raises(UserError, match="needs a tokenizer"):
        t.render("Extract")
    assert isinstance(t, Template)


# ---- the one template rule (core.loader.choose_template) ----------------------------------------------------------
def test_template_rule_adapter_then_tokenizer_chat_template_then_alpaca():
    from core.loader import choose_template

    alpaca, chatglm = get_template("alpaca"), get_template("chatglm")
    assert choose_template(chatglm, None, False, has_chat_template=True) == (chatglm, "adapter")
    assert choose_template(None, None, False, has_chat_template=True) == (get_template("chat_template"), "tokenizer")
    assert choose_template(None, None, False, has_chat_template=False) == (alpaca, "default")
    assert choose_template(None, "chatglm", False, has_chat_template=True) == (chatglm, "explicit")
    assert choose_template(alpaca, "alpaca", False, has_chat_template=True) == (alpaca, "adapter")


def test_an_explicit_template_other_than_the_adapters_is_an_error_unless_forced():
    from core.loader import choose_template

    with pytest.raises(UserError, match="trained with prompt template 'alpaca', not 'chatglm': drop"):
        choose_template(get_template("alpaca"), "chatglm", False, has_chat_template=False)
    assert choose_template(get_template("alpaca"), "chatglm", True) == (get_template("chatglm"), "explicit")


def test_chat_template_asked_for_a_tokenizer_without_one_is_an_error():
    from core.loader import choose_template

    with pytest.raises(UserError, match="tokenizer has no chat template"):
        choose_template(None, "chat_template", False, has_chat_template=False)
    assert choose_template(None, "chat_template", False, has_chat_template=None)[1] == "explicit"  # server's business
