"""The demo on the real model, end to end: its CCKS2023 F1 / Rouge-2 / score on the 12 valid records and its time.

    python benchmarks/bench_real_demo.py

Runs `scripts/demo.py` (SmolLM2-135M-Instruct, the LoRA recipe of scripts/demo.py) from scratch into
runs/bench-demo (BENCH_REUSE=1 keeps an adapter trained there with the same recipe), and prints the metrics, the
wall-clock time of each step and of the whole run, and the CPU seconds of its processes (which do not count the time
other programs on a shared machine take the cores). Baseline measured in the same run: the same valid records
answered zero-shot by the base model (no adapter), scored the same way. The model conversion, done once per machine,
is not counted (it runs before the clock starts). Skipped, with the pip command, when the wheel is absent.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "runs" / "bench-demo"
KGC = ROOT / "InstructKGC"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: list[str]) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench_real_demo: {' '.join(args[:2])} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def zero_shot(folder: str, max_new_tokens: int) -> dict:
    """The base model without an adapter, chat template, same valid records, converter and scorer."""
    pred, triples, metrics = OUT / "zero_shot_pred.json", OUT / "zero_shot_triples.json", OUT / "zero_shot.json"
    for stale in (pred, triples, metrics, pred.with_name(pred.name + ".run.json")):
        stale.unlink(missing_ok=True)
    py, valid = sys.executable, KGC / "data" / "valid.json"
    run([py, str(KGC / "inference.py"), "--base_model", folder, "--lora_weights", "", "--prompt_template_name",
         "chat_template", "--input_file", str(valid), "--output_file", str(pred), "--batch_size", "12",
         "--max_new_tokens", str(max_new_tokens)])
    run([py, str(KGC / "convert.py"), "--pred_path", str(pred), "--tgt_path", str(triples)])
    run([py, str(KGC / "evaluate.py"), "--gold_file", str(valid), "--pred_file", str(triples), "--output_file",
         str(metrics)])
    return json.loads(metrics.read_text(encoding="utf-8"))


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from core import realmodels

    if realmodels.wheel_file() is None:
        print(f"bench_real_demo: skipped: {realmodels.missing_reason()}")
        return
    folder = str(realmodels.get())  # converted once per machine, before the clock starts
    if os.environ.get("BENCH_REUSE") != "1":
        shutil.rmtree(OUT, ignore_errors=True)
    cpu, wall = children_cpu(), time.perf_counter()
    log = run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--out_dir", str(OUT)])
    cpu, wall = children_cpu() - cpu, time.perf_counter() - wall
    steps = re.findall(r"^== (\d/\d) ([^\n]*)\n\$ [^\n]*\n(?:.*\n)*?   \(([\d.]+) s\)", log, flags=re.M)
    scores = json.loads((OUT / "metrics.json").read_text(encoding="utf-8"))
    sys.path.insert(0, str(ROOT / "scripts"))
    from demo import RECIPES

    base = zero_shot(folder, RECIPES["real"]["max_new_tokens"])
    trained = "trained" if "adapter already in" not in log else "adapter reused (BENCH_REUSE=1)"
    print(f"bench_real_demo: demo on SmolLM2-135M-Instruct ({trained}): {wall:.0f} s wall, {cpu:.0f} CPU s "
          f"in its processes; steps: " + ", ".join(f"{n} {float(s):.0f} s" for n, _, s in steps))
    keys = ("f1", "rouge2", "score")
    print("bench_real_demo: zero-shot base model (baseline): " + "  ".join(f"{k}={base[k]:.4f}" for k in keys)
          + f"  ({base['correct']} of {base['gold_triples']} gold triples)")
    print("bench_real_demo: demo (LoRA): " + "  ".join(f"{k}={scores[k]:.4f}" for k in keys)
          + f"  ({scores['correct']} of {scores['gold_triples']} gold triples); target f1 >= 0.25: "
          + ("ok" if scores["f1"] >= 0.25 else "BELOW TARGET") + "; whole demo <= 300 s wall: "
          + ("not timed (adapter reused)" if "reused" in trained else "ok" if wall <= 300 else "ABOVE TARGET"))


if __name__ == "__main__":
    main()
