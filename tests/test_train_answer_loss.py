"""core.train.answer_loss: the loss from the answer's logits equals the full loss, gradients included, on LoRA and
P-Tuning toy models; the Trainer subclass uses it for training and keeps its own path where it must."""

import pytest
import torch

from core.train.answer_loss import answer_loss, answer_loss_trainer, takes_logits_to_keep
from core.tuning import TuningArgs, attach_adapter


def batch(vocab: int, seed: int = 0) -> dict:
    """Three right-padded rows of different lengths, prompts masked with -100, answers of different lengths."""
    g = torch.Generator().manual_seed(seed)
    rows = [(9, 4), (14, 6), (6, 3)]  # (prompt tokens, answer tokens)
    width = max(p + a for p, a in rows) + 2
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    labels = torch.full_like(ids, -100)
    mask = torch.zeros_like(ids)
    for i, (p, a) in enumerate(rows):
        ids[i, :p + a] = torch.randint(3, vocab, (p + a,), generator=g)
        labels[i, p:p + a] = ids[i, p:p + a]
        mask[i, :p + a] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def peft_model(path, kind):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path)
    args = TuningArgs(finetuning_type=kind, lora_r=4, lora_alpha=8, lora_dropout=0.0, pre_seq_len=4)  # no dropout: two passes must agree
    model = attach_adapter(model, args)
    for p in model.parameters():  # LoRA's B starts at zero: move it so that its gradient is not trivially shared
        if p.requires_grad:
            torch.nn.init.normal_(p, std=0.02)
    model.train()
    return model


def grads(model, loss):
    model.zero_grad()
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("toy, kind", [("llama", "lora"), ("glm", "lora"), ("llama", "ptuning")])
def test_answer_loss_equals_the_models_own_loss_and_gradients(toy, kind, toy_llama_path, toy_glm_path):
    model = peft_model(toy_llama_path if toy == "llama" else toy_glm_path, kind)
    inputs = batch(model.get_base_model().config.vocab_size)
    assert takes_logits_to_keep(model)
    full = model(**inputs).loss
    fast = answer_loss(model, inputs)
    assert fast.item() == pytest.approx(full.item(), rel=1e-5)
    want, got = grads(model, model(**inputs).loss), grads(model, answer_loss(model, inputs))
    assert want.keys() == got.keys() and want
    for name in want:
        assert torch.allclose(want[name], got[name], atol=1e-6, rtol=1e-4), name
    items = int((inputs["labels"][:, 1:] != -100).sum()) + 5  # as the Trainer passes it under accumulation
    assert answer_loss(model, inputs, torch.tensor(items)).item() == pytest.approx(
        model(**inputs, num_items_in_batch=torch.tensor(items)).loss.item(), rel=1e-5)


def test_a_model_that_ignores_logits_to_keep_is_cut_here(toy_llama_path):
    model = peft_model(toy_llama_path, "lora")
    inputs = batch(model.get_base_model().config.vocab_size, seed=1)
    full = model(**inputs).loss.item()

    class Ignores(torch.nn.Module):
        def forward(self, logits_to_keep=None, **kw):
            return model(**kw)

    assert answer_loss(Ignores(), inputs).item() == pytest.approx(full, rel=1e-5)


def test_no_label_in_the_batch_leaves_the_loss_to_the_caller(toy_llama_path):
    model = peft_model(toy_llama_path, "lora")
    inputs = batch(model.get_base_model().config.vocab_size)
    inputs["labels"][:] = -100
    assert answer_loss(model, inputs) is None


def test_the_trainer_computes_the_same_loss_and_keeps_its_own_for_outputs(toy_llama_path, tmp_path, monkeypatch):
    from transformers import Trainer, TrainingArguments

    import core.train.answer_loss as module

    model = peft_model(toy_llama_path, "lora")
    inputs = batch(model.get_base_model().config.vocab_size, seed=2)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", per_device_train_batch_size=3)
    plain, fast = Trainer(model=model, args=args), answer_loss_trainer(Trainer)(model=model, args=args)
    calls = []
    monkeypatch.setattr(module, "answer_loss", lambda *a, **k: calls.append(1) or answer_loss(*a, **k))
    for items in (None, torch.tensor(40)):
        want = plain.compute_loss(model, dict(inputs), num_items_in_batch=items)
        got = fast.compute_loss(model, dict(inputs), num_items_in_batch=items)
        assert got.item() == pytest.approx(want.item(), rel=1e-5)
    assert len(calls) == 2
    loss, outputs = fast.compute_loss(model, dict(inputs), return_outputs=True)  # evaluation: every position
    assert outputs.logits.shape[1] == inputs["input_ids"].shape[1] and len(calls) == 2
    monkeypatch.setattr(TrainingArguments, "n_gpu", property(lambda self: 2))  # one process, DataParallel over 2 GPUs
    fast.compute_loss(model, dict(inputs))
    assert len(calls) == 2  # the positions would be split between the GPUs: the Trainer's own loss
