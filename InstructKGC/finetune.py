"""Fine-tune a causal LM on CCKS2023 instruction records with LoRA or P-Tuning v2 (prefix tuning).

    python InstructKGC/finetune.py --base_model "$(python -m core.toy build llama)" --max_steps 20 --output_dir /tmp/kgc-lora

--base_model (or $BASE_MODEL) is required: a model folder or hub id; `python -m core.toy build llama` prints the folder
of a toy LLaMA (built on first use) that trains offline on a CPU in seconds. Records: InstructKGC/data/train.json
unless --train_path. The flags of DeepKE's 2023 finetune.py keep their names and aliases (`--micro_train_batch_size`,
`--valid_file`); every setting is a field of core.train.TrainConfig or core.tuning.TuningArgs, and `--help` lists
them with their defaults. Several processes:

    python -m torch.distributed.run --nproc_per_node=2 InstructKGC/finetune.py --base_model "$(python -m core.toy build llama)" --device cpu --max_steps 4 --output_dir /tmp/kgc-ddp

Everything a user can get wrong (flags, data fields, empty outputs, records longer than --cutoff_len, template name,
base model path, --bits without bitsandbytes) is a one-line error and exit 2 before training starts.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
# accepted so that 2023 commands still run; they change nothing
IGNORED = {"add_eos_token": (bool, True, "kept for old commands: EOS is always appended so generation stops"),
           "wandb_project": (str, "", "accepted for old commands; Weights & Biases logging is not wired"),
           "wandb_run_name": (str, "", "see --wandb_project"), "wandb_watch": (str, "", "see --wandb_project"),
           "wandb_log_model": (str, "", "see --wandb_project")}


def flags() -> list:
    from core.flags import Flag, flags_of
    from core.train import TrainConfig
    from core.tuning import TuningArgs

    return [*flags_of(TrainConfig, exclude=("tuning",), train_path=str(HERE / "data" / "train.json"),
                      output_dir=str(HERE / "lora"), base_model=os.environ.get("BASE_MODEL") or None),
            *flags_of(TuningArgs), *(Flag(name, *spec) for name, spec in IGNORED.items())]


def main(**settings) -> None:
    """Train an adapter and save it with its metadata in --output_dir (checkpoints there too); `settings` are the
    flags' names (defaults for those not given)."""
    from core.errors import UserError
    from core.train import TrainConfig, train
    from core.tuning import TuningArgs

    known = {flag.name: flag.default for flag in flags()}
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise UserError(f"finetune.py: unknown setting {unknown[0]}")
    settings = {**known, **settings}

    if any(settings.pop(name) for name in IGNORED if name.startswith("wandb")):
        warnings.warn("--wandb_* flags are accepted for old commands but Weights & Biases logging is not wired; "
                      "ignored", stacklevel=2)
    if settings.pop("add_eos_token") is not True:
        warnings.warn("--add_eos_token False is ignored: EOS is always appended so generation stops", stacklevel=2)
    tuning = TuningArgs(**{name: settings.pop(name) for name in TuningArgs.__dataclass_fields__})
    train(TrainConfig(**settings, tuning=tuning))


if __name__ == "__main__":
    from core.flags import run

    run(main, flags(), prog="finetune.py", doc=__doc__)
