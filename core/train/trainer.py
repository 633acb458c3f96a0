"""Fine-tune a causal LM with LoRA or P-Tuning v2 on instruction records through the Hugging Face Trainer.

    python -c "from core.train import TrainConfig, train; from core.toy import build; train(TrainConfig(base_model=build('llama'), train_path='InstructKGC/data/train.json', output_dir='/tmp/kgllm-lora', max_steps=5))"

`train(cfg)` checks everything it can before loading the model (template, model path, bitsandbytes, data fields,
record lengths, resume checkpoint), trains with gradient accumulation = batch_size // micro_batch_size // world_size,
evaluates on the valid set, checkpoints into output_dir (resumable), then saves the adapter with its metadata
(core.tuning.save_adapter) and prints a summary. Works under `torchrun` (DDP: gloo on CPU, NCCL on GPUs).
"""

from __future__ import annotations

import os
import random
import warnings
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.flags_values import check_int
from core.train.config import TrainConfig, TrainResult, check_numbers
from core.train.data import Collator, EncodeStats, encode_records, read_instruction_records
from core.tuning import TuningArgs, attach_adapter, count_parameters, save_adapter


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def gradient_accumulation(batch_size: int, micro_batch_size: int, world: int = 1) -> int:
    """DeepKE's 2023 rule: batch_size // micro_batch_size // world_size, at least 1."""
    check_int("batch_size", batch_size)
    check_int("micro_batch_size", micro_batch_size)
    return max(1, batch_size // micro_batch_size // world)


def _dtype_for(cfg: TrainConfig) -> str:
    return {16: "bf16", 32: "fp32"}.get(cfg.bits, cfg.dtype)


def _use_cuda(device: str) -> bool:
    import torch

    if device not in ("auto", "cpu", "cuda", "gpu"):
        raise UserError(f"--device must be auto, cpu or cuda (got {device!r})")
    if device in ("cuda", "gpu") and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is available here (use --device cpu)")
    return device != "cpu" and torch.cuda.is_available()


def _resume_point(cfg: TrainConfig) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    resume = cfg.resume_from_checkpoint
    if resume in (None, False, "", "false", "False"):
        last = get_last_checkpoint(cfg.output_dir) if Path(cfg.output_dir).is_dir() else None
        if last:
            warnings.warn(f"{cfg.output_dir} holds {Path(last).name} from an earlier run; starting over "
                          "(pass --resume_from_checkpoint to continue it)", stacklevel=2)
        return None
    if resume in (True, "true", "True"):
        last = get_last_checkpoint(cfg.output_dir) if Path(cfg.output_dir).is_dir() else None
        if last is None:
            warnings.warn(f"--resume_from_checkpoint: no checkpoint in {cfg.output_dir}; starting from scratch",
                          stacklevel=2)
        return last
    path = Path(str(resume)).expanduser()
    if not (path / "trainer_state.json").is_file():
        raise UserError(f"--resume_from_checkpoint '{resume}' is not a checkpoint folder (no trainer_state.json)")
    return str(path)


def read_sets(cfg: TrainConfig) -> tuple[list[dict], list[dict] | None, str | None]:
    """Read and check train (and valid) records -> (train, valid, valid file); a held-out split from train when only
    val_set_size is given (seeded)."""
    records = read_instruction_records(cfg.train_path)
    if cfg.valid_path:
        return records, read_instruction_records(cfg.valid_path), cfg.valid_path
    if not cfg.val_set_size:
        return records, None, None
    if isinstance(cfg.val_set_size, bool) or not isinstance(cfg.val_set_size, int) \
            or not 0 < cfg.val_set_size < len(records):
        raise UserError(f"--val_set_size must be between 1 and {len(records) - 1} for the {len(records)} training "
                        f"records (got {cfg.val_set_size!r}); 0 means no eval")
    picked = set(random.Random(cfg.seed).sample(range(len(records)), cfg.val_set_size))
    return ([r for i, r in enumerate(records) if i not in picked], [r for i, r in enumerate(records) if i in picked],
            cfg.train_path)


def encode_sets(cfg: TrainConfig, sets: tuple, template: Any, tokenizer: Any) -> tuple[list, list | None, EncodeStats]:
    """Token ids for the sets `read_sets` gave (cutoff_len policy: core.train.data)."""
    records, valid_records, valid_path = sets
    kw = {"train_on_inputs": cfg.train_on_inputs, "overlong": cfg.overlong}
    train_set, stats = encode_records(records, template, tokenizer, cfg.cutoff_len, path=cfg.train_path, **kw)
    valid_set = None
    if valid_records:
        valid_set, _ = encode_records(valid_records, template, tokenizer, cfg.cutoff_len, path=valid_path, **kw)
    return train_set, valid_set, stats


def _load_tokenizer(path: str, trust_remote_code: bool) -> Any:
    from transformers import AutoTokenizer

    from core.models import set_pad_token

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise UserError(f"cannot load the tokenizer of '{path}': {' '.join(str(exc).split())[:240]}") from None
    set_pad_token(tokenizer)
    tokenizer.padding_side = "right"
    return tokenizer


def _best_model_args(cfg: TrainConfig, has_eval: bool) -> dict:
    metric = cfg.metric_for_best_model
    if not metric:
        return {}
    metric = metric.removeprefix("eval_")
    if not has_eval:
        raise UserError("--metric_for_best_model needs a valid set (--valid_path or --val_set_size)")
    if metric != "loss" and not cfg.eval_generate:
        raise UserError(f"--metric_for_best_model {metric} needs --eval_generate (only 'loss' comes without it)")
    if metric not in ("loss", "precision", "recall", "f1", "rouge2", "score"):
        raise UserError(f"--metric_for_best_model must be loss, precision, recall, f1, rouge2 or score (got {metric!r})")
    return {"metric_for_best_model": f"eval_{metric}", "greater_is_better": metric != "loss",
            "load_best_model_at_end": True}


def _training_args(cfg: TrainConfig, cuda: bool, has_eval: bool, resolved_dtype: Any):
    import torch
    from transformers import TrainingArguments

    world = world_size()
    by_steps = cfg.save_steps is not None
    strategy = "steps" if by_steps else "epoch"
    return TrainingArguments(
        output_dir=cfg.output_dir, per_device_train_batch_size=cfg.micro_batch_size,
        per_device_eval_batch_size=cfg.micro_batch_size,
        gradient_accumulation_steps=gradient_accumulation(cfg.batch_size, cfg.micro_batch_size, world),
        num_train_epochs=cfg.num_epochs, max_steps=cfg.max_steps, learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup_steps, lr_scheduler_type="linear", logging_steps=cfg.logging_steps,
        eval_strategy=strategy if has_eval else "no", eval_steps=cfg.save_steps if by_steps else None,
        save_strategy=strategy, save_steps=cfg.save_steps if by_steps else 500, save_total_limit=cfg.save_total_limit,
        seed=cfg.seed, train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        use_cpu=not cuda, bf16=cuda and resolved_dtype == torch.bfloat16,
        fp16=cuda and resolved_dtype == torch.float16, report_to="none", remove_unused_columns=False,
        label_names=["labels"], ddp_find_unused_parameters=False if world > 1 else None,
        deepspeed=cfg.deepspeed, optim="adamw_torch", dataloader_num_workers=0, **_best_model_args(cfg, has_eval),
    )


def train(cfg: TrainConfig, callbacks: list | None = None) -> TrainResult:
    """Run one fine-tuning job (see the module docstring); returns what the summary prints."""
    import warnings

    # transformers' own deprecation notice about a peft attribute: nothing a user of this command can act on
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    from core.models import check_model_path, load_model_and_tokenizer, quantization_config, resolve_dtype
    from core.templates import get_template, template_names

    if not isinstance(cfg.tuning, TuningArgs):
        raise UserError("TrainConfig.tuning must be a core.tuning.TuningArgs")
    template = get_template(cfg.prompt_template_name) if cfg.prompt_template_name else None  # a bad name fails now
    if not cfg.base_model:
        raise UserError("no base model: pass --base_model (a folder or hub id; `python -m core.toy build llama` "
                        "prints a toy one's folder)")
    base = check_model_path(cfg.base_model)
    sets = read_sets(cfg)
    cuda = _use_cuda(cfg.device)
    resolved_dtype = resolve_dtype(_dtype_for(cfg), cuda=cuda)
    quantization_config(cfg.bits)  # --bits value and bitsandbytes presence, before anything heavy
    gradient_accumulation(cfg.batch_size, cfg.micro_batch_size, world_size())
    check_numbers(cfg)
    if cfg.eval_generate and not (cfg.valid_path or cfg.val_set_size):
        raise UserError("--eval_generate needs a valid set (--valid_path or --val_set_size)")
    _best_model_args(cfg, bool(cfg.valid_path or cfg.val_set_size))
    if cfg.deepspeed and not cuda:
        raise UserError("--deepspeed needs CUDA GPUs; drop it to train on CPU")
    if cfg.deepspeed and not Path(cfg.deepspeed).is_file():
        raise UserError(f"--deepspeed config '{cfg.deepspeed}' not found")
    resume = _resume_point(cfg)
    tokenizer = _load_tokenizer(base, cfg.trust_remote_code)
    if template is None:
        from core.loader import choose_template, has_chat_template

        template = choose_template(None, None, False, has_chat_template(tokenizer))[0]
        cfg.prompt_template_name = template.name
    train_set, valid_set, stats = encode_sets(cfg, sets, template, tokenizer)

    import transformers
    from transformers import Trainer

    transformers.set_seed(cfg.seed)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device_map = {"": local_rank} if cuda and (cfg.bits in (4, 8) or world_size() > 1) else None
    bits = cfg.bits if cfg.bits in (4, 8) else None
    model, _ = load_model_and_tokenizer(base, dtype=resolved_dtype, bits=bits, device_map=device_map,
                                        trust_remote_code=cfg.trust_remote_code, padding_side="right")
    model.config.use_cache = False
    model = attach_adapter(model, cfg.tuning, gradient_checkpointing=cfg.gradient_checkpointing)
    trainable, total = count_parameters(model)
    native = not getattr(model.get_base_model().config, "auto_map", None)
    collator = Collator(tokenizer.pad_token_id, position_ids=cfg.tuning.finetuning_type == "ptuning" and native,
                        pad_to_multiple_of=8 if cuda else None)
    args = _training_args(cfg, cuda, valid_set is not None, resolved_dtype)
    evaluator = None
    if cfg.eval_generate and sets[1]:
        from core.train.evalgen import GenerateEval

        evaluator = GenerateEval(sets[1], template, tokenizer, lang=cfg.eval_lang,
                                 max_new_tokens=cfg.eval_max_new_tokens, batch_size=cfg.micro_batch_size)
    from core.train.answer_loss import answer_loss_trainer
    from core.train.evalgen import trainer_class

    trainer = trainer_class(answer_loss_trainer(Trainer), evaluator)(
        model=model, args=args, train_dataset=train_set, eval_dataset=valid_set, data_collator=collator,
        processing_class=tokenizer, callbacks=callbacks)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*past_key_values.*")  # peft prefix tuning under transformers 5
        trainer.train(resume_from_checkpoint=resume)
    history = trainer.state.log_history
    losses = [h["loss"] for h in history if "loss" in h] or [h["train_loss"] for h in history if "train_loss" in h]
    evals = [h["eval_loss"] for h in history if "eval_loss" in h]
    out = Path(cfg.output_dir)
    if trainer.is_world_process_zero():
        meta = {"base_model": str(Path(base).resolve()) if Path(base).exists() else base, "model_type": model.get_base_model().config.model_type,
                "template": template.name, "cutoff_len": cfg.cutoff_len, **cfg.tuning.to_meta(),
                "bits": cfg.bits, "train_on_inputs": cfg.train_on_inputs, "add_eos_token": True,
                "eos_token": tokenizer.eos_token, "trust_remote_code": cfg.trust_remote_code,
                "train": {"records": len(train_set), "world_size": world_size(), "steps": trainer.state.global_step,
                          "epochs": trainer.state.epoch, "final_loss": losses[-1] if losses else None}}
        if template.name not in template_names():
            meta["template_spec"] = template.to_dict()
        save_adapter(trainer.model, out, meta)
    result = TrainResult(out, trainer.state.global_step, trainer.state.epoch or 0.0, losses[-1] if losses else None,
                         evals[-1] if evals else None, trainable, total, stats, history)
    if trainer.is_world_process_zero():
        print(summary(result, cfg))
    return result


def summary(r: TrainResult, cfg: TrainConfig) -> str:
    """The lines printed at the end of a run."""
    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    share = 100 * r.trainable_params / max(1, r.total_params)
    ga = gradient_accumulation(cfg.batch_size, cfg.micro_batch_size, world_size())
    return "\n".join([
        f"trainable params: {r.trainable_params:,} of {r.total_params:,} ({share:.2f}%), {cfg.tuning.finetuning_type}",
        f"steps: {r.steps} (epochs {r.epochs:.2f}; {world_size()} process(es) x micro_batch_size "
        f"{cfg.micro_batch_size} x gradient accumulation {ga}), final train loss {fmt(r.final_loss)}, "
        f"eval loss {fmt(r.eval_loss)}",
        f"records: {r.train_stats.total} read, {r.train_stats.truncated} shortened, {r.train_stats.skipped} skipped",
        f"adapter: {r.adapter_dir} (template {cfg.prompt_template_name}, cutoff_len {cfg.cutoff_len})",
    ])
