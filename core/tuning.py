"""LoRA and P-Tuning v2 adapters through peft: configs, k-bit preparation, save/load with our metadata, merge.

    python -c "from core.tuning import default_target_modules as d; from core.toy import build; from transformers import AutoModelForCausalLM as A; print(d(A.from_pretrained(build('glm'))))"

An adapter folder holds peft's files (adapter_config.json, adapter_model.safetensors) plus `kgllm_adapter.json`:
what the adapter was trained on and with (base model, prompt template, cutoff_len, finetuning type, LoRA/prefix
settings), so inference and the server never pair it with the wrong base model or prompt format.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import __version__
from core.errors import UserError
from core.flags_values import check_int
from core.io import read_json, write_json
from core.models import _one_line

META_FILE = "kgllm_adapter.json"
MERGED_META_FILE = "kgllm_merged.json"
FINETUNING_TYPES = ("lora", "ptuning")
# LoRA targets per model_type; peft's own table covers most others, then the attention names below are tried.
DEFAULT_TARGETS = {"llama": ["q_proj", "v_proj"], "chatglm": ["query_key_value"], "glm": ["q_proj", "v_proj"],
                   "glm4": ["q_proj", "v_proj"]}
ATTENTION_GUESSES = (["q_proj", "v_proj"], ["query_key_value"], ["qkv_proj"], ["c_attn"], ["Wqkv"], ["query", "value"])


@dataclass
class TuningArgs:
    """What to train: a LoRA adapter or a P-Tuning v2 prefix (peft PrefixTuningConfig)."""

    finetuning_type: str = field(default="lora", metadata={"help": "lora or ptuning (P-Tuning v2 = prefix tuning)"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA input"})
    lora_target_modules: list[str] | None = field(
        default=None, metadata={"help": "module names to adapt; None = the default for the architecture"})
    lora_layers: int = field(default=0, metadata={
        "help": "LoRA on the last N transformer layers only (0 = all): backward stops at the lowest adapted layer, "
                "so training is faster; the lower layers stay the base model's"})
    pre_seq_len: int = field(default=16, metadata={"help": "P-Tuning v2: number of prefix (virtual) tokens"})
    prefix_projection: bool = field(
        default=False, metadata={"help": "P-Tuning v2: reparameterise the prefix through a 2-layer MLP"})

    def __post_init__(self) -> None:
        if self.finetuning_type not in FINETUNING_TYPES:
            raise UserError(f"--finetuning_type must be one of {', '.join(FINETUNING_TYPES)} "
                            f"(got {self.finetuning_type!r})")
        if isinstance(self.lora_target_modules, str):
            self.lora_target_modules = _split_names(self.lora_target_modules)
        checks = [("lora_r", self.lora_r, 1), ("lora_alpha", self.lora_alpha, 1), ("pre_seq_len", self.pre_seq_len, 1),
                  ("lora_layers", self.lora_layers, 0)]
        for name, value, low in checks:
            check_int(name, value, low)
        if not isinstance(self.lora_dropout, (int, float)) or not 0 <= self.lora_dropout < 1:
            raise UserError(f"--lora_dropout must be a number in [0, 1) (got {self.lora_dropout!r})")
        if not isinstance(self.prefix_projection, bool):
            raise UserError(f"--prefix_projection must be true or false (got {self.prefix_projection!r})")

    def to_meta(self) -> dict:
        if self.finetuning_type == "lora":
            return {"finetuning_type": "lora", "lora_r": self.lora_r, "lora_alpha": self.lora_alpha,
                    "lora_dropout": self.lora_dropout, "lora_target_modules": self.lora_target_modules,
                    "lora_layers": self.lora_layers}
        return {"finetuning_type": "ptuning", "pre_seq_len": self.pre_seq_len,
                "prefix_projection": self.prefix_projection}


def _split_names(text: str) -> list[str]:
    """'[q_proj,v_proj]' / 'q_proj,v_proj' / 'q_proj' -> ['q_proj', 'v_proj'] (fire gives strings or lists)."""
    return [p.strip().strip("'\"") for p in text.strip().strip("[]()").split(",") if p.strip().strip("'\"")]


def _linear_names(model: Any) -> set[str]:
    """Last name component of every Linear-like module (nn.Linear, bitsandbytes Linear8bitLt/Linear4bit, Conv1D)."""
    names = set()
    for name, module in model.named_modules():
        cls = type(module).__name__
        if name and (cls.startswith("Linear") or cls == "Conv1D") and "lm_head" not in name:
            names.add(name.rsplit(".", 1)[-1])
    return names


def default_target_modules(model: Any) -> list[str]:
    """LoRA target modules for `model`'s architecture: ours, then peft's table, then common attention names."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_TARGETS

    model_type = getattr(getattr(model, "config", None), "model_type", "")
    present = _linear_names(model)
    for candidate in (DEFAULT_TARGETS.get(model_type), PEFT_TARGETS.get(model_type), *ATTENTION_GUESSES):
        if candidate and set(candidate) <= present:
            return list(candidate)
    raise UserError(f"no default LoRA target modules for model type '{model_type}': pass --lora_target_modules "
                    f"with some of: {', '.join(sorted(present)) or '(no linear layers found)'}")


def peft_config(args: TuningArgs, model: Any):
    """Our TuningArgs -> a peft LoraConfig or PrefixTuningConfig for `model` (the one place this translation lives)."""
    from peft import LoraConfig, PrefixTuningConfig, TaskType

    if args.finetuning_type == "lora":
        targets = args.lora_target_modules or default_target_modules(model)
        missing = sorted(set(targets) - _linear_names(model))
        if missing:
            raise UserError(f"--lora_target_modules: {', '.join(missing)} not found in the model "
                            f"(linear layers: {', '.join(sorted(_linear_names(model)))})")
        args.lora_target_modules = list(targets)
        return LoraConfig(task_type=TaskType.CAUSAL_LM, r=args.lora_r, lora_alpha=args.lora_alpha,
                          lora_dropout=args.lora_dropout, target_modules=list(targets), bias="none",
                          layers_to_transform=_top_layers(model, args.lora_layers))
    return PrefixTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=args.pre_seq_len,
                              prefix_projection=args.prefix_projection)


