"""Answer CCKS2023 instruction records with a base model + LoRA / P-Tuning adapter, batched and resumable.

    python InstructKGC/inference.py --base_model "$(python -m core.toy build llama)" --input_file InstructKGC/data/valid.json --output_file /tmp/kgc_valid_base.json --max_new_tokens 16

The seed's flags are kept (`--base_model`, with $BASE_MODEL when empty, `--lora_weights`, `--prompt_template`,
`--input_file`, `--output_file`, `--load_8bit`). The prompt template is the one the adapter was trained with; a
`--prompt_template_name` that disagrees is an error unless `--force_template`. Output: JSONL, each input record with
`output` set to the model's answer, one line per id, in input order. Each batch is appended as it finishes, so a crash
or Ctrl-C loses at most one batch and rerunning the same command answers only what is missing. Several GPUs:
`torchrun --nproc_per_node=N InstructKGC/inference.py ...` splits the records between the processes and merges them.
Served models (vLLM, core.serve, any OpenAI-compatible server): `--backend openai --base_url URL --model NAME` sends
the same template-rendered prompts to /v1/completions (see docs/serving.md).
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_INPUT = HERE / "data" / "valid.json"
# core.llm.LLMConfig settings of --backend openai (rate limits, retries, cache) besides --base_url, --model,
# --concurrency and --no_cache; their --help text is LLMConfig.help(). chat follows the template.
API_FLAGS = ("timeout", "max_retries", "rpm", "tpm", "backoff", "backoff_max", "cache_dir")


def _template(lora_meta: dict | None, name: str | None, alias: str | None, force: bool):
    """The adapter's recorded template; an explicit one must agree with it unless forced. Without any: alpaca."""
    from core.errors import UserError, flag_alias
    from core.templates import get_template
    from core.tuning import adapter_template

    explicit = flag_alias("prompt_template_name", name or None, "prompt_template", alias or None)
    recorded = adapter_template(lora_meta) if lora_meta else None
    if recorded is not None and explicit and explicit != recorded.name and not force:
        raise UserError(f"the adapter was trained with prompt template '{recorded.name}', not '{explicit}': drop "
                        "--prompt_template_name, or pass --force_template to use it anyway")
    if explicit and (recorded is None or force):
        return get_template(explicit)
    return recorded or get_template("alpaca")


def _device_map():
    import torch

    return {"": int(os.environ.get("LOCAL_RANK", 0))} if torch.cuda.is_available() else None


def _check_run(output_file: Path, settings: dict) -> None:
    """Refuse to resume an output file that another model or other settings started (`<output_file>.run.json`)."""
    from core.errors import UserError
    from core.io import read_json, write_json

    sidecar = output_file.with_name(output_file.name + ".run.json")
    if sidecar.exists() and output_file.exists() and output_file.stat().st_size:
        before = read_json(sidecar)
        changed = sorted(k for k in settings if isinstance(before, dict) and before.get(k) != settings[k])
        if changed:
            raise UserError(f"{output_file} was started with other settings ({', '.join(changed)} differ, see "
                            f"{sidecar.name}): pass another --output_file, or delete it to start over")
    if int(os.environ.get("RANK", 0)) == 0:
        write_json(sidecar, settings)


