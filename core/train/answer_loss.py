"""The training loss from the answer's logits only: the same loss, without the vocabulary projection of the prompt.

A causal LM's loss only reads the logits of positions whose next token is a label (the answer: prompts are masked
with -100 unless --train_on_inputs). Projecting every position onto the vocabulary is wasted work there: for
SmolLM2-135M (49k-word vocabulary, tied embeddings) it is about a fifth of a training step on CPU. The Trainer here
asks the model for the logits of the positions that some row of the batch needs (`logits_to_keep` as a tensor of
positions, which transformers' causal LMs take) and computes the same token-level cross-entropy as transformers'
ForCausalLMLoss (float32, summed, divided by the Trainer's `num_items_in_batch` or by the batch's own label count).

A model whose forward does not take `logits_to_keep` (some remote-code models) gets the Trainer's own loss, and so
does a single process driving several GPUs (DataParallel would split the positions between them); a model that takes
it and still returns every position is cut here. Evaluation keeps the Trainer's own path (it also wants the outputs).
tests/test_train_answer_loss.py checks loss and gradients against the full computation.
"""

from __future__ import annotations

import inspect
from typing import Any

from core.train.data import IGNORE_INDEX


def takes_logits_to_keep(model: Any) -> bool:
    """Whether the (base) model's forward names `logits_to_keep`."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return "logits_to_keep" in inspect.signature(base.forward).parameters
    except (TypeError, ValueError):
        return False


def answer_loss(model: Any, inputs: dict, num_items_in_batch: Any = None) -> Any:
    """Cross-entropy over the label tokens of `inputs` (input_ids, attention_mask, labels, ...), from the logits of
    the positions that predict a label only. None when no row has a label (the caller uses its full path)."""
    import torch
    import torch.nn.functional as F

    labels = inputs["labels"]
    targets = labels[:, 1:] != IGNORE_INDEX  # position i predicts token i + 1
    keep = targets.any(dim=0).nonzero().squeeze(-1)
    if keep.numel() == 0:
        return None
    outputs = model(**{k: v for k, v in inputs.items() if k != "labels"}, logits_to_keep=keep)
    logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
    if logits.shape[1] != keep.numel():  # the model ignored logits_to_keep (virtual tokens, if any, come first)
        logits = logits[:, (keep + logits.shape[1] - labels.shape[1]).to(logits.device)]
    wanted = labels[:, keep + 1].to(logits.device)
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), wanted.reshape(-1),
                           ignore_index=IGNORE_INDEX, reduction="sum")
    if num_items_in_batch is None:
        return loss / (wanted != IGNORE_INDEX).sum().clamp(min=1)
    if torch.is_tensor(num_items_in_batch):
        num_items_in_batch = num_items_in_batch.to(loss.device)
    return loss / num_items_in_batch


def answer_loss_trainer(base: type) -> type:
    """`base` (a transformers Trainer class) whose training loss comes from `answer_loss` where the model allows."""

    class AnswerLossTrainer(base):  # type: ignore[misc, valid-type]
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            fast = (not return_outputs and "labels" in inputs and self.label_smoother is None
                    and self.compute_loss_func is None and self.args.n_gpu <= 1  # DataParallel would split `keep`
                    and takes_logits_to_keep(self.accelerator.unwrap_model(model)))
            loss = None
            if fast:
                scaled = self.model_accepts_loss_kwargs and num_items_in_batch is not None
                loss = answer_loss(model, inputs, num_items_in_batch if scaled else None)
            if loss is None:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if self.args.average_tokens_across_devices and scaled:  # as the Trainer scales its own loss
                loss = loss * (self.accelerator.num_processes // self.get_tp_size())
            return loss

    return AnswerLossTrainer
