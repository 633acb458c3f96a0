"""Records/s of local inference through the one generation path (core.llm's hf backend + run_prompts, batch 16)
vs DeepKE's 2023 one-record-at-a-time loop, and vs a bare batched `model.generate` (the path's own overhead).

    python benchmarks/bench_generate.py

Same toy model (core.toy LLaMA: hidden 64, 2 layers, random weights; the tiny one, not a bigger config: per-step
overhead dominates it, as it does a 7B model's decoding on a GPU), same 64 CCKS-style prompts of 64-152 tokens
(alpaca template), greedy, 64 new tokens each; all runs must give exactly the same answers.
- baseline 1, DeepKE's 2023 loop: tokenize one prompt, `model.generate`, decode, take the response. Target: the path is
  >= 8x faster.
- baseline 2, bare batched generate: the prompts sorted by length, 16 at a time, left-padded by the tokenizer, one
  `model.generate` call each, decoded. Target: the path (backend, run_prompts, raw file written and flushed per
  answer) takes <= 1.2x its time.
Best of 3 runs each, one torch thread (on a shared 2-core machine more threads make every run slower and noisier;
BENCH_THREADS=2 to try). Times are this process's CPU seconds (user + system, `time.process_time`): with one torch
thread that is the work done, and it does not count the time other programs on a shared machine take the cores
(wall-clock seconds are printed too). The path is timed with the model already loaded and a fresh raw file each run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

N, BATCH, NEW_TOKENS, TARGET, OVERHEAD, REPEATS = 64, 16, 64, 8.0, 1.2, 3
SENTENCES = ["长江发源于青藏高原。", "《红楼梦》是曹雪芹创作的小说，成书于清代。", "Mount Everest is in Nepal.",
             "大熊猫生活在四川，以竹子为食，是中国的国宝。", "弗雷泽代表澳大利亚参加北京奥运会女子水球比赛，赢得铜牌。",
             "The Eiffel Tower, designed by Gustave Eiffel, stands in Paris and was finished in 1889."]
RELATIONS = [["发源地", "流入"], ["作者", "类型", "成书年代"], ["located in"], ["食物", "分布", "保护级别", "别名"]]


def records() -> list[dict]:
    out = []
    for i in range(N):
        rels = RELATIONS[i % len(RELATIONS)]
        text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(1 + i % 4))
        out.append({"id": i, "instruction": f"已知候选的关系列表：{rels}，请你根据关系列表，从以下输入中抽取出可能存在的头实体与"
                                            "尾实体，并给出对应的关系三元组。", "input": text})
    return out


def loop_2023(model, tokenizer, prompts: list[str]) -> list[str]:
    """What DeepKE's 2023 inference.py did: one record at a time."""
    import torch

    answers = []
    for prompt in prompts:
        inputs = tokenizer(prompt, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, do_sample=False, max_new_tokens=NEW_TOKENS,
                                 pad_token_id=tokenizer.pad_token_id)
        answers.append(tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
    return answers


def bare_batched(model, tokenizer, prompts: list[str]) -> list[str]:
    """Batched `model.generate` and nothing else: length-sorted batches of BATCH, left padding, decode."""
    import torch

    lengths = [len(ids) for ids in tokenizer(prompts)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
    answers: list[str] = [""] * len(prompts)
    for start in range(0, len(order), BATCH):
        batch = order[start:start + BATCH]
        inputs = tokenizer([prompts[i] for i in batch], return_tensors="pt", padding=True)
        with torch.inference_mode():
            out = model.generate(**inputs, do_sample=False, max_new_tokens=NEW_TOKENS,
                                 pad_token_id=tokenizer.pad_token_id)
        for row, i in enumerate(batch):
            answers[i] = tokenizer.decode(out[row, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    return answers


def through_the_path(backend, items: list, folder: Path) -> list[str]:
    """core.llm's hf backend + run_prompts, as InstructKGC/inference.py runs them (fresh raw file)."""
    from core.llm import run_prompts

    raw = Path(tempfile.mkdtemp(dir=folder)) / "pred.raw.jsonl"
    results = run_prompts(backend, items, raw, max_tokens=NEW_TOKENS, desc="bench")
    return [results[i][0].text for i, _ in items]


WALL: dict[str, float] = {}


def best_of(name: str, fn, repeats: int = REPEATS) -> tuple[float, list]:
    """(least CPU seconds of `repeats` runs, the last result); the least wall-clock seconds go into WALL[name]."""
    times, walls, result = [], [], None
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn()
        times.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    WALL[name] = min(walls)
    return min(times), result


def main() -> None:
    import contextlib
    import io

    import torch

    from core.llm import LLMConfig, create_backend
    from core.toy import build

    warnings.filterwarnings("ignore")
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", 1)))
    backend = create_backend(LLMConfig(backend="hf", base_model=str(build("llama")), chat=False, no_cache=True,
                                       batch_size=BATCH))
    model, tokenizer, _ = backend.load()
    from core.templates import get_template

    template = get_template("alpaca")
    prompts = [template.render(r["instruction"], r["input"]) for r in records()]
    items = list(enumerate(prompts))
    lengths = [len(tokenizer(p)["input_ids"]) for p in prompts]
    bare_batched(model, tokenizer, prompts[:2])  # warm-up

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(io.StringIO()):
        one, baseline = best_of("one", lambda: loop_2023(model, tokenizer, prompts))
        bare, bare_answers = best_of("bare", lambda: bare_batched(model, tokenizer, prompts))
        path, answers = best_of("path", lambda: through_the_path(backend, items, Path(tmp)))
    same = sum(a == b for a, b in zip(baseline, answers, strict=True))
    same_bare = sum(a == b for a, b in zip(bare_answers, answers, strict=True))
    assert same == N, f"batched answers differ from one-at-a-time for {N - same} of {N} prompts"
    assert same_bare == N, f"the path's answers differ from bare batched generate for {N - same_bare} of {N}"

    print(f"bench_generate: toy llama (hidden 64, 2 layers), {N} prompts of {min(lengths)}-{max(lengths)} tokens, "
          f"{NEW_TOKENS} new tokens, torch threads {torch.get_num_threads()}, best of {REPEATS}")
    print(f"bench_generate: one at a time (DeepKE's 2023 loop): {one:.2f} CPU s ({WALL['one']:.2f} s wall), "
          f"{N / one:.1f} records/CPU s")
    print(f"bench_generate: bare batched model.generate (batch {BATCH}): {bare:.2f} CPU s ({WALL['bare']:.2f} s wall), "
          f"{N / bare:.1f} records/CPU s")
    ratio = one / path
    verdict = "ok" if ratio >= TARGET else "BELOW TARGET"
    print(f"bench_generate: hf backend + run_prompts (batch {BATCH}): {path:.2f} CPU s ({WALL['path']:.2f} s wall), "
          f"{N / path:.1f} records/CPU s; "
          f"same answers {same}/{N}; RATIO {ratio:.1f}x vs one at a time (target >= {TARGET:g}x: {verdict})")
    overhead = path / bare
    verdict = "ok" if overhead <= OVERHEAD else "ABOVE TARGET"
    print(f"bench_generate: hf backend + run_prompts vs bare batched generate: RATIO {overhead:.2f}x the time "
          f"(same answers {same_bare}/{N}; target <= {OVERHEAD:g}x: {verdict})")


if __name__ == "__main__":
    main()
