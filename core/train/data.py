"""Instruction records -> token ids with prompt masking, cutoff_len handling, a padding collator, length grouping.

    python -c "from core.train.data import read_instruction_records as r; print(len(r('InstructKGC/data/train.json')))"

Encoding (one record): `prompt = template.render(instruction, input)`, tokenized exactly as inference will tokenize it
(special tokens such as LLaMA's BOS included); the response is the tokens that follow the prompt when
`prompt + output` is tokenized as one text (or the output tokenized alone where a token straddles the boundary); the
EOS token is appended so generation learns to stop. Labels are -100 on the prompt unless `train_on_inputs`.

Records longer than `cutoff_len` (prompt + response + EOS): the response is NEVER cut. `overlong` chooses what happens:
  - "error" (default): a one-line error naming file:line and the lengths, before any training;
  - "truncate": the record's `input` text is shortened until the record fits; a record whose instruction + response
    alone do not fit is skipped; both counted in one warning;
  - "skip": the record is left out, counted in one warning.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

from core.errors import UserError
from core.flags_values import check_int
from core.io import DataError, read_records

OVERLONG_POLICIES = ("error", "truncate", "skip")
IGNORE_INDEX = -100
FIELDS = {"instruction": str, "output": str}  # `input` is optional (IEPile records have none)


def read_instruction_records(path: str | os.PathLike, *, need_output: bool = True) -> list[dict]:
    """Records with instruction, optional input and a non-empty output (all strings): DataError otherwise."""
    required = dict(FIELDS) if need_output else {"instruction": str}
    records = read_records(path, required=required, optional={"input": str})
    if not records:
        raise DataError(path, None, "no records")
    for rec in records:
        if not rec["instruction"].strip():
            raise DataError(path, rec["__line__"], "empty", field="instruction")
        if need_output and not rec["output"].strip():
            raise DataError(path, rec["__line__"], "empty (nothing to learn)", field="output")
    return records


@dataclass
class EncodeStats:
    """What encoding did to a file's records (for the warning and the summary)."""

    total: int = 0
    truncated: int = 0
    skipped: int = 0
    longest: int = 0
    skipped_lines: tuple = ()


def _tokens(tokenizer: Any, text: str, special: bool) -> list[int]:
    return list(tokenizer(text, add_special_tokens=special)["input_ids"])


def encode_pair(prompt: str, output: str, tokenizer: Any, train_on_inputs: bool = False) -> dict:
    """Token ids, labels and prompt length for one prompt/response pair (no length limit)."""
    prompt_ids = _tokens(tokenizer, prompt, True)
    full = _tokens(tokenizer, prompt + output, True)
    eos = tokenizer.eos_token_id
    if eos is not None and prompt_ids and prompt_ids[-1] == eos:  # a tokenizer that appends EOS itself
        prompt_ids, full = prompt_ids[:-1], full[:-1]
    if full[: len(prompt_ids)] == prompt_ids and len(full) > len(prompt_ids):
        response = full[len(prompt_ids):]
    else:  # a token straddles the prompt/response boundary: keep the prompt exactly as inference will see it
        response = _tokens(tokenizer, output, False)
    if eos is not None:
        response = response + [eos]
    labels = (list(prompt_ids) if train_on_inputs else [IGNORE_INDEX] * len(prompt_ids)) + response
    return {"input_ids": prompt_ids + response, "labels": labels, "prompt_len": len(prompt_ids)}


