"""Adapters that memorise a few CCKS-style records on the toy models, trained once and cached, for tests.

    python -c "from core.testing.adapters import memorised_adapter; print(memorised_adapter('llama'))"

`memorised_adapter(kind, finetuning_type)` trains through `core.train.train` (the same code path as
InstructKGC/finetune.py) on `MEMORISED_RECORDS`, checks that greedy generation reproduces every output exactly, and
caches the adapter under `<cache_root>/<kind>-<type>-<hash>` (hash of the records, the recipe and the toy model), built
in a temporary folder and renamed into place under a file lock. Default cache root: `$KGLLM_ADAPTER_DIR`, else an
`adapters` folder beside the toy-model cache. Load it with `core.loader.load_model_with_adapter(None, path)`: the
adapter records its base model, template ("alpaca") and cutoff_len.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

from core.atomic_build import file_lock

RECIPE_VERSION = 1
_INSTRUCTION_ZH = ("已知候选的关系列表：{rels}，请你根据关系列表，从以下输入中抽取出可能存在的头实体与尾实体，"
                   "并给出对应的关系三元组。请按照 (头实体,关系,尾实体) 的格式回答。")
_INSTRUCTION_EN = ("Given the candidate relations {rels}, extract the (Subject,Relation,Object) triples that the "
                   "input expresses, in the form (Subject,Relation,Object).")


def _record(rid: str, cate: str, rels: list[str], text: str, triples: list[list[str]], en: bool = False) -> dict:
    instruction = (_INSTRUCTION_EN if en else _INSTRUCTION_ZH).format(rels=str(rels))
    output = "".join(f"({h},{r},{t})" for h, r, t in triples)
    return {"id": rid, "cate": cate, "instruction": instruction, "input": text, "output": output, "kg": triples}


MEMORISED_RECORDS: tuple[dict, ...] = (
    _record("mem-1", "地理地区", ["发源地", "流入"], "长江发源于青藏高原。", [["长江", "发源地", "青藏高原"]]),
    _record("mem-2", "作品", ["作者", "类型"], "《红楼梦》是曹雪芹创作的小说。", [["红楼梦", "作者", "曹雪芹"]]),
    _record("mem-3", "人物", ["作者", "出生地"], "鲁迅著有《阿Q正传》，出生于浙江绍兴。",
            [["阿Q正传", "作者", "鲁迅"], ["鲁迅", "出生地", "浙江绍兴"]]),
    _record("mem-4", "地理地区", ["located in", "height"], "Mount Everest is in Nepal.",
            [["Mount Everest", "located in", "Nepal"]], en=True),
    _record("mem-5", "组织", ["总部", "创始人"], "华为的总部在深圳市。", [["华为", "总部", "深圳市"]]),
)

# Recipes measured on the toy models (2 layers, hidden 64): LoRA on every linear layer at lr 1e-2 is exact by
# ~60 steps; P-Tuning v2 (prefix only) needs a larger lr and more steps.
RECIPES = {
    "lora": {"max_steps": 150, "learning_rate": 1e-2, "lora_r": 16, "lora_alpha": 16, "lora_dropout": 0.0},
    "ptuning": {"max_steps": 300, "learning_rate": 2e-1, "pre_seq_len": 32, "prefix_projection": False},
}
ALL_LINEAR = {"llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
              "glm": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"]}


def default_cache_root() -> Path:
    from core.toy import default_cache_dir

    env = os.environ.get("KGLLM_ADAPTER_DIR")
    return Path(env).expanduser() if env else default_cache_dir().parent / "adapters"


def _key(kind: str, finetuning_type: str, records: list[dict], toy_path: Path) -> str:
    toy_marker = (toy_path / "toy.json").read_text(encoding="utf-8")
    blob = json.dumps([RECIPE_VERSION, kind, finetuning_type, RECIPES[finetuning_type], ALL_LINEAR[kind], records,
                       toy_marker], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def memorised_adapter(kind: str = "llama", finetuning_type: str = "lora", records: list[dict] | None = None,
                      cache_root: str | os.PathLike | None = None) -> Path:
    """Folder of an adapter on the toy `kind` model ("llama"/"glm") that reproduces `records` (default
    MEMORISED_RECORDS) exactly under greedy decoding; trained on first use (seconds), then cached."""
    from core.toy import build

    if finetuning_type not in RECIPES or kind not in ALL_LINEAR:
        raise ValueError(f"unknown kind/finetuning_type {kind!r}/{finetuning_type!r}")
    records = [dict(r) for r in (records if records is not None else MEMORISED_RECORDS)]
    toy = build(kind)
    root = Path(cache_root).expanduser() if cache_root else default_cache_root()
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{kind}-{finetuning_type}-{_key(kind, finetuning_type, records, toy)}"
    if (final / "kgllm_adapter.json").is_file():
        return final
    with file_lock(root / ".build.lock"):
        if (final / "kgllm_adapter.json").is_file():
            return final
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{final.name}-building-"))
        try:
            _train(kind, finetuning_type, records, toy, tmp)
            check_reproduces(tmp, records)
            for leftover in tmp.glob("checkpoint-*"):
                shutil.rmtree(leftover)
            tmp.chmod(0o755)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _train(kind: str, finetuning_type: str, records: list[dict], toy: Path, out: Path) -> None:
    import warnings

    from core.io import write_jsonl
    from core.train import TrainConfig, train
    from core.tuning import TuningArgs

    recipe = dict(RECIPES[finetuning_type])
    steps, lr = recipe.pop("max_steps"), recipe.pop("learning_rate")
    if finetuning_type == "lora":
        recipe["lora_target_modules"] = ALL_LINEAR[kind]
    data = out / "records.jsonl"
    write_jsonl(data, records)
    cfg = TrainConfig(base_model=str(toy), train_path=str(data), output_dir=str(out), batch_size=len(records),
                      micro_batch_size=len(records), max_steps=steps, learning_rate=lr, logging_steps=steps,
                      save_steps=10**6, device="cpu", seed=0,
                      tuning=TuningArgs(finetuning_type=finetuning_type, **recipe))
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        train(cfg)
    data.unlink()


def greedy_outputs(adapter: str | os.PathLike, records: list[dict], max_new_tokens: int = 48) -> list[str]:
    """Greedy answers of base + adapter for `records` (core.generate: batched, left-padded; the recorded template)."""
    from core.generate import generate
    from core.loader import load_model_with_adapter
    from core.tuning import adapter_template

    model, tokenizer, meta = load_model_with_adapter(None, adapter)
    template = adapter_template(meta)
    prompts = [template.render(r["instruction"], r.get("input"), tokenizer) for r in records]
    outs = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, progress=False)
    return [template.response(o.text) for o in outs]


def check_reproduces(adapter: str | os.PathLike, records: list[dict]) -> None:
    """Raise RuntimeError unless greedy generation gives every record's output exactly."""
    got = greedy_outputs(adapter, records)
    wrong = [(r["output"], g) for r, g in zip(records, got, strict=True) if g != r["output"]]
    if wrong:
        raise RuntimeError(f"adapter {adapter} does not reproduce {len(wrong)} of {len(records)} records: {wrong[:3]}")


def memorised_records() -> list[dict]:
    """A fresh, mutable copy of MEMORISED_RECORDS."""
    return copy.deepcopy(list(MEMORISED_RECORDS))

