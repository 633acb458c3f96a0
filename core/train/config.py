"""What one fine-tuning run is given (TrainConfig: every field is a flag of InstructKGC/finetune.py, through
core.flags) and what it gives back (TrainResult); the numeric checks that turn a value the Trainer would reject with
a traceback into a one-line error.

    python -c "from core.train.config import TrainConfig; print(TrainConfig().learning_rate)"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.flags_values import check_int
from core.train.data import EncodeStats
from core.tuning import TuningArgs


@dataclass
class TrainConfig:
    """Everything one fine-tuning run needs; every field has a CLI flag of the same name in InstructKGC/finetune.py."""

    base_model: str | None = field(default=None, metadata={
        "help": "model folder or hub id (`python -m core.toy build llama` makes a toy one)", "required": True})
    train_path: str = field(default="", metadata={"help": "training records (JSONL or JSON array)"})
    output_dir: str = field(default="lora", metadata={"help": "adapter + checkpoints go here"})
    valid_path: str | None = field(default=None, metadata={"help": "valid records for eval loss (with output)",
                                                           "aliases": ("--valid_file",)})
    val_set_size: int = field(default=0, metadata={"help": "without valid_path: hold out this many train records"})
    batch_size: int = field(default=128, metadata={"help": "records per optimizer step (all processes together)"})
    micro_batch_size: int = field(default=4, metadata={"help": "records per forward pass per process",
                                                       "aliases": ("--micro_train_batch_size",)})
    num_epochs: float = field(default=3, metadata={"help": "passes over the training records"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many optimizer steps (-1 = epochs)"})
    learning_rate: float = field(default=3e-4, metadata={"help": "peak learning rate (linear decay)"})
    warmup_steps: float = field(default=0, metadata={"help": "warmup: steps, or a ratio of all steps if < 1"})
    cutoff_len: int = field(default=256, metadata={"help": "max tokens per record (prompt + response + EOS)"})
    overlong: str = field(default="error", metadata={"help": "record longer than cutoff_len: error|truncate|skip"})
    train_on_inputs: bool = field(default=False, metadata={"help": "also train on the prompt tokens"})
    group_by_length: bool = field(default=False, metadata={"help": "batch records of similar length together"})
    prompt_template_name: str | None = field(default=None, metadata={
        "help": "template name (alpaca, chatglm, chat_template...) or a .json path; default: the tokenizer's chat "
                "template when it has one, else alpaca (core.loader's one rule)"})
    tuning: TuningArgs = field(default_factory=TuningArgs, metadata={"help": "LoRA / P-Tuning v2 settings"})
    bits: int | None = field(default=None, metadata={"help": "4 or 8: quantize the base (QLoRA); 16/32: dtype"})
    dtype: str = field(default="auto", metadata={"help": "auto, bf16, fp16, fp32"})
    gradient_checkpointing: bool | None = field(default=None, metadata={"help": "None = on for 4/8-bit only"})
    resume_from_checkpoint: str | bool | None = field(
        default=None, metadata={"help": "checkpoint folder, or True for the last one in output_dir"})
    seed: int = field(default=42, metadata={"help": "seed for weights init, data order and the val split"})
    device: str = field(default="auto", metadata={"help": "auto (GPU if any), cpu or cuda"})
    logging_steps: int = field(default=10, metadata={"help": "log the loss every N steps"})
    save_steps: int | None = field(default=None, metadata={"help": "checkpoint (and eval) every N steps; None = epoch"})
    save_total_limit: int = field(default=3, metadata={"help": "keep this many checkpoints"})
    deepspeed: str | None = field(default=None, metadata={"help": "DeepSpeed config JSON (GPU only)"})
    trust_remote_code: bool = field(default=False, metadata={"help": "run the model's own code (ChatGLM-6B)"})
    eval_generate: bool = field(default=False, metadata={
        "help": "each eval also generates on the valid set and reports triple F1, Rouge-2 and score"})
    eval_max_new_tokens: int = field(default=128, metadata={"help": "answer length for --eval_generate"})
    eval_lang: str = field(default="zh", metadata={"help": "zh or en: Rouge-2 tokenisation for --eval_generate"})
    metric_for_best_model: str | None = field(default=None, metadata={
        "help": "keep the best checkpoint by this eval metric (loss, f1, rouge2, score) and load it at the end"})


@dataclass
class TrainResult:
    adapter_dir: Path
    steps: int
    epochs: float
    final_loss: float | None
    eval_loss: float | None
    trainable_params: int
    total_params: int
    train_stats: EncodeStats
    log_history: list = field(default_factory=list)


def check_numbers(cfg: TrainConfig) -> None:
    """One-line errors for numeric flags the Trainer would reject with a traceback."""
    def bad(name: str, value: Any, ok: bool, want: str) -> None:
        if isinstance(value, bool) or not ok:
            raise UserError(f"--{name} must be {want} (got {value!r})")

    num = (int, float)
    bad("learning_rate", cfg.learning_rate, isinstance(cfg.learning_rate, num) and cfg.learning_rate > 0, "a number > 0")
    bad("num_epochs", cfg.num_epochs, isinstance(cfg.num_epochs, num) and cfg.num_epochs > 0, "a number > 0")
    bad("warmup_steps", cfg.warmup_steps, isinstance(cfg.warmup_steps, num) and cfg.warmup_steps >= 0, "a number >= 0")
    bad("max_steps", cfg.max_steps, isinstance(cfg.max_steps, int) and (cfg.max_steps > 0 or cfg.max_steps == -1),
        "an integer > 0, or -1")
    for name in ("logging_steps", "save_total_limit") + (("save_steps",) if cfg.save_steps is not None else ()):
        check_int(name, getattr(cfg, name))
