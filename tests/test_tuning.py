"""core.tuning: default LoRA targets per architecture, argument checks, adapter metadata, load/merge, k-bit LoRA
training on CPU, and a clear error where peft's prefix tuning cannot run."""

import json

import pytest
import torch

from core.errors import UserError
from core.loader import load_model_with_adapter
from core.tuning import (
    META_FILE,
    TuningArgs,
    adapter_template,
    attach_adapter,
    default_target_modules,
    merge_adapter,
    peft_config,
    read_adapter_meta,
)


def load(path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path)


class FakeConfig:
    def __init__(self, model_type):
        self.model_type = model_type


class ChatGLMLike(torch.nn.Module):
    """The module names of the original ChatGLM-6B (remote code): a fused query_key_value projection."""

    def __init__(self):
        super().__init__()
        self.config = FakeConfig("chatglm")
        block = torch.nn.Module()
        block.query_key_value = torch.nn.Linear(4, 12)
        block.dense = torch.nn.Linear(4, 4)
        self.layers = torch.nn.ModuleList([block])


@pytest.mark.parametrize(("kind", "expected"), [("llama", ["q_proj", "v_proj"]), ("glm", ["q_proj", "v_proj"])])
def test_default_lora_targets_of_the_toy_models(kind, expected, toy_llama_path, toy_glm_path):
    model = load(toy_llama_path if kind == "llama" else toy_glm_path)
    assert default_target_modules(model) == expected


def test_original_chatglm_gets_query_key_value():
    assert default_target_modules(ChatGLMLike()) == ["query_key_value"]


def test_unknown_architecture_without_known_names_asks_for_lora_target_modules():
    model = ChatGLMLike()
    model.config = FakeConfig("mystery")
    model.layers[0].query_key_value = torch.nn.Identity()
    with pytest.raises(UserError, match="no default LoRA target modules for model type 'mystery': pass "
                                        "--lora_target_modules with some of: dense"):
        default_target_modules(model)


def test_lora_target_modules_override_is_checked_against_the_model(toy_llama_path):
    model = load(toy_llama_path)
    config = peft_config(TuningArgs(lora_target_modules="[q_proj,k_proj, o_proj]"), model)
    assert sorted(config.target_modules) == ["k_proj", "o_proj", "q_proj"]
    with pytest.raises(UserError, match="--lora_target_modules: query_key_value not found in the model"):
        peft_config(TuningArgs(lora_target_modules=["query_key_value"]), model)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"finetuning_type": "ia3"}, "--finetuning_type must be one of lora, ptuning"),
    ({"lora_r": 0}, "--lora_r must be an integer >= 1"),
    ({"pre_seq_len": "8"}, "--pre_seq_len must be an integer >= 1"),
    ({"lora_dropout": 1.5}, r"--lora_dropout must be a number in \[0, 1\)"),
    ({"prefix_projection": "maybe"}, "--prefix_projection must be true or false"),
    ({"lora_layers": -1}, "--lora_layers must be an integer >= 0"),
])
def test_bad_tuning_arguments_are_one_line_errors(kwargs, message):
    with pytest.raises(UserError, match=message):
        TuningArgs(**kwargs)


def test_prefix_tuning_failure_is_a_clear_error(toy_llama_path, monkeypatch):
    model = load(toy_llama_path)

    def no_prefix(*args, **kwargs):
        raise NotImplementedError("this cache layout is not supported")

    monkeypatch.setattr(type(model.model), "forward", no_prefix)
    with pytest.raises(UserError, match=r"P-Tuning v2 \(peft prefix tuning\) does not work with model type 'llama': "
                                        r"this cache layout is not supported; use --finetuning_type lora"):
        attach_adapter(model, TuningArgs(finetuning_type="ptuning"))


def test_adapter_metadata_round_trip_and_plain_peft_fallback(toy_llama_path, tmp_path):
    from core.templates import Template
    from core.tuning import save_adapter

    model = attach_adapter(load(toy_llama_path), TuningArgs())
    custom = Template("mine", "Q: {instruction} {input}\nA:", "Q: {instruction}\nA:", "A:")
    meta = {"base_model": str(toy_llama_path), "template": "mine", "template_spec": custom.to_dict(),
            "cutoff_len": 64, "finetuning_type": "lora"}
    save_adapter(model, tmp_path / "a", meta)
    got = read_adapter_meta(tmp_path / "a")
    assert {k: got[k] for k in meta} == meta and got["format"] == 1
    assert adapter_template(got) == custom  # an unregistered template travels with the adapter
    (tmp_path / "a" / META_FILE).unlink()
    plain = read_adapter_meta(tmp_path / "a")
    assert plain == {"base_model": str(toy_llama_path), "template": None, "finetuning_type": "lora"}
    with pytest.raises(UserError, match="not found: no such folder"):
        read_adapter_meta(tmp_path / "missing")


