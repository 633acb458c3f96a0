#!/usr/bin/env bash
# Batched, resumable inference with a fine-tuned adapter: bash InstructKGC/scripts/run_inference.sh
# LORA_WEIGHTS defaults to lora/<model folder name>-lora, where run_finetune_lora.sh puts the adapter of the same
# BASE_MODEL (the toy LLaMA's without one); LORA_WEIGHTS= (set and empty) answers zero-shot with BASE_MODEL alone.
# Variables: LORA_WEIGHTS, BASE_MODEL (default: the one the adapter recorded), TEMPLATE, INPUT_FILE, OUTPUT_FILE
# (default result/<adapter or model>_<input name>.json), BATCH_SIZE, MAX_NEW_TOKENS, BITS (4|8), PYTHON; extra flags
# are passed on (e.g. --do_sample). Several GPUs: NPROC=4 bash ... (torchrun shards the records, then merges).
set -euo pipefail
CASE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" && NAME="$(basename "${BASE_MODEL:-toy-llama}")"
PY="${PYTHON:-python}"
LAUNCH=("$PY"); [ "${NPROC:-1}" -gt 1 ] && LAUNCH=("$PY" -m torch.distributed.run --standalone --nproc_per_node="$NPROC")
"${LAUNCH[@]}" "$CASE/inference.py" --base_model "${BASE_MODEL:-}" --lora_weights "${LORA_WEIGHTS-$CASE/lora/$NAME-lora}" \
  ${TEMPLATE:+--prompt_template_name "$TEMPLATE"} --input_file "${INPUT_FILE:-$CASE/data/valid.json}" \
  ${OUTPUT_FILE:+--output_file "$OUTPUT_FILE"} --batch_size "${BATCH_SIZE:-8}" --max_new_tokens "${MAX_NEW_TOKENS:-256}" \
  ${BITS:+--bits "$BITS"} "$@"
