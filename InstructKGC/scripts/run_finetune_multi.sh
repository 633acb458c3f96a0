#!/usr/bin/env bash
# LoRA on several processes (DDP: NCCL on GPUs, gloo on CPU): bash InstructKGC/scripts/run_finetune_multi.sh
# NPROC processes (default 2) on one machine. Variables: NPROC, BASE_MODEL, TRAIN_PATH, VALID_PATH, OUTPUT_DIR
# (default lora/<model folder name>-lora-ddp), BATCH_SIZE (all processes together), MICRO_BATCH_SIZE (per process),
# NUM_EPOCHS, LEARNING_RATE, CUTOFF_LEN, DEEPSPEED (e.g. InstructKGC/ds_config_zero2.json, GPUs only), DEVICE, PYTHON;
# extra flags are passed on. The seed's 3-GPU run: NPROC=3 BATCH_SIZE=960 MICRO_BATCH_SIZE=10 BASE_MODEL=/models/llama-7b bash ...
set -euo pipefail
CASE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" && NAME="$(basename "${BASE_MODEL:-toy-llama}")" && PY="${PYTHON:-python}"
"$PY" -m torch.distributed.run --standalone --nproc_per_node "${NPROC:-2}" "$CASE/finetune.py" \
  --base_model "${BASE_MODEL:-$("$PY" -m core.toy build llama)}" --train_path "${TRAIN_PATH:-$CASE/data/train.json}" \
  --valid_path "${VALID_PATH:-$CASE/data/valid.json}" --output_dir "${OUTPUT_DIR:-$CASE/lora/$NAME-lora-ddp}" \
  --batch_size "${BATCH_SIZE:-8}" --micro_batch_size "${MICRO_BATCH_SIZE:-2}" --num_epochs "${NUM_EPOCHS:-3}" \
  --learning_rate "${LEARNING_RATE:-3e-4}" --cutoff_len "${CUTOFF_LEN:-512}" --group_by_length \
  ${DEEPSPEED:+--deepspeed "$DEEPSPEED"} --device "${DEVICE:-auto}" "$@"