def _answer_via_api(records: list[dict], template, out: Path, flags: dict, max_new_tokens: int, do_sample: bool,
                    temperature: float, top_p: float) -> None:
    """--backend openai: the prompts go to an OpenAI-compatible server (resumable raw file beside the output);
    text templates use /v1/completions, `chat_template` sends chat messages and lets the server apply it."""
    from core.io import record_ids, strip_private, write_jsonl
    from core.llm import LLMConfig, create_backend, run_prompts

    chat = bool(template.needs_tokenizer)
    ids = record_ids(records)
    items = [(i, [{"role": "user", "content": f"{r['instruction']}\n{r['input']}" if r.get("input")
                   else r["instruction"]}] if chat else template.render(r["instruction"], r.get("input") or None))
             for i, r in zip(ids, records, strict=True)]
    raw = out.with_name(out.name + ".raw.jsonl")
    with create_backend(LLMConfig.from_flags(backend="openai", chat=chat, **flags)) as backend:
        results = run_prompts(backend, items, raw, max_tokens=max_new_tokens, top_p=top_p if do_sample else 1.0,
                              temperature=temperature if do_sample else 0.0, desc="requests")
        served = backend.model
    rows, failed = [], 0
    for rec, rec_id in zip(records, ids, strict=True):
        answer = results[rec_id][0]
        failed += not answer.ok
        rows.append({**strip_private(rec), "output": template.response(answer.text),
                     **({"error": answer.error} if not answer.ok else {})})
    write_jsonl(out, rows)
    note = f"; {failed} requests failed (output empty, `error` set): rerun to retry them" if failed else ""
    print(f"wrote {len(rows)} records -> {out} (model {served} on the server; template {template.name}{note})")


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
    max_new_tokens: int = 256,
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
        prompt_template_name: template name or .json path; default: the adapter's, else alpaca.
        prompt_template: the seed's name for --prompt_template_name.
        force_template: use --prompt_template_name even though the adapter was trained with another template.
        input_file: JSONL or JSON array of records with `instruction` (and `input`, `id`).
        output_file: JSONL written per batch; default InstructKGC/result/<adapter or model>_<input name>.json.
        load_8bit: the seed's flag: same as --bits 8.
        bits: 4 or 8 to load the base model quantized (bitsandbytes); 16/32 or empty: not quantized.
        dtype: auto (bf16/fp16 on a GPU, fp32 on CPU), bf16, fp16 or fp32.
        batch_size: records per generate call.
        max_new_tokens: longest answer in tokens.
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
    from core.errors import UserError
    from core.generate import check_generation_args, check_unique_ids, generate_to_file
    from core.io import read_records, record_ids

    check_generation_args(batch_size, max_new_tokens, do_sample, temperature, top_p)
    if load_8bit and bits not in (None, 8):
        raise UserError(f"--load_8bit and --bits {bits} disagree: give one of them")
    bits = 8 if load_8bit else bits
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
    check_unique_ids(records, input_file)
    name = Path(lora_weights or base_model or str(model or "api")).name
    out = Path(output_file or HERE / "result" / f"{name}_{Path(input_file).stem}.json")

    from core.tuning import load_model_with_adapter, read_adapter_meta

    meta = read_adapter_meta(lora_weights) if lora_weights else None
    template = _template(meta, prompt_template_name, prompt_template, force_template)
    if backend == "openai":
        flags = {"base_url": base_url, "model": model, "concurrency": concurrency, "no_cache": no_cache, **api_flags}
        return _answer_via_api(records, template, out, flags, max_new_tokens, do_sample, temperature, top_p)
    settings = {"base_model": base_model or (meta or {}).get("base_model"), "template": template.name,
                "lora_weights": str(Path(lora_weights).resolve()) if lora_weights else None, "bits": bits,
                "max_new_tokens": max_new_tokens, "do_sample": do_sample,
                "temperature": temperature if do_sample else None, "top_p": top_p if do_sample else None}
    _check_run(out, settings)
    if lora_weights:
        model, tokenizer, _ = load_model_with_adapter(base_model or None, lora_weights, bits=bits, dtype=dtype,
                                                      device_map=_device_map())
    else:
        from core.models import load_model_and_tokenizer

        model, tokenizer = load_model_and_tokenizer(base_model, dtype=dtype, bits=bits, device_map=_device_map())
    summary = generate_to_file(records, model, tokenizer, template, out, batch_size=batch_size,
                               max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature,
                               top_p=top_p)
    if summary["merged"]:
        now = f"{summary['generated']} generated now" if summary["world_size"] == 1 else \
            f"merged from {summary['world_size']} processes"
        print(f"wrote {summary['records']} records -> {out} ({now}; template {template.name})")


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
