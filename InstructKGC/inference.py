"""Answer CCKS2023 instruction records with a base model + LoRA / P-Tuning adapter, batched and resumable.

    python InstructKGC/inference.py --base_model "$(python -m core.toy build llama)" --input_file InstructKGC/data/valid.json --output_file /tmp/kgc_valid_base.json --max_new_tokens 16

The seed's flags are kept (`--base_model`, with $BASE_MODEL when empty, `--lora_weights`, `--prompt_template`,
`--input_file`, `--output_file`, `--load_8bit`). The prompt template follows core.loader's one rule: the one the
adapter was trained with, else the tokenizer's chat template, else alpaca; a `--prompt_template_name` that disagrees
with the adapter's is an error unless `--force_template`. Output: JSONL, each input record with `output` set to the
model's answer, one line per id, in input order, written when all are answered. The answers go through core.llm (the
hf backend: prompts sorted by length, `--batch_size` at a time) and `run_prompts`, which appends each one verbatim to
`<output stem>.raw.jsonl` beside the output as it finishes: a crash or Ctrl-C loses at most one batch and rerunning
the same command answers only what is missing (or whose prompt changed). Several GPUs:
`torchrun --nproc_per_node=N InstructKGC/inference.py ...` shares the batches between the processes.
Served models (vLLM, core.serve, any OpenAI-compatible server): `--backend openai --base_url URL --model NAME` sends
the same template-rendered prompts to /v1/completions (see docs/serving.md).
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_INPUT = HERE / "data" / "valid.json"
DEFAULT_MAX_NEW_TOKENS = 256
# core.llm.LLMConfig settings of --backend openai (rate limits, retries, cache) besides --base_url, --model,
# --concurrency and --no_cache; their --help text is LLMConfig.help(). chat follows the template.
API_FLAGS = ("timeout", "max_retries", "rpm", "tpm", "backoff", "backoff_max", "cache_dir")


def _write(out: Path, records: list[dict], results: dict, template) -> int:
    """The output file (atomically): each record with `output`; a failed request leaves it empty and sets `error`."""
    from core.io import strip_private, write_jsonl

    rows, failed = [], 0
    for rec in records:
        answer = results[rec["id"]][0]
        failed += not answer.ok
        rows.append({**strip_private(rec), "output": template.response(answer.text),
                     **({"error": answer.error} if not answer.ok else {})})
    write_jsonl(out, rows)
    return failed


def _answer_locally(records: list[dict], out: Path, raw: Path, config: dict, gen: dict) -> None:
    """--backend hf: core.llm's hf backend loads base + adapter + template (core.loader) and answers the
    template-rendered prompts as text; under torchrun rank 0 writes, the other ranks follow."""
    from core.llm import LLMConfig, create_backend, run_prompts

    with create_backend(LLMConfig(backend="hf", chat=False, no_cache=True, **config)) as llm:
        _, tokenizer, template = llm.load()
        if llm.follower:
            return llm.follow()
        items = [(r["id"], template.render(r["instruction"], r.get("input") or None, tokenizer)) for r in records]
        before = llm.stats.sent
        results = run_prompts(llm, items, raw, desc="generate", **gen)
        generated, processes = llm.stats.sent - before, llm.shards.size if llm.shards else 1
    _write(out, records, results, template)
    merged = f", merged from {processes} processes" if processes > 1 else ""
    print(f"wrote {len(records)} records -> {out} ({generated} generated now{merged}; template {template.name})")


def _answer_via_api(records: list[dict], out: Path, raw: Path, template, flags: dict, gen: dict) -> None:
    """--backend openai: text templates render the prompts here and go to /v1/completions; `chat_template` sends
    chat messages and lets the server apply it. With no template given or recorded the server decides (its
    /v1/models entry says whether the model has a chat template: chat messages; else alpaca text)."""
    from core.llm import LLMConfig, create_backend, run_prompts
    from core.templates import get_template

    chat = None if template is None else bool(template.needs_tokenizer)
    with create_backend(LLMConfig.from_flags(backend="openai", chat=chat, **flags)) as backend:
        if template is None:
            template = get_template("chat_template" if backend.chat else "alpaca")
        items = [(r["id"], [{"role": "user", "content": f"{r['instruction']}\n{r['input']}" if r.get("input")
                             else r["instruction"]}] if backend.chat
                  else template.render(r["instruction"], r.get("input") or None)) for r in records]
        results = run_prompts(backend, items, raw, desc="requests", **gen)
        served = backend.model
    failed = _write(out, records, results, template)
    note = f"; {failed} requests failed (output empty, `error` set): rerun to retry them" if failed else ""
    print(f"wrote {len(records)} records -> {out} (model {served} on the server; template {template.name}{note})")


def main(
    base_model: str = "",
    lora_weights: str = "",
    prompt_template_name: str | None = None,
    prompt_template: str | None = None,
    force_template: bool = False,
    input_file: str = str(DEFAULT_INPUT),
    output_file: str | None = None,
    load_8bit: bool = False,
    bits: int | None = None,
    dtype: str = "auto",
    batch_size: int = 8,
    max_new_tokens: int | None = None,
    max_tokens: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    backend: str = "hf",
    base_url: str | None = None,
    model: str | None = None,
    concurrency: int = 8,
    no_cache: bool = False,
    timeout: float | None = None,
    max_retries: int | None = None,
    rpm: float | None = None,
    tpm: float | None = None,
    backoff: float | None = None,
    backoff_max: float | None = None,
    cache_dir: str | None = None,
) -> None:
    """Generate an answer for every record of `input_file` into `output_file`.

    Args:
        base_model: base model folder or hub id; empty -> $BASE_MODEL, else the base model the adapter recorded.
        lora_weights: adapter folder (LoRA or P-Tuning v2) from InstructKGC/finetune.py; empty -> the base model alone.
        prompt_template_name: template name or .json path; default: the adapter's, else the tokenizer's chat
            template, else alpaca.
        prompt_template: the seed's name for --prompt_template_name.
        force_template: use --prompt_template_name even though the adapter was trained with another template.
        input_file: JSONL or JSON array of records with `instruction` (and `input`, `id`).
        output_file: JSONL of the answers; default InstructKGC/result/<adapter or model>_<input name>.json. The raw
            answers are appended to <output stem>.raw.jsonl beside it as they finish (a rerun resumes from it).
        load_8bit: the seed's flag: same as --bits 8.
        bits: 4 or 8 to load the base model quantized (bitsandbytes); 16/32 or empty: not quantized.
        dtype: auto (bf16/fp16 on a GPU, fp32 on CPU), bf16, fp16 or fp32.
        batch_size: records per generate call.
        max_new_tokens: longest answer in tokens (default 256).
        max_tokens: the same as --max_new_tokens (the name the other cases use).
        do_sample: sample instead of greedy decoding.
        temperature: sampling temperature (with --do_sample).
        top_p: nucleus sampling mass (with --do_sample).
        backend: hf (load the model here) or openai (send the prompts to an OpenAI-compatible server such as vLLM
            or core.serve serving base + adapter; --lora_weights is then only read for its template).
        base_url: --backend openai: the server, e.g. http://127.0.0.1:8000/v1 (else $OPENAI_BASE_URL).
        model: --backend openai: model id on the server (e.g. the vLLM --lora-modules name); default: its first.
        concurrency: --backend openai: requests in flight.
        no_cache: --backend openai: do not use the response cache.
    """  # the help of API_FLAGS is appended below, from LLMConfig.help()
    api_flags = {k: v for k, v in locals().items() if k in API_FLAGS and v is not None}
    from core.errors import UserError, flag_alias
    from core.generate import check_generation_args
    from core.io import read_records, record_ids

    max_new_tokens = flag_alias("max_new_tokens", max_new_tokens, "max_tokens", max_tokens)
    max_new_tokens = DEFAULT_MAX_NEW_TOKENS if max_new_tokens is None else max_new_tokens
    check_generation_args(batch_size, max_new_tokens, do_sample, temperature, top_p)
    if load_8bit and bits not in (None, 8):
        raise UserError(f"--load_8bit and --bits {bits} disagree: give one of them")
    bits = 8 if load_8bit else bits
    explicit = flag_alias("prompt_template_name", prompt_template_name or None, "prompt_template",
                          prompt_template or None)
    base_model = str(base_model or os.environ.get("BASE_MODEL") or "")
    lora_weights = str(lora_weights or "")
    if backend not in ("hf", "openai"):
        raise UserError(f"--backend must be hf or openai (got {backend!r})")
    if backend == "hf" and api_flags:
        raise UserError(f"--{next(iter(api_flags))} applies to --backend openai only (a server's requests)")
    if backend == "hf" and not base_model and not lora_weights:
        raise UserError("no model: pass --base_model (or set BASE_MODEL) and/or --lora_weights")
    records = read_records(input_file, required={"instruction": str}, optional={"input": str, "id": (str, int)})
    if not records:
        raise UserError(f"{input_file}: no records")
    record_ids(records)
    from core.pipeline import check_ids

    check_ids(records, input_file)
    name = Path(lora_weights or base_model or str(model or "api")).name
    out = Path(output_file or HERE / "result" / f"{name}_{Path(input_file).stem}.json")
    raw = out.with_name(out.stem + ".raw.jsonl")
    gen = {"max_tokens": max_new_tokens, "temperature": temperature if do_sample else 0.0,
           "top_p": top_p if do_sample else 1.0}
    if backend == "openai":
        from core.loader import choose_template, recorded_template
        from core.tuning import read_adapter_meta

        recorded = recorded_template(read_adapter_meta(lora_weights) if lora_weights else None)
        template = choose_template(recorded, explicit, force_template)[0] if recorded or explicit else None
        flags = {"base_url": base_url, "model": model, "concurrency": concurrency, "no_cache": no_cache, **api_flags}
        return _answer_via_api(records, out, raw, template, flags, gen)
    config = {"base_model": base_model or None, "lora_weights": lora_weights or None, "bits": bits, "dtype": dtype,
              "batch_size": batch_size, "prompt_template_name": explicit, "force_template": force_template}
    return _answer_locally(records, out, raw, config, gen)


def _api_help() -> str:
    """The Args lines of API_FLAGS: LLMConfig.help() plus LLMConfig's default (a flag left out gets that default)."""
    import dataclasses

    from core.llm.config import LLMConfig

    helps, defaults = LLMConfig.help(), {f.name: f.default for f in dataclasses.fields(LLMConfig)}
    shown = {k: f" (default {v})" for k, v in defaults.items() if v is not None and not isinstance(v, bool)}
    return "".join(f"        {name}: --backend openai: {helps[name]}{shown.get(name, '')}\n" for name in API_FLAGS)


main.__doc__ = main.__doc__.rstrip() + "\n" + _api_help() + "    "


if __name__ == "__main__":
    from core.errors import cli_main

    cli_main(main)
