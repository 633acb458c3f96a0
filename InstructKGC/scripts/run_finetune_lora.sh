#!/usr/bin/env bash
# LoRA fine-tuning: bash InstructKGC/scripts/run_finetune_lora.sh (no variables: the toy LLaMA on the sample data, CPU).
# Real model: BASE_MODEL="$(python -m core.realmodels get)" TEMPLATE=chat_template bash InstructKGC/scripts/run_finetune_lora.sh
# Variables: BASE_MODEL, TRAIN_PATH, VALID_PATH, OUTPUT_DIR (default lora/<model folder name>-lora), BATCH_SIZE,
# MICRO_BATCH_SIZE, NUM_EPOCHS, LEARNING_RATE, CUTOFF_LEN, LORA_R, LORA_ALPHA, LORA_DROPOUT, LORA_LAYERS, TARGET_MODULES,
# TEMPLATE (default: finetune.py's), BITS (4|8), DEVICE, PYTHON; extra flags pass on. Recipes by size: InstructKGC/README.md.
set -euo pipefail
CASE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" && NAME="$(basename "${BASE_MODEL:-toy-llama}")" && PY="${PYTHON:-python}"
"$PY" "$CASE/finetune.py" --base_model "${BASE_MODEL:-$("$PY" -m core.toy build llama)}" --finetuning_type lora \
  --train_path "${TRAIN_PATH:-$CASE/data/train.json}" --valid_path "${VALID_PATH:-$CASE/data/valid.json}" \
  --output_dir "${OUTPUT_DIR:-$CASE/lora/$NAME-lora}" --batch_size "${BATCH_SIZE:-4}" \
  --micro_batch_size "${MICRO_BATCH_SIZE:-4}" --num_epochs "${NUM_EPOCHS:-4}" --learning_rate "${LEARNING_RATE:-1e-3}" \
  --cutoff_len "${CUTOFF_LEN:-512}" --lora_r "${LORA_R:-16}" --lora_alpha "${LORA_ALPHA:-32}" --lora_dropout "${LORA_DROPOUT:-0.05}" \
  ${LORA_LAYERS:+--lora_layers "$LORA_LAYERS"} ${TARGET_MODULES:+--lora_target_modules "$TARGET_MODULES"} \
  ${TEMPLATE:+--prompt_template_name "$TEMPLATE"} --group_by_length ${BITS:+--bits "$BITS"} --device "${DEVICE:-auto}" "$@"
