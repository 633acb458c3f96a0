#!/usr/bin/env bash
# LoRA for the GLM family: bash InstructKGC/scripts/run_finetune_glm_lora.sh (no variables: the toy GLM, CPU).
# Targets per architecture (query_key_value: ChatGLM-6B/2/3; q_proj,v_proj: GLM-4) unless TARGET_MODULES is set.
# Variables: BASE_MODEL, TRAIN_PATH, VALID_PATH, OUTPUT_DIR (default lora/<model folder name>-lora), BATCH_SIZE,
# MICRO_BATCH_SIZE, NUM_EPOCHS, LEARNING_RATE, CUTOFF_LEN, LORA_R, LORA_ALPHA, TEMPLATE (chatglm; chat_template for
# GLM-4 chat models), BITS, DEVICE, PYTHON, TRUST_REMOTE_CODE=1 (original ChatGLM); extra flags are passed on.
set -euo pipefail
CASE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" && NAME="$(basename "${BASE_MODEL:-toy-glm}")" && PY="${PYTHON:-python}"
"$PY" "$CASE/finetune.py" --base_model "${BASE_MODEL:-$("$PY" -m core.toy build glm)}" --finetuning_type lora \
  --train_path "${TRAIN_PATH:-$CASE/data/train.json}" --valid_path "${VALID_PATH:-$CASE/data/valid.json}" \
  --output_dir "${OUTPUT_DIR:-$CASE/lora/$NAME-lora}" --batch_size "${BATCH_SIZE:-8}" \
  --micro_batch_size "${MICRO_BATCH_SIZE:-4}" --num_epochs "${NUM_EPOCHS:-3}" --learning_rate "${LEARNING_RATE:-3e-4}" \
  --cutoff_len "${CUTOFF_LEN:-512}" --lora_r "${LORA_R:-8}" --lora_alpha "${LORA_ALPHA:-32}" --lora_dropout 0.1 \
  ${TARGET_MODULES:+--lora_target_modules "$TARGET_MODULES"} --prompt_template_name "${TEMPLATE:-chatglm}" \
  ${BITS:+--bits "$BITS"} ${TRUST_REMOTE_CODE:+--trust_remote_code} --device "${DEVICE:-auto}" "$@"
