"""Padding tokens as a share of all tokens in an epoch: --group_by_length vs the naive (random) order.

    python benchmarks/bench_padding.py

Builds 2,000 CCKS-style records of varied length from InstructKGC/data/train.json (inputs repeated 1-25 times),
tokenizes them with the toy LLaMA tokenizer exactly as fine-tuning does (core.train.encode_records, alpaca template,
cutoff_len 2048), then cuts one epoch into micro-batches of 4 (DeepKE's 2023 micro_batch_size; batch_size 128) in the
Trainer's random order and in the order of its length-grouped sampler, each micro-batch padded to its longest record.
Averaged over 5 epochs (seeds). Target: grouped padding share <= 10% of the naive one.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def sample_records(n: int = 2000, seed: int = 0) -> list[dict]:
    from core.train import read_instruction_records

    base = read_instruction_records(ROOT / "InstructKGC" / "data" / "train.json")
    rng = random.Random(seed)
    out = []
    for i in range(n):
        rec = base[i % len(base)]
        out.append({"instruction": rec["instruction"], "input": rec["input"] * rng.randint(1, 25),
                    "output": rec["output"], "__line__": i + 1})
    return out


def main() -> int:
    import torch
    from transformers import AutoTokenizer

    from core.templates import get_template
    from core.toy import build
    from core.train import encode_records, gradient_accumulation, grouped_order, padding_share

    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(build("llama"))
    examples, _ = encode_records(sample_records(), get_template("alpaca"), tokenizer, 2048)
    lengths = [len(e["input_ids"]) for e in examples]
    micro, batch = 4, 128
    group = micro * gradient_accumulation(batch, micro)  # the Trainer groups by train_batch_size * grad accumulation
    naive, grouped, naive_tokens, grouped_tokens = [], [], [], []
    for seed in range(5):
        order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed)).tolist()  # RandomSampler
        g_order = grouped_order(lengths, group, seed=seed)
        naive.append(padding_share(lengths, order, micro))
        grouped.append(padding_share(lengths, g_order, micro))
        naive_tokens.append(sum(lengths) / (1 - naive[-1]))
        grouped_tokens.append(sum(lengths) / (1 - grouped[-1]))
    ratio = mean(grouped) / mean(naive)
    print(f"records: {len(lengths)}, tokens {min(lengths)}-{max(lengths)} (mean {mean(lengths):.0f}), "
          f"micro_batch_size {micro}, batch_size {batch}")
    print(f"padding share, naive random order: {mean(naive):.2%} of {mean(naive_tokens):,.0f} tokens per epoch")
    print(f"padding share, --group_by_length: {mean(grouped):.2%} of {mean(grouped_tokens):,.0f} tokens per epoch")
    print(f"ratio grouped/naive padding share: {ratio:.3f} (target <= 0.10: {'met' if ratio <= 0.10 else 'NOT met'})")
    print(f"ratio grouped/naive tokens per epoch: {mean(grouped_tokens) / mean(naive_tokens):.3f} "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
