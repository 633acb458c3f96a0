import json
import shutil
import sys

import pytest
import torch

from core.errors import UserError
from core.models import check_model_path, load_model_and_tokenizer, quantization_config, resolve_dtype, set_pad_token


def _float_dtypes(model):
    return {p.dtype for p in model.parameters() if p.is_floating_point()}


@pytest.mark.parametrize(
    "dtype, expected",
    [
        ("fp32", torch.float32),
        ("float32", torch.float32),
        ("bf16", torch.bfloat16),
        ("bfloat16", torch.bfloat16),
        ("auto", torch.float32),
    ],
)
def test_full_precision_loads_in_the_requested_dtype(toy_llama_path, dtype, expected):
    model, tok = load_model_and_tokenizer(toy_llama_path, dtype=dtype)
    assert _float_dtypes(model) == {expected}
    enc = tok(["(弗雷泽,获奖,铜牌)", "hi"], return_tensors="pt", padding=True)
    assert model(**enc).logits.dtype == expected


def test_resolve_dtype_names_and_hardware_rules(monkeypatch):
    assert resolve_dtype("auto", cuda=False) == torch.float32
    assert resolve_dtype("fp16", cuda=False) == torch.float16
    assert resolve_dtype("bf16", cuda=False) == torch.bfloat16  # CPU runs bf16: kept
    assert resolve_dtype(torch.float16) == torch.float16
    assert resolve_dtype("torch.bfloat16", cuda=False) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    assert resolve_dtype("auto", cuda=True) == torch.float16
    with pytest.warns(UserWarning, match="no bfloat16 support"):
        assert resolve_dtype("bf16", cuda=True) == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert resolve_dtype("auto", cuda=True) == torch.bfloat16


def test_unknown_dtype_is_a_one_line_user_error(toy_llama_path):
    with pytest.raises(UserError) as err:
        load_model_and_tokenizer(toy_llama_path, dtype="fp8")
    assert str(err.value) == "unknown dtype 'fp8' (choose from auto, bf16, fp16, fp32)"


@pytest.mark.parametrize("bits, layer", [(8, "Linear8bitLt"), (4, "Linear4bit")])
@pytest.mark.parametrize("kind", ["llama", "glm"])
def test_quantized_load_runs_forward_on_cpu(toy_llama_path, toy_glm_path, kind, bits, layer):
    path = toy_llama_path if kind == "llama" else toy_glm_path
    model, tok = load_model_and_tokenizer(path, bits=bits)
    names = {type(m).__name__ for m in model.modules()}
    assert layer in names
    assert model.model.layers[0].self_attn.q_proj.__class__.__name__ == layer
    enc = tok(["(John Smith,work for,Acme Corp)", "短"], return_tensors="pt", padding=True)
    with torch.no_grad():
        logits = model(**enc).logits
    assert logits.shape[:2] == enc.input_ids.shape and torch.isfinite(logits).all()


def test_4bit_config_is_nf4_double_quant_bf16():
    cfg = quantization_config(4)
    assert cfg.load_in_4bit and cfg.bnb_4bit_quant_type == "nf4" and cfg.bnb_4bit_use_double_quant
    assert cfg.bnb_4bit_compute_dtype == torch.bfloat16
    assert quantization_config(8).load_in_8bit
    assert quantization_config(None) is None and quantization_config(16) is None and quantization_config(32) is None


@pytest.mark.parametrize("bits", [3, "four", 4.5])
def test_unsupported_bits_is_a_user_error(bits):
    with pytest.raises(UserError, match="--bits must be 4, 8, 16 or 32"):
        quantization_config(bits)


@pytest.mark.parametrize("bits", [4, 8])
def test_missing_bitsandbytes_is_a_user_error(toy_llama_path, monkeypatch, bits):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # `import bitsandbytes` now raises ImportError
    with pytest.raises(UserError) as err:
        load_model_and_tokenizer(toy_llama_path, bits=bits)
    assert str(err.value) == f"--bits {bits} needs bitsandbytes (pip install bitsandbytes)"
    assert load_model_and_tokenizer(toy_llama_path, bits=16)[0] is not None  # no quantization: not needed


def test_missing_local_path_is_a_one_line_user_error(tmp_path, monkeypatch):
    missing = str(tmp_path / "no" / "model")
    with pytest.raises(UserError) as err:
        load_model_and_tokenizer(missing)
    assert str(err.value) == f"base model '{missing}' not found: no such folder"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    for name in ("./llama-7b", "~/surely/not/here", "models/llama-7b", "a/b/c"):
        with pytest.raises(UserError, match=r"not found: no such folder$"):
            check_model_path(name)
    assert check_model_path("decapoda-research/llama-7b-hf") == "decapoda-research/llama-7b-hf"  # hub id
    assert check_model_path("gpt2") == "gpt2"


