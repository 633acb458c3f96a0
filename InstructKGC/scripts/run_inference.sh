#!/usr/bin/env bash
# Batched, resumable inference with a fine-tuned adapter: bash InstructKGC/scripts/run_inference.sh
# Override with environment variables: LORA_WEIGHTS, BASE_MODEL (default: the one the adapter recorded), INPUT_FILE,
# OUTPUT_FILE, BATCH_SIZE, MAX_NEW_TOKENS, BITS (4|8), PYTHON; extra flags are passed on (e.g. --do_sample).
# Several GPUs: NPROC=4 bash InstructKGC/scripts/run_inference.sh (torchrun shards the records, then merges).
set -euo pipefail
CASE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
LAUNCH=("$PY"); [ "${NPROC:-1}" -gt 1 ] && LAUNCH=("$PY" -m torch.distributed.run --standalone --nproc_per_node="$NPROC")
"${LAUNCH[@]}" "$CASE/inference.py" --base_model "${BASE_MODEL:-}" \
  --lora_weights "${LORA_WEIGHTS:-$CASE/lora/toy-llama-lora}" \
  --input_file "${INPUT_FILE:-$CASE/data/valid.json}" --output_file "${OUTPUT_FILE:-$CASE/result/valid_pred.json}" \
  --batch_size "${BATCH_SIZE:-8}" --max_new_tokens "${MAX_NEW_TOKENS:-256}" ${BITS:+--bits "$BITS"} "$@"