def encode_records(
    records: list[dict],
    template: Any,
    tokenizer: Any,
    cutoff_len: int,
    *,
    train_on_inputs: bool = False,
    overlong: str = "error",
    path: str | os.PathLike = "<records>",
) -> tuple[list[dict], EncodeStats]:
    """Encode records (see the module docstring for the cutoff_len policy) -> (examples, stats)."""
    if overlong not in OVERLONG_POLICIES:
        raise UserError(f"--overlong must be one of {', '.join(OVERLONG_POLICIES)} (got {overlong!r})")
    check_int("cutoff_len", cutoff_len, 2)
    stats, examples, skipped = EncodeStats(total=len(records)), [], []
    for rec in records:
        line = rec.get("__line__")
        instruction, text, output = rec["instruction"], rec.get("input") or "", rec["output"]
        ex = encode_pair(template.render(instruction, text, tokenizer), output, tokenizer, train_on_inputs)
        stats.longest = max(stats.longest, len(ex["input_ids"]))
        if len(ex["input_ids"]) > cutoff_len:
            if overlong == "error":
                n, n_prompt = len(ex["input_ids"]), ex["prompt_len"]
                raise DataError(path, line, f"record is {n} tokens (prompt {n_prompt} + response {n - n_prompt}), "
                                f"longer than --cutoff_len {cutoff_len}: raise --cutoff_len, or pass --overlong "
                                "truncate|skip")
            ex = _shorten_input(instruction, text, output, template, tokenizer, cutoff_len, train_on_inputs) \
                if overlong == "truncate" else None
            if ex is None:
                skipped.append(line)
                continue
            stats.truncated += 1
        examples.append(ex)
    stats.skipped, stats.skipped_lines = len(skipped), tuple(skipped)
    if stats.truncated or stats.skipped:
        where = f" (lines {', '.join(map(str, skipped[:5]))}{', ...' if len(skipped) > 5 else ''})" if skipped else ""
        warnings.warn(f"{os.fspath(path)}: {stats.truncated} of {stats.total} records had their input shortened "
                      f"and {stats.skipped} were skipped{where} to fit --cutoff_len {cutoff_len} (longest "
                      f"{stats.longest} tokens); no response was cut", stacklevel=2)
    if not examples:
        raise DataError(path, None, f"no record fits --cutoff_len {cutoff_len} (longest {stats.longest} tokens)")
    return examples, stats


def _shorten_input(instruction: str, text: str, output: str, template: Any, tokenizer: Any, cutoff_len: int,
                   train_on_inputs: bool) -> dict | None:
    """The longest non-empty prefix of `text` (binary search on characters) whose record fits cutoff_len (the prompt
    keeps its with-input form); None if none does."""

    def encode(k: int) -> dict:
        return encode_pair(template.render(instruction, text[:k], tokenizer), output, tokenizer, train_on_inputs)

    best, lo, hi = None, 1, len(text) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        ex = encode(mid)
        if len(ex["input_ids"]) <= cutoff_len:
            best, lo = ex, mid + 1
        else:
            hi = mid - 1
    return best


class Collator:
    """Right-pads a batch for training: input_ids with the pad id, labels with -100, an attention mask, and (with
    `position_ids=True`, used for P-Tuning v2) explicit positions 0..n-1 so the prefix does not shift them: training
    then sees the same positions as generation, which derives them from the attention mask."""

    def __init__(self, pad_token_id: int, *, position_ids: bool = False, pad_to_multiple_of: int | None = None):
        if pad_token_id is None:
            raise UserError("the tokenizer has no pad token and no EOS/UNK to pad with")
        self.pad_token_id, self.position_ids, self.multiple = pad_token_id, position_ids, pad_to_multiple_of

    def __call__(self, features: list[dict]) -> dict:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        if self.multiple:
            width = -(-width // self.multiple) * self.multiple
        ids, labels, mask = [], [], []
        for f in features:
            pad = width - len(f["input_ids"])
            ids.append(list(f["input_ids"]) + [self.pad_token_id] * pad)
            labels.append(list(f["labels"]) + [IGNORE_INDEX] * pad)
            mask.append([1] * len(f["input_ids"]) + [0] * pad)
        batch = {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}
        if self.position_ids:
            batch["position_ids"] = torch.arange(width).unsqueeze(0).expand(len(features), -1).clone()
        return batch


def grouped_order(lengths: list[int], batch_size: int, seed: int = 42) -> list[int]:
    """The order in which the Trainer's length-grouped sampler (`--group_by_length`) visits the examples."""
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    return get_length_grouped_indices(lengths, batch_size, generator=torch.Generator().manual_seed(seed))


def padding_share(lengths: list[int], order: list[int], micro_batch_size: int) -> float:
    """Padding tokens / all tokens when `order` is cut into micro-batches each padded to its longest example."""
    pad = total = 0
    for i in range(0, len(order), micro_batch_size):
        batch = [lengths[j] for j in order[i: i + micro_batch_size]]
        total += max(batch) * len(batch)
        pad += max(batch) * len(batch) - sum(batch)
    return pad / total if total else 0.0