def test_folder_without_config_is_not_a_model_folder(tmp_path):
    (tmp_path / "tokenizer.model").write_bytes(b"x")
    with pytest.raises(UserError) as err:
        load_model_and_tokenizer(tmp_path)
    assert str(err.value) == f"base model '{tmp_path}' is not a model folder (no config.json)"


def test_unloadable_folder_and_uncached_hub_id_give_one_line_errors(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    for name in (str(tmp_path), "no-such-org/no-such-model"):
        with pytest.raises(UserError) as err:
            load_model_and_tokenizer(name)
        assert "\n" not in str(err.value) and f"'{name}'" in str(err.value)


def test_remote_code_folder_asks_for_trust_remote_code(tmp_path):
    auto_map = {"AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration"}
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "chatglm", "auto_map": auto_map}))
    with pytest.raises(UserError, match="pass --trust_remote_code"):
        load_model_and_tokenizer(tmp_path)


def test_missing_pad_token_falls_back_to_eos_and_model_config_agrees(toy_llama_path, tmp_path):
    copy = tmp_path / "llama"
    shutil.copytree(toy_llama_path, copy)
    cfg_file = copy / "tokenizer_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg.pop("pad_token")
    cfg_file.write_text(json.dumps(cfg))
    model, tok = load_model_and_tokenizer(copy, padding_side="right")
    assert tok.pad_token == tok.eos_token == "</s>"
    assert model.config.pad_token_id == model.generation_config.pad_token_id == tok.eos_token_id
    assert tok.padding_side == "right"
    enc = tok(["a b c d", "a"], padding=True)
    assert enc.input_ids[1][-1] == tok.eos_token_id and enc.attention_mask[1][-1] == 0


def test_set_pad_token_uses_unk_without_eos(toy_llama_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(toy_llama_path)
    tok.pad_token = None
    tok.eos_token = None
    set_pad_token(tok)
    assert tok.pad_token == "<unk>"


def test_glm_loads_left_padded_by_default_with_its_own_pad(toy_glm_path):
    model, tok = load_model_and_tokenizer(toy_glm_path)
    assert tok.padding_side == "left" and tok.pad_token == "<pad>"
    assert model.config.pad_token_id == tok.pad_token_id != tok.eos_token_id
    enc = tok(["(弗雷泽,获奖,铜牌)", "x"], return_tensors="pt", padding=True)
    assert enc.input_ids[1, 0].item() == tok.pad_token_id


def test_bad_padding_side_is_a_user_error(toy_glm_path):
    with pytest.raises(UserError, match="padding_side must be 'left' or 'right'"):
        load_model_and_tokenizer(toy_glm_path, padding_side="middle")


# ---- core.loader.load_for_inference: the one loader of base model + adapter + template --------------------------------
@pytest.mark.parametrize("kind, template, source", [("glm", "chat_template", "tokenizer"), ("llama", "alpaca", "default")])
def test_base_model_gets_its_tokenizers_chat_template_else_alpaca(toy_llama_path, toy_glm_path, kind, template, source):
    """Defect 7: inference defaulted to alpaca even when the tokenizer has a chat template (core.serve did not)."""
    from core.loader import load_for_inference

    loaded = load_for_inference(str(toy_glm_path if kind == "glm" else toy_llama_path))
    assert (loaded.template.name, loaded.source, loaded.knows_template) == (template, source, kind == "glm")
    assert loaded.tokenizer.padding_side == "left" and not loaded.model.training and loaded.meta is None


def test_adapter_brings_its_base_model_and_recorded_template():
    from core.loader import load_for_inference
    from core.testing.adapters import memorised_adapter

    loaded = load_for_inference(None, memorised_adapter("llama", "lora"))
    assert (loaded.template.name, loaded.source, loaded.meta["template"]) == ("alpaca", "adapter", "alpaca")
    assert type(loaded.model).__name__.startswith("Peft")
    forced = load_for_inference(None, memorised_adapter("llama", "lora"), "chatglm", force=True)
    assert (forced.template.name, forced.source) == ("chatglm", "explicit")


def test_a_disagreeing_template_fails_before_any_weights_load(monkeypatch):
    import core.loader
    import core.models
    from core.loader import load_for_inference
    from core.testing.adapters import memorised_adapter

    adapter = memorised_adapter("llama", "lora")

    def never(*args, **kwargs):
        raise AssertionError("weights loaded")

    monkeypatch.setattr(core.loader, "load_model_with_adapter", never)
    monkeypatch.setattr(core.models, "load_model_and_tokenizer", never)
    with pytest.raises(UserError, match="trained with prompt template 'alpaca', not 'chatglm'"):
        load_for_inference(None, adapter, "chatglm")
    with pytest.raises(UserError, match="no model: pass --base_model"):
        load_for_inference(None, None)
