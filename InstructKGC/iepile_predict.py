"""Answer IEPile test records (every schema batch), merge the answers per input, score them, write our records.

    python InstructKGC/iepile_predict.py --input_file InstructKGC/tests/data/iepile_answered.json --output_file /tmp/iepile_pred.jsonl --answer_field output --records_out /tmp/iepile_records.jsonl

The input is what `InstructKGC/iepile_convert.py --split test` writes ({id, task, source, instruction, label}).
Each batch is one prompt: the instruction string itself, wrapped by the model's template (`--prompt_template_name
oneke` for OneKE; an adapter's recorded template otherwise). Models: `--backend hf` (a local base model +
`--lora_weights`, core.llm's hf backend) or `--backend openai --base_url URL` (vLLM serving OneKE, core.serve, any
OpenAI-compatible server; a text template is rendered here and sent to /v1/completions). `--answer_field output`
reads answers already in the records (IEPile's src/inference.py output) and asks no model.
Files: `<output>.prompts.jsonl` and `<output>.raw.jsonl` (each batch's answer as it arrives; a rerun asks only what is
missing), `--output_file` (one line per input: pred, status, issues, raw), `<output>.metrics.json` (IEPile's micro
F1 per task -- NER entity, RE triple, EE trigger / argument -- and per source, where the records have labels), and
with `--records_out` our records for `python -m core.kg build`.
"""

from __future__ import annotations

import sys


def main(
    input_file: str,
    output_file: str,
    records_out: str | None = None,
    answer_field: str | None = None,
    backend: str = "hf",
    base_model: str = "",
    lora_weights: str = "",
    prompt_template_name: str | None = None,
    force_template: bool = False,
    bits: int | None = None,
    dtype: str = "auto",
    batch_size: int = 8,
    max_new_tokens: int = 300,
    base_url: str | None = None,
    model: str | None = None,
    concurrency: int = 8,
    no_cache: bool = False,
    cache_dir: str | None = None,
) -> None:
    """Predict, merge and score every input of `input_file`.

    Args:
        input_file: IEPile test records (JSON or JSONL), from iepile_convert.py --split test.
        output_file: merged predictions, one JSONL line per input; prompts, raw answers and metrics beside it.
        records_out: also write our records (ner / kg / ee shapes, readable by core.kg) to this file.
        answer_field: read each batch's answer from this field of the input records instead of asking a model.
        backend: hf (local model) or openai (an OpenAI-compatible server).
        base_model: hf: base model folder or hub id (default: the adapter's recorded base model).
        lora_weights: hf: adapter folder from InstructKGC/finetune.py; openai: read for its template only.
        prompt_template_name: model template, e.g. oneke, llama2, alpaca, chat_template, or a .json path.
        force_template: use --prompt_template_name although the adapter recorded another template.
        bits: hf: load the base model in 4 or 8 bits.
        dtype: hf: auto, bf16, fp16 or fp32.
        batch_size: hf: prompts per generate call.
        max_new_tokens: longest answer in tokens (IEPile's scripts use 300).
        base_url: openai: the server, e.g. http://127.0.0.1:8000/v1.
        model: openai: model id on the server; default its first.
        concurrency: openai: requests in flight.
        no_cache: do not read or write core.llm's response cache.
        cache_dir: core.llm's response cache folder.
    """
    from core.errors import UserError
    from core.iepile.predict import from_answers, our_records, run
    from core.io import write_jsonl
    from core.pipeline import RunFiles, report
    from core.tasks import get_task

    records = get_task("iepile").read(input_file)
    files = RunFiles.beside(output_file)
    if answer_field:
        result = from_answers(records, answer_field, files, input_file)
    else:
        from core.llm import LLMConfig, create_backend

        if backend not in ("hf", "openai"):
            raise UserError(f"--backend must be hf or openai (got {backend!r})")
        if backend == "hf" and not base_model and not lora_weights:
            raise UserError("no model: pass --base_model and/or --lora_weights (or --answer_field)")
        render, chat = None, None
        if backend == "openai":
            render, chat = _server_template(lora_weights, prompt_template_name, force_template)
        local = backend == "hf"  # a server gets prompts rendered here (or chat messages); the hf backend renders
        config = LLMConfig.from_flags(
            backend=backend, base_model=base_model or None, lora_weights=(lora_weights or None) if local else None,
            prompt_template_name=prompt_template_name if local else None, force_template=force_template, bits=bits,
            dtype=dtype, batch_size=batch_size, base_url=base_url, model=model, concurrency=concurrency,
            no_cache=no_cache, cache_dir=cache_dir, chat=chat)
        with create_backend(config) as llm:
            if getattr(llm, "follower", False):  # torchrun ranks > 0 generate their share of rank 0's batches
                return llm.follow()
            result = run(llm, records, files, render=render, path=input_file, max_tokens=max_new_tokens,
                         temperature=0.0)
    if records_out:
        write_jsonl(records_out, our_records(result))
        print(f"{len(result.pairs)} records for core.kg -> {records_out}", file=sys.stderr)
    if result.metrics:
        report(result.metrics, files.metrics)


def _server_template(lora_weights: str, name: str | None, force: bool):
    """(render, chat) for --backend openai: a text template (given or the adapter's) renders here, chat off;
    `chat_template` or none: the prompt goes as a chat message and the server applies its own."""
    from core.loader import choose_template, recorded_template
    from core.tuning import read_adapter_meta

    recorded = recorded_template(read_adapter_meta(lora_weights) if lora_weights else None)
    if not recorded and not name:
        return None, None
    template = choose_template(recorded, name, force)[0]
    if template.needs_tokenizer:
        return None, True
    return template.render, False


if __name__ == "__main__":
    from core.errors import cli_main

    cli_main(main, name="iepile_predict.py")
