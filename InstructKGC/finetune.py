"""Fine-tune a causal LM on CCKS2023 instruction records with LoRA or P-Tuning v2 (prefix tuning).

    python InstructKGC/finetune.py --max_steps 20 --output_dir /tmp/kgc-lora

With no --base_model it trains the toy LLaMA (built on first use) on InstructKGC/data/train.json, so it runs offline
on a CPU. The seed's flags keep their names (`--base_model --train_path --valid_path --output_dir --batch_size
--micro_batch_size --num_epochs --learning_rate --cutoff_len --val_set_size --lora_r --lora_alpha --lora_dropout
--lora_target_modules --train_on_inputs --group_by_length --prompt_template_name --resume_from_checkpoint`, and the
aliases `--micro_train_batch_size`, `--valid_file`). Added: `--finetuning_type lora|ptuning`, `--bits 4|8|16|32`,
`--pre_seq_len`, `--prefix_projection`, `--seed`, `--device`, `--max_steps`, `--overlong`, `--eval_generate`,
`--metric_for_best_model`. Several processes:

    python -m torch.distributed.run --nproc_per_node=2 InstructKGC/finetune.py --device cpu --max_steps 4 --output_dir /tmp/kgc-ddp

Everything a user can get wrong (data fields, empty outputs, records longer than --cutoff_len, template name, base
model path, --bits without bitsandbytes) is a one-line error and exit 2 before training starts.
"""

from __future__ import annotations

import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_TRAIN = HERE / "data" / "train.json"
DEFAULT_OUTPUT = HERE / "lora"


