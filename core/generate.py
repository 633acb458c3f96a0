"""Batched generation for local causal LMs (+ LoRA / P-Tuning v2 adapters).

    python -c "from core.toy import build; from core.models import load_model_and_tokenizer as L; from core.generate import generate; print(generate(*L(str(build('llama'))), ['Hello', 'A longer prompt'], max_new_tokens=8))"

`generate()` tokenizes every prompt, sorts them by length (longest first) and runs them in batches: left padding, an
attention mask that hides the padding, and position ids derived from that mask (transformers' generate does this for
every model whose forward takes `position_ids`), so greedy output is the same as one prompt at a time. Results come
back in input order. P-Tuning v2 (prefix) adapters keep their prefix at generation (`core.loader.fix_prefix_generation`,
see STACK.md). `constraints` (one core.decoding Constraint or None per prompt) keeps each constrained answer inside
its grammar (core.decoding.ConstrainedLogits, a new one per batch, told the token budget so that every answer can
close in time); a constrained answer ends where its grammar lets it end (EOS), never at a stop string, and its
GenOutput says whether it is complete and whether the budget guard forced the close. Files, resume and torchrun
shards are not this module's business: local models answer prompts through core.llm's hf backend and `run_prompts`
(one generation path), which call `generate()` per batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from core.errors import UserError
from core.flags_values import check_int

FINISH_STOP, FINISH_LENGTH = "stop", "length"
# on_text(prompt_index, sample_index, text_so_far): called while a batch generates (for streaming servers).
TextCallback = Callable[[int, int, str], None]


@dataclass
class GenOutput:
    """One generated answer: only the new tokens, decoded without special tokens, cut at the first stop string
    (a constrained answer is not cut)."""

    text: str
    finish_reason: str  # "stop" (EOS or a stop string) | "length" (max_new_tokens reached)
    prompt_tokens: int
    completion_tokens: int
    complete: bool | None = None  # constrained: the text is a whole answer of its grammar; None: free
    forced_close: bool = False  # constrained: the token budget made the guard steer the answer to its end


def check_generation_args(batch_size: Any, max_new_tokens: Any, do_sample: Any, temperature: Any, top_p: Any,
                          num_return_sequences: Any = 1) -> None:
    """One-line UserErrors for generation flags a user can get wrong."""
    for name, value in (("batch_size", batch_size), ("max_new_tokens", max_new_tokens),
                        ("num_return_sequences", num_return_sequences)):
        check_int(name, value)
    if not isinstance(do_sample, bool):
        raise UserError(f"--do_sample must be true or false (got {do_sample!r})")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or temperature <= 0:
        raise UserError(f"--temperature must be a number > 0 (got {temperature!r})")
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise UserError(f"--top_p must be a number in (0, 1] (got {top_p!r})")


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if eos is None:
        eos = tokenizer.eos_token_id
    return [e for e in (eos if isinstance(eos, (list, tuple)) else [eos]) if e is not None]


def _cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    cuts = [i for i in (text.find(s) for s in stop) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


def _held_back(text: str, stop: list[str]) -> str:
    """`text` without a trailing partial character or a tail that may grow into a stop string (safe to stream)."""
    text = text.rstrip("\ufffd")
    for s in stop:
        for k in range(min(len(s) - 1, len(text)), 0, -1):
            if text.endswith(s[:k]):
                text = text[:-k]
                break
    return text


class _Watcher:
    """A stopping criterion run after every step: finds stop strings (per row) and reports text for streaming."""

    def __init__(self, tokenizer: Any, prompt_len: int, eos: list[int], stop: list[str],
                 rows: list[tuple[int, int]], on_text: TextCallback | None, free: list[bool] | None = None):
        self.tokenizer, self.prompt_len, self.eos, self.stop, self.rows, self.on_text = (
            tokenizer, prompt_len, set(eos), stop, rows, on_text)
        self.free = free or [True] * len(rows)  # constrained rows (False) are never cut at a stop string
        self.tail = max((len(s) for s in stop), default=0) + 8  # tokens enough to contain any stop string
        self.done = [False] * len(rows)
        self.stopped_at: dict[int, int] = {}
        self.last_text = [""] * len(rows)

    def __call__(self, input_ids: Any, scores: Any = None, **kwargs: Any) -> Any:
        import torch

        new = input_ids[:, self.prompt_len:]
        flags = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        last = new[:, -1].tolist()
        for r in range(new.shape[0]):
            if self.done[r]:
                flags[r] = r in self.stopped_at
                continue
            if last[r] in self.eos:
                self.done[r] = True
                continue
            if self.stop and self.free[r]:
                tail = self.tokenizer.decode(new[r, -self.tail:], skip_special_tokens=True)
                if any(s in tail for s in self.stop):
                    self.done[r] = True
                    self.stopped_at[r] = new.shape[1]
                    flags[r] = True
            if self.on_text is not None and not self.done[r]:
                text = _held_back(self.tokenizer.decode(new[r], skip_special_tokens=True),
                                  self.stop if self.free[r] else [])
                if text != self.last_text[r]:
                    self.last_text[r] = text
                    self.on_text(*self.rows[r], text)
        return flags


def _generation_config(model: Any, max_new_tokens: int, do_sample: bool, temperature: float, top_p: float,
                       n: int, pad_id: int, eos: list[int]) -> Any:
    from transformers import GenerationConfig

    kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": do_sample, "pad_token_id": pad_id,
                              "eos_token_id": eos or None, "num_return_sequences": n if do_sample else 1}
    if do_sample:
        kwargs.update(temperature=float(temperature), top_p=float(top_p), top_k=0)
    bos = getattr(getattr(model, "generation_config", None), "bos_token_id", None)
    if bos is not None:
        kwargs["bos_token_id"] = bos
    return GenerationConfig(**kwargs)


def _pad_batch(seqs: list[list[int]], pad_id: int, device: Any) -> tuple[Any, Any]:
    """Left-pad token lists into (input_ids, attention_mask) tensors."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, width - len(seq):] = torch.tensor(seq, dtype=torch.long)
        mask[row, width - len(seq):] = 1
    return ids.to(device), mask.to(device)