def test_adapter_refuses_a_base_model_of_another_architecture(toy_glm_path):
    from core.testing.adapters import memorised_adapter

    with pytest.raises(UserError, match="was trained on a 'llama' model, but base model .* is 'glm'"):
        load_model_with_adapter(str(toy_glm_path), memorised_adapter("llama", "lora"))


def test_merged_model_generates_the_same_tokens_as_base_plus_adapter(tmp_path):
    from core.generate import generate
    from core.models import load_model_and_tokenizer
    from core.testing.adapters import memorised_adapter, memorised_records

    adapter = memorised_adapter("llama", "lora")
    model, tok, meta = load_model_with_adapter(None, adapter)
    template = adapter_template(meta)
    prompts = [template.render(r["instruction"], r["input"]) for r in memorised_records()]
    with_adapter = generate(model, tok, prompts, max_new_tokens=40, progress=False)
    out = merge_adapter(None, adapter, tmp_path / "merged")
    merged, merged_tok = load_model_and_tokenizer(str(out))
    assert not any("lora" in name for name, _ in merged.named_parameters())
    assert generate(merged, merged_tok, prompts, max_new_tokens=40, progress=False) == with_adapter
    assert [o.text for o in with_adapter] == [r["output"] for r in memorised_records()]
    assert json.loads((out / "kgllm_merged.json").read_text())["template"] == "alpaca"
    with pytest.raises(UserError, match="exists and is not empty"):
        merge_adapter(None, adapter, out)


def test_prefix_adapter_cannot_be_merged(tmp_path):
    from core.testing.adapters import memorised_adapter

    with pytest.raises(UserError, match="only LoRA adapters can be merged"):
        merge_adapter(None, memorised_adapter("glm", "ptuning"), tmp_path / "merged")


@pytest.mark.parametrize("bits", [4, 8])
def test_kbit_lora_trains_on_cpu_and_the_adapter_reloads(bits, toy_llama_path, tmp_path):
    from core.train import TrainConfig, train

    data = tmp_path / "train.json"
    data.write_text(json.dumps({"instruction": "抽取", "input": "故宫位于北京。", "output": "(故宫,位于,北京)"},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    result = train(TrainConfig(base_model=str(toy_llama_path), train_path=str(data), output_dir=str(tmp_path / "a"),
                               batch_size=1, micro_batch_size=1, max_steps=2, save_steps=10**6, bits=bits,
                               learning_rate=3e-3, device="cpu", logging_steps=1))
    assert result.steps == 2 and result.final_loss == result.final_loss  # finite, not NaN
    assert read_adapter_meta(tmp_path / "a")["bits"] == bits
    quantized, _, _ = load_model_with_adapter(None, tmp_path / "a", bits=bits)
    full, _, _ = load_model_with_adapter(None, tmp_path / "a")
    layer = {"q": quantized, "f": full}
    names = {k: type(m.get_base_model().model.layers[0].self_attn.q_proj.base_layer).__name__
             for k, m in layer.items()}
    assert names == {"q": "Linear4bit" if bits == 4 else "Linear8bitLt", "f": "Linear"}


def test_fix_prefix_generation_is_idempotent_and_leaves_lora_alone():
    from core.loader import fix_prefix_generation
    from core.testing.adapters import memorised_adapter

    lora, _, _ = load_model_with_adapter(None, memorised_adapter("llama", "lora"))
    before = lora.prepare_inputs_for_generation
    assert fix_prefix_generation(lora) is lora and lora.prepare_inputs_for_generation == before
    prefix, _, _ = load_model_with_adapter(None, memorised_adapter("glm", "ptuning"))
    patched = prefix.prepare_inputs_for_generation  # load_model_with_adapter already applied the fix
    assert getattr(prefix, "_kgllm_prefix_fix", 0) == 1
    fix_prefix_generation(prefix)
    assert prefix.prepare_inputs_for_generation is patched


def test_lora_layers_adapts_only_the_top_layers_and_the_loss_still_falls(toy_llama_path):
    """--lora_layers N: LoRA weights only in the last N transformer layers (so backward stops there); more layers than
    the model has is a one-line error."""
    model = load(toy_llama_path)
    depth = model.config.num_hidden_layers
    peft_model = attach_adapter(model, TuningArgs(lora_layers=1, lora_target_modules=["q_proj", "v_proj"]))
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all(f".layers.{depth - 1}." in n for n in trainable), trainable
    assert len(trainable) == 4  # q_proj and v_proj, lora_A and lora_B, in one layer
    ids = torch.arange(3, 19).unsqueeze(0)
    optim = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(5):
        loss = peft_model(input_ids=ids, labels=ids).loss
        loss.backward()
        optim.step()
        optim.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    with pytest.raises(UserError, match=f"--lora_layers {depth + 1}: the model has {depth} transformer layers"):
        attach_adapter(load(toy_llama_path), TuningArgs(lora_layers=depth + 1))
