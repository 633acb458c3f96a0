"""Records/s of batched inference (core.generate, batch 16) vs the seed's one-record-at-a-time loop.

    python benchmarks/bench_generate.py

Same toy model (core.toy LLaMA: hidden 64, 2 layers, random weights; the tiny one, not a bigger config: per-step
overhead dominates it, as it does a 7B model's decoding on a GPU), same 64 CCKS-style prompts of 64-152 tokens
(alpaca template), greedy, 64 new tokens each; the two runs must give exactly the same answers. The baseline is the
seed's loop: tokenize one prompt, `model.generate`, decode, take the response. Best of 3 runs each, one torch thread
(on a shared 2-core machine more threads make both runs slower and noisier; BENCH_THREADS=2 to try). Target >= 8x.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

N, BATCH, NEW_TOKENS, TARGET, REPEATS = 64, 16, 64, 8.0, 3
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


def seed_loop(model, tokenizer, template, prompts: list[str]) -> list[str]:
    """What the seed's inference.py did: one record at a time."""
    import torch

    answers = []
    for prompt in prompts:
        inputs = tokenizer(prompt, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, do_sample=False, max_new_tokens=NEW_TOKENS,
                                 pad_token_id=tokenizer.pad_token_id)
        text = tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        answers.append(template.response(text))
    return answers


def best_of(fn, repeats: int = REPEATS) -> tuple[float, list]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    import torch

    from core.generate import generate
    from core.models import load_model_and_tokenizer
    from core.templates import get_template
    from core.toy import build

    warnings.filterwarnings("ignore")
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", 1)))
    model, tokenizer = load_model_and_tokenizer(str(build("llama")))
    template = get_template("alpaca")
    prompts = [template.render(r["instruction"], r["input"]) for r in records()]
    lengths = [len(tokenizer(p)["input_ids"]) for p in prompts]
    generate(model, tokenizer, prompts[:2], max_new_tokens=2, progress=False)  # warm-up

    one, baseline = best_of(lambda: seed_loop(model, tokenizer, template, prompts))
    many, outs = best_of(lambda: generate(model, tokenizer, prompts, batch_size=BATCH, max_new_tokens=NEW_TOKENS,
                                          progress=False))
    batched = [template.response(o.text) for o in outs]
    same = sum(a == b for a, b in zip(baseline, batched, strict=True))
    assert same == N, f"batched answers differ from one-at-a-time for {N - same} of {N} prompts"

    print(f"bench_generate: toy llama (hidden 64, 2 layers), {N} prompts of {min(lengths)}-{max(lengths)} tokens, "
          f"{NEW_TOKENS} new tokens, torch threads {torch.get_num_threads()}, best of {REPEATS}")
    print(f"bench_generate: one at a time (seed loop): {one:.2f} s, {N / one:.1f} records/s")
    ratio = one / many
    verdict = "ok" if ratio >= TARGET else "BELOW TARGET"
    print(f"bench_generate: batched (core.generate, batch {BATCH}): {many:.2f} s, {N / many:.1f} records/s; "
          f"same answers {same}/{N}; RATIO {ratio:.1f}x vs one at a time (target >= {TARGET:g}x: {verdict})")


if __name__ == "__main__":
    main()