def _top_layers(model: Any, count: int) -> list[int] | None:
    """Indices of the last `count` transformer layers (None = every layer); UserError past the model's depth."""
    if not count:
        return None
    depth = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    if not isinstance(depth, int) or count > depth:
        raise UserError(f"--lora_layers {count}: the model has {depth if isinstance(depth, int) else 'no known'} "
                        "transformer layers (num_hidden_layers)")
    return list(range(depth - count, depth))


def attach_adapter(model: Any, args: TuningArgs, *, gradient_checkpointing: bool | None = None) -> Any:
    """Wrap `model` in a trainable peft model. k-bit models get QLoRA-style preparation (gradient checkpointing on
    unless `gradient_checkpointing=False`). A model peft's prefix tuning cannot run raises UserError right here."""
    from peft import get_peft_model

    if getattr(model, "is_loaded_in_8bit", False) or getattr(model, "is_loaded_in_4bit", False):
        from peft import prepare_model_for_kbit_training

        gc = True if gradient_checkpointing is None else gradient_checkpointing
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gc,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    elif gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    config = peft_config(args, model)
    model_type = getattr(model.config, "model_type", "?")
    try:
        peft_model = get_peft_model(model, config)
    except (ValueError, TypeError, AttributeError, NotImplementedError, KeyError) as exc:
        raise UserError(f"peft cannot apply {args.finetuning_type} to model type '{model_type}': "
                        f"{_one_line(exc)}") from None
    if args.finetuning_type == "ptuning":
        _check_prefix_runs(peft_model, model_type)
    return peft_model


def _check_prefix_runs(peft_model: Any, model_type: str) -> None:
    """One tiny forward pass: peft's prefix tuning fails for some architectures (custom caches, remote code)."""
    import torch

    device = next(p.device for p in peft_model.parameters())
    ids = torch.ones((1, 2), dtype=torch.long, device=device)
    try:
        with torch.no_grad():
            peft_model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=ids)
    except Exception as exc:  # noqa: BLE001 - any failure here means "not supported", said in one line
        raise UserError(f"P-Tuning v2 (peft prefix tuning) does not work with model type '{model_type}': "
                        f"{_one_line(exc)}; use --finetuning_type lora") from None


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts; 4-bit packed weights count as stored."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad), sum(p.numel() for p in model.parameters())


def save_adapter(model: Any, out_dir: str | os.PathLike, meta: dict) -> Path:
    """Save peft's adapter files and our `kgllm_adapter.json` (written last: its presence marks a finished save)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / META_FILE).unlink(missing_ok=True)
    model.save_pretrained(str(out))
    write_json(out / META_FILE, {"format": 1, "kgllm_version": __version__, **meta})
    return out


def read_adapter_meta(path: str | os.PathLike) -> dict:
    """Our metadata of the adapter in `path`; for a plain peft adapter (no kgllm_adapter.json) what peft recorded."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise UserError(f"adapter '{path}' not found: no such folder")
    if (folder / META_FILE).is_file():
        meta = read_json(folder / META_FILE)
        if not isinstance(meta, dict):
            raise UserError(f"{folder / META_FILE}: expected a JSON object")
        return meta
    if not (folder / "adapter_config.json").is_file():
        raise UserError(f"adapter '{path}' has no adapter_config.json (not a peft adapter folder)")
    config = read_json(folder / "adapter_config.json")
    peft_type = str(config.get("peft_type", "")).upper()
    return {"base_model": config.get("base_model_name_or_path"), "template": None,
            "finetuning_type": {"LORA": "lora", "PREFIX_TUNING": "ptuning"}.get(peft_type, peft_type.lower())}


def adapter_template(meta: dict):
    """The prompt Template an adapter was trained with (None when the adapter does not say)."""
    from core.templates import Template, get_template, template_names

    name = meta.get("template")
    if not name:
        return None
    spec = meta.get("template_spec")
    if name not in template_names() and isinstance(spec, dict):
        return Template(name, spec["prompt_input"], spec["prompt_no_input"], spec.get("response_split", ""),
                        spec.get("description", ""))
    return get_template(name)


def merge_adapter(base_model: str | os.PathLike | None, lora_weights: str | os.PathLike,
                  out_dir: str | os.PathLike, *, dtype: Any = "auto") -> Path:
    """Merge a LoRA adapter into its base model and save a standalone model + tokenizer in `out_dir` (built in a
    temporary folder, renamed into place), with the adapter's metadata in `kgllm_merged.json`."""
    meta = read_adapter_meta(lora_weights)
    if meta.get("finetuning_type") != "lora":
        raise UserError(f"only LoRA adapters can be merged into the base model (this one is "
                        f"{meta.get('finetuning_type')!r}); use the adapter with --lora_weights instead")
    out = Path(out_dir).expanduser()
    if out.exists() and any(out.iterdir()):
        raise UserError(f"output folder '{out}' exists and is not empty")
    from core.loader import load_model_with_adapter

    model, tokenizer, meta = load_model_with_adapter(base_model, lora_weights, dtype=dtype)
    merged = model.merge_and_unload()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-merging-"))
    try:
        merged.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        merged_meta = {**meta, "merged_from": str(Path(lora_weights).resolve())}
        (tmp / MERGED_META_FILE).write_text(json.dumps(merged_meta, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.chmod(0o755)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
