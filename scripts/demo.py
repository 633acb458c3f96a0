"""The main job, offline, on a toy model: fine-tune -> batched inference -> convert -> score -> knowledge graph.

    python scripts/demo.py --out_dir runs/demo

Runs the same commands a user would (each step is a file on disk, so each can be re-run on its own), on the toy
LLaMA that `core.toy` builds locally; no download, no GPU. A toy model scores what it scores: the numbers show the
pipeline works end to end, not what a 7B model reaches. Rerunning reuses the adapter and the answers already there.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KGC = ROOT / "InstructKGC"


def _step(title: str, args: list[str], env: dict[str, str] | None = None) -> None:
    shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
    print(f"\n== {title}\n$ {shown + ' ' if shown else ''}{' '.join(shlex.quote(a) for a in args)}", flush=True)
    start = time.perf_counter()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run(args, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"error: step '{title}' failed with exit code {proc.returncode}")
    print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)


def main(out_dir: str = "runs/demo", epochs: int = 40, learning_rate: float = 1e-2, max_new_tokens: int = 64) -> None:
    out = (ROOT / out_dir).resolve() if not Path(out_dir).is_absolute() else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    lora, pred, triples, metrics = out / "lora", out / "valid_pred.json", out / "valid_triples.json", out / "metrics.json"
    graph, html = out / "graph" / "graph.jsonl", out / "graph" / "graph.html"
    valid = KGC / "data" / "valid.json"

    if not (lora / "adapter_config.json").exists():
        _step("1/5 fine-tune LoRA on the toy LLaMA (InstructKGC/data/train.json)",
              ["bash", str(KGC / "scripts" / "run_finetune_lora.sh")],
              env={"PYTHON": py, "OUTPUT_DIR": str(lora), "NUM_EPOCHS": str(epochs),
                   "LEARNING_RATE": str(learning_rate)})
    else:
        print(f"\n== 1/5 fine-tune: adapter already in {lora} (delete it to train again)")
    _step("2/5 batched inference on InstructKGC/data/valid.json",
          [py, str(KGC / "inference.py"), "--lora_weights", str(lora), "--input_file", str(valid),
           "--output_file", str(pred), "--batch_size", "16", "--max_new_tokens", str(max_new_tokens)])
    _step("3/5 convert answers to triples", [py, str(KGC / "convert.py"), "--pred_path", str(pred),
                                             "--tgt_path", str(triples)])
    _step("4/5 CCKS2023 scoring", [py, str(KGC / "evaluate.py"), "--gold_file", str(valid), "--pred_file", str(triples),
                                   "--output_file", str(metrics)])
    _step("5/5 knowledge graph: build, then the offline HTML view",
          [py, "-m", "core.kg", "build", "--input", str(triples), "--output", str(graph), "--run", "demo"])
    _step("    export HTML", [py, "-m", "core.kg", "export", "--input", str(graph), "--format", "html",
                              "--output", str(html)])

    scores = json.loads(metrics.read_text(encoding="utf-8"))
    print("\n== done")
    print(f"adapter      {lora}")
    print(f"answers      {pred}")
    print(f"triples      {triples}")
    print(f"metrics      {metrics}")
    print(f"graph        {graph}")
    print(f"HTML view    {html}")
    keys = ("precision", "recall", "f1", "rouge2", "score")
    print("metrics      " + "  ".join(f"{k}={scores[k]:.4f}" for k in keys))


if __name__ == "__main__":
    from core.errors import cli_main

    cli_main(main)
