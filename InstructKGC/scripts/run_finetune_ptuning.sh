#!/usr/bin/env bash
# P-Tuning v2 (prefix tuning): bash InstructKGC/scripts/run_finetune_ptuning.sh (no variables: the toy GLM, CPU).
# Variables: BASE_MODEL, TRAIN_PATH, VALID_PATH, OUTPUT_DIR (default lora/<model folder name>-ptuning), BATCH_SIZE,
# MICRO_BATCH_SIZE, NUM_EPOCHS, LEARNING_RATE, CUTOFF_LEN, PRE_SEQ_LEN, PREFIX_PROJECTION (true|false), TEMPLATE,
# DEVICE, PYTHON, TRUST_REMOTE_CODE=1; extra flags are passed on. Any causal LM that peft's prefix tuning supports;
# others get a one-line error before training.
set -euo pipefail
CASE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" && NAME="$(basename "${BASE_MODEL:-toy-glm}")"
PY="${PYTHON:-python}"
"$PY" "$CASE/finetune.py" --base_model "${BASE_MODEL:-$("$PY" -m core.toy build glm)}" --finetuning_type ptuning \
  --train_path "${TRAIN_PATH:-$CASE/data/train.json}" --valid_path "${VALID_PATH:-$CASE/data/valid.json}" \
  --output_dir "${OUTPUT_DIR:-$CASE/lora/$NAME-ptuning}" --batch_size "${BATCH_SIZE:-8}" \
  --micro_batch_size "${MICRO_BATCH_SIZE:-4}" --num_epochs "${NUM_EPOCHS:-10}" --learning_rate "${LEARNING_RATE:-1e-2}" \
  --cutoff_len "${CUTOFF_LEN:-512}" --pre_seq_len "${PRE_SEQ_LEN:-16}" --prefix_projection "${PREFIX_PROJECTION:-false}" \
  --prompt_template_name "${TEMPLATE:-chatglm}" ${TRUST_REMOTE_CODE:+--trust_remote_code} --device "${DEVICE:-auto}" "$@"