def generate(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    *,
    batch_size: int = 8,
    max_new_tokens: int = 256,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    num_return_sequences: int = 1,
    stop: list[str] | None = None,
    progress: bool = True,
    on_text: TextCallback | None = None,
    constraints: list[Any] | None = None,
) -> list[GenOutput]:
    """Generate for every prompt, `batch_size` prompts at a time; returns len(prompts) * num_return_sequences outputs,
    the samples of prompt i at [i * n, (i + 1) * n). Greedy by default (then the n samples are copies).

    `stop`: strings that end an answer (cut off, finish_reason "stop"). `on_text(i, j, text)`: called as sample j of
    prompt i grows (text held back where it may be the start of a stop string), for streaming.
    `constraints`: one core.decoding Constraint (or None: free) per prompt.
    A CUDA out-of-memory error halves the batch and retries.
    """
    import torch
    from tqdm.auto import tqdm

    check_generation_args(batch_size, max_new_tokens, do_sample, temperature, top_p, num_return_sequences)
    if isinstance(prompts, str):
        raise UserError("generate() takes a list of prompts, not one string")
    stop = [s for s in ([stop] if isinstance(stop, str) else (stop or [])) if s]
    n = num_return_sequences
    encoded = [list(ids) for ids in tokenizer(list(prompts), add_special_tokens=True)["input_ids"]] if prompts else []
    for i, ids in enumerate(encoded):
        if not ids:
            raise UserError(f"prompt {i} is empty (no tokens): nothing to generate from")
    if constraints is not None and len(constraints) != len(encoded):
        raise UserError(f"{len(constraints)} constraints for {len(encoded)} prompts")
    eos = _eos_ids(model, tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos[0] if eos else 0)
    config = _generation_config(model, max_new_tokens, do_sample, temperature, top_p, n, pad_id, eos)
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
    results: list[GenOutput | None] = [None] * (len(encoded) * n)
    device = getattr(model, "device", None) or next(model.parameters()).device

    def run(indices: list[int]) -> None:
        seqs = [encoded[i] for i in indices]
        input_ids, mask = _pad_batch(seqs, pad_id, device)
        per = n if do_sample else 1
        rows = [(i, j) for i in indices for j in range(per)]
        bound = [constraints[i] for i in indices] if constraints is not None else [None] * len(indices)
        free = [bound[k // per] is None for k in range(len(rows))]
        watcher = _Watcher(tokenizer, input_ids.shape[1], eos, stop, rows, on_text, free)
        criteria = [watcher] if stop or on_text else []  # EOS and max_new_tokens are generate's own
        extra, proc = {}, None
        if not all(free):
            from transformers import LogitsProcessorList

            from core.decoding.processor import ConstrainedLogits

            proc = ConstrainedLogits(tokenizer, bound, max_new_tokens=max_new_tokens, model=model)
            extra["logits_processor"] = LogitsProcessorList([proc])
        with torch.inference_mode():
            out = model.generate(input_ids=input_ids, attention_mask=mask, generation_config=config,
                                 stopping_criteria=criteria, **extra)
        reports = proc.reports(out) if proc is not None else [None] * len(rows)
        new_tokens = out[:, input_ids.shape[1]:].tolist()
        for r, (i, j) in enumerate(rows):
            result = _finish(tokenizer, new_tokens[r], watcher.stopped_at.get(r), set(eos),
                             stop if free[r] else [], len(encoded[i]))
            if reports[r] is not None:
                result.complete, result.forced_close = reports[r].complete, reports[r].forced_close
            for k in (range(n) if per == 1 else [j]):
                results[i * n + k] = result if k == 0 else GenOutput(**vars(result))

    def run_safely(indices: list[int]) -> None:
        try:
            run(indices)
        except torch.cuda.OutOfMemoryError:
            if len(indices) == 1:
                raise
            torch.cuda.empty_cache()
            half = len(indices) // 2
            run_safely(indices[:half])
            run_safely(indices[half:])

    _fix_prefix(model)
    was_training = bool(getattr(model, "training", False))
    model.eval()  # no dropout while generating; the training flag is restored below
    try:
        with tqdm(total=len(encoded), desc="generate", unit="prompt", disable=not progress) as bar:
            for start in range(0, len(order), batch_size):
                batch = order[start: start + batch_size]
                run_safely(batch)
                bar.update(len(batch))
    finally:
        if was_training:
            model.train()
    return results  # type: ignore[return-value]


def _finish(tokenizer: Any, tokens: list[int], stopped_at: int | None, eos: set[int], stop: list[str],
            prompt_tokens: int) -> GenOutput:
    """Decode one row of new tokens: up to the first EOS (finish "stop"), or where a stop string ended it."""
    finish = FINISH_LENGTH
    end = next((k for k, t in enumerate(tokens) if t in eos), None)
    if end is not None:
        count, tokens, finish = end + 1, tokens[:end], FINISH_STOP
    else:
        if stopped_at is not None:
            tokens = tokens[:stopped_at]
        count = len(tokens)
    text, cut = _cut_at_stop(tokenizer.decode(tokens, skip_special_tokens=True), stop)
    return GenOutput(text, FINISH_STOP if cut else finish, prompt_tokens, count)


def _fix_prefix(model: Any) -> None:
    """P-Tuning v2 / prompt-learning adapters: keep the prefix at generation (idempotent, no-op otherwise)."""
    config = getattr(model, "active_peft_config", None)
    if config is not None and getattr(config, "is_prompt_learning", False):
        from core.loader import fix_prefix_generation

        fix_prefix_generation(model)
