#!/usr/bin/env bash
# LoRA fine-tuning: bash InstructKGC/scripts/run_finetune_lora.sh (no variables: the toy LLaMA on the sample data, CPU).
# Override with environment variables: BASE_MODEL, TRAIN_PATH, VALID_PATH, OUTPUT_DIR, BATCH_SIZE, MICRO_BATCH_SIZE,
# NUM_EPOCHS, LEARNING_RATE, CUTOFF_LEN, LORA_R, LORA_ALPHA, TARGET_MODULES, TEMPLATE, BITS (4|8), DEVICE, PYTHON;
# extra flags are passed on. The seed's LLaMA-7B run: BASE_MODEL=/models/llama-7b BATCH_SIZE=128 LEARNING_RATE=1e-4
# BITS=8 OUTPUT_DIR=InstructKGC/lora/llama-7b-e3-r8 bash InstructKGC/scripts/run_finetune_lora.sh
set -euo pipefail
CASE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"${PYTHON:-python}" "$CASE/finetune.py" ${BASE_MODEL:+--base_model "$BASE_MODEL"} --finetuning_type lora \
  --train_path "${TRAIN_PATH:-$CASE/data/train.json}" --valid_path "${VALID_PATH:-$CASE/data/valid.json}" \
  --output_dir "${OUTPUT_DIR:-$CASE/lora/toy-llama-lora}" --batch_size "${BATCH_SIZE:-8}" \
  --micro_batch_size "${MICRO_BATCH_SIZE:-4}" --num_epochs "${NUM_EPOCHS:-3}" --learning_rate "${LEARNING_RATE:-3e-4}" \
  --cutoff_len "${CUTOFF_LEN:-512}" --lora_r "${LORA_R:-8}" --lora_alpha "${LORA_ALPHA:-16}" --lora_dropout 0.05 \
  ${TARGET_MODULES:+--lora_target_modules "$TARGET_MODULES"} --prompt_template_name "${TEMPLATE:-alpaca}" \
  --group_by_length ${BITS:+--bits "$BITS"} --device "${DEVICE:-auto}" "$@"