def main(
    base_model: str | None = None,
    train_path: str = str(DEFAULT_TRAIN),
    valid_path: str | None = None,
    output_dir: str = str(DEFAULT_OUTPUT),
    finetuning_type: str = "lora",
    batch_size: int = 128,
    micro_batch_size: int | None = None,
    num_epochs: float = 3,
    max_steps: int = -1,
    learning_rate: float = 3e-4,
    warmup_steps: float = 0,
    cutoff_len: int = 256,
    overlong: str = "error",
    val_set_size: int = 0,
    lora_r: int = 8,
    lora_alpha: int = 16,
    lora_dropout: float = 0.05,
    lora_target_modules: list | str | None = None,
    pre_seq_len: int = 16,
    prefix_projection: bool = False,
    train_on_inputs: bool = False,
    add_eos_token: bool = True,
    group_by_length: bool = False,
    prompt_template_name: str = "alpaca",
    resume_from_checkpoint: str | bool | None = None,
    bits: int | None = None,
    dtype: str = "auto",
    gradient_checkpointing: bool | None = None,
    seed: int = 42,
    device: str = "auto",
    logging_steps: int = 10,
    save_steps: int | None = None,
    save_total_limit: int = 3,
    deepspeed: str | None = None,
    trust_remote_code: bool = False,
    eval_generate: bool = False,
    eval_max_new_tokens: int = 128,
    eval_lang: str = "zh",
    metric_for_best_model: str | None = None,
    micro_train_batch_size: int | None = None,
    valid_file: str | None = None,
    wandb_project: str = "",
    wandb_run_name: str = "",
    wandb_watch: str = "",
    wandb_log_model: str = "",
) -> None:
    """Train an adapter and save it with its metadata in --output_dir (checkpoints there too).

    Args:
        base_model: model folder or hub id (LLaMA family, GLM/ChatGLM, any causal LM); default: the toy LLaMA.
        train_path: training records (JSONL or JSON array) with instruction, input, output.
        valid_path: valid records (with output) for the eval loss each epoch (alias --valid_file).
        output_dir: where the adapter and checkpoints go.
        finetuning_type: lora, or ptuning (P-Tuning v2 = peft prefix tuning).
        batch_size: records per optimizer step over all processes (gradient accumulation fills it).
        micro_batch_size: records per forward pass per process (alias --micro_train_batch_size); default 4.
        num_epochs: passes over the training records.
        max_steps: stop after this many optimizer steps (-1: run num_epochs).
        learning_rate: peak learning rate, linear decay.
        warmup_steps: linear warmup, in steps (or a ratio of all steps when < 1).
        cutoff_len: max tokens of a record (prompt + response + EOS).
        overlong: a record longer than cutoff_len: error (default), truncate (shorten its input) or skip.
        val_set_size: without valid_path, hold out this many training records for eval (0: no eval).
        lora_r: LoRA rank.
        lora_alpha: LoRA alpha.
        lora_dropout: LoRA dropout.
        lora_target_modules: modules to adapt, e.g. '[q_proj,v_proj]'; default per architecture.
        pre_seq_len: P-Tuning v2 prefix length.
        prefix_projection: P-Tuning v2: reparameterise the prefix with an MLP.
        train_on_inputs: also compute the loss on the prompt (default: only on the response).
        add_eos_token: kept for old commands; EOS is always appended to the response so generation stops.
        group_by_length: batch records of similar length together (less padding).
        prompt_template_name: alpaca, chatglm, chat_template, or a template .json file.
        resume_from_checkpoint: a checkpoint folder, or bare flag = the last checkpoint in output_dir.
        bits: 4 or 8 = quantized base (QLoRA, needs bitsandbytes); 16 = bf16/fp16; 32 = fp32.
        dtype: auto, bf16, fp16 or fp32 (when --bits is not 16/32).
        gradient_checkpointing: trade compute for memory (default: on for 4/8 bits).
        seed: seed for initialisation, data order and the val split.
        device: auto (GPU if there is one), cpu or cuda.
        logging_steps: log the loss every N steps.
        save_steps: checkpoint and evaluate every N steps (default: every epoch).
        save_total_limit: checkpoints kept.
        deepspeed: DeepSpeed config, e.g. InstructKGC/ds_config_zero2.json (GPUs only).
        trust_remote_code: run the model's own code (original ChatGLM-6B/2/3).
        eval_generate: each evaluation also answers the valid records and reports triple F1, Rouge-2 and score.
        eval_max_new_tokens: answer length for --eval_generate.
        eval_lang: zh or en, how --eval_generate tokenises for Rouge-2.
        metric_for_best_model: keep the best checkpoint by loss, f1, rouge2 or score and load it at the end.
        micro_train_batch_size: alias of micro_batch_size (seed README).
        valid_file: alias of valid_path (seed README).
        wandb_project: accepted for old commands; Weights & Biases logging is not wired (ignored with a warning).
        wandb_run_name: see wandb_project.
        wandb_watch: see wandb_project.
        wandb_log_model: see wandb_project.
    """
    from core.errors import UserError, flag_alias
    from core.train import TrainConfig, train
    from core.tuning import TuningArgs

    micro = flag_alias("micro_batch_size", micro_batch_size, "micro_train_batch_size", micro_train_batch_size)
    valid = flag_alias("valid_path", valid_path, "valid_file", valid_file)
    if any((wandb_project, wandb_run_name, wandb_watch, wandb_log_model)):
        warnings.warn("--wandb_* flags are accepted for old commands but Weights & Biases logging is not wired; "
                      "ignored", stacklevel=2)
    if add_eos_token is not True:
        warnings.warn("--add_eos_token False is ignored: EOS is always appended so generation stops", stacklevel=2)
    if bits is not None and bits not in (4, 8, 16, 32):
        raise UserError(f"--bits must be 4, 8, 16 or 32 (got {bits!r})")
    tuning = TuningArgs(finetuning_type=finetuning_type, lora_r=lora_r, lora_alpha=lora_alpha,
                        lora_dropout=lora_dropout, lora_target_modules=lora_target_modules, pre_seq_len=pre_seq_len,
                        prefix_projection=prefix_projection)
    cfg = TrainConfig(
        base_model=base_model, train_path=str(train_path), output_dir=str(output_dir), valid_path=valid,
        val_set_size=val_set_size, batch_size=batch_size, micro_batch_size=4 if micro is None else micro,
        num_epochs=num_epochs, max_steps=max_steps, learning_rate=learning_rate, warmup_steps=warmup_steps,
        cutoff_len=cutoff_len, overlong=overlong, train_on_inputs=train_on_inputs, group_by_length=group_by_length,
        prompt_template_name=prompt_template_name, tuning=tuning, bits=bits, dtype=dtype,
        gradient_checkpointing=gradient_checkpointing, resume_from_checkpoint=resume_from_checkpoint, seed=seed,
        device=device, logging_steps=logging_steps, save_steps=save_steps, save_total_limit=save_total_limit,
        deepspeed=deepspeed, trust_remote_code=trust_remote_code, eval_generate=eval_generate,
        eval_max_new_tokens=eval_max_new_tokens, eval_lang=eval_lang, metric_for_best_model=metric_for_best_model,
    )
    train(cfg)


if __name__ == "__main__":
    from core.errors import cli_main

    cli_main(main, name="finetune.py")
