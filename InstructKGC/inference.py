"""Answer CCKS2023 instruction records with a base model + LoRA / P-Tuning adapter, batched and resumable.

    python InstructKGC/inference.py --base_model "$(python -m core.toy build llama)" --input_file InstructKGC/data/valid.json --output_file /tmp/kgc_valid_base.json --max_new_tokens 16

DeepKE's 2023 flags are kept (`--base_model`, with $BASE_MODEL when not given, `--lora_weights`, `--prompt_template`,
`--input_file`, `--output_file`, `--load_8bit`, `--max_new_tokens` for `--max_tokens`). The prompt template follows core.loader's one rule: the one the
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
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROG = "inference.py"
DEFAULT_INPUT = HERE / "data" / "valid.json"
# core.llm.LLMConfig settings that only a server's requests use: an error with --backend hf
API_FLAGS = ("timeout", "max_retries", "rpm", "tpm", "backoff", "backoff_max", "cache_dir", "chat", "structured")


@dataclass
class Args:
    input_file: str = field(default=str(DEFAULT_INPUT), metadata={
        "help": "JSONL or JSON array of records with `instruction` (and `input`, `id`)"})
    output_file: str | None = field(default=None, metadata={
        "help": "JSONL of the answers; the raw answers are appended to <output stem>.raw.jsonl beside it as they "
                "finish (a rerun resumes from it)",
        "shown_default": "InstructKGC/result/<adapter or model>_<input name>.json"})
    load_8bit: bool = field(default=False, metadata={"help": "DeepKE's 2023 flag: the same as --bits 8"})
    max_tokens: int = field(default=256, metadata={"help": "longest answer, in tokens",
                                                   "aliases": ("--max_new_tokens",)})
    do_sample: bool = field(default=False, metadata={"help": "sample instead of greedy decoding"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature (with --do_sample)"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass (with --do_sample)"})


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


def _constrained(gen: dict, backend, records: list[dict], items: list, raw: Path) -> dict:
    """`gen` with each prompt's CCKS answer constraint when --decoding is json or schema (core.pipeline.answer_specs:
    the relations of the record's instruction, heads and tails copied from its input)."""
    from core.llm.base import SPECS
    from core.pipeline import answer_specs, specs_by_prompt
    from core.tasks import get_task

    specs = answer_specs(get_task("ccks"), records, backend, None)
    return {**gen, SPECS: specs_by_prompt(items, specs, raw)} if specs else gen


def _answer_locally(records: list[dict], out: Path, raw: Path, config: dict, gen: dict) -> None:
    """--backend hf: core.llm's hf backend loads base + adapter + template (core.loader) and answers the
    template-rendered prompts as text; under torchrun rank 0 writes, the other ranks follow."""
    from core.llm import LLMConfig, create_backend, run_prompts

    with create_backend(LLMConfig.from_flags(**config)) as llm:
        _, tokenizer, template = llm.load()
        if llm.follower:
            return llm.follow()
        items = [(r["id"], template.render(r["instruction"], r.get("input") or None, tokenizer)) for r in records]
        before = llm.stats.sent
        results = run_prompts(llm, items, raw, desc="generate", **_constrained(gen, llm, records, items, raw))
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

    with create_backend(LLMConfig.from_flags(**flags)) as backend:
        if template is None:
            template = get_template("chat_template" if backend.chat else "alpaca")
        items = [(r["id"], [{"role": "user", "content": f"{r['instruction']}\n{r['input']}" if r.get("input")
                             else r["instruction"]}] if backend.chat
                  else template.render(r["instruction"], r.get("input") or None)) for r in records]
        results = run_prompts(backend, items, raw, desc="requests", **_constrained(gen, backend, records, items, raw))
        served = backend.model
    failed = _write(out, records, results, template)
    note = f"; {failed} requests failed (output empty, `error` set): rerun to retry them" if failed else ""
    print(f"wrote {len(records)} records -> {out} (model {served} on the server; template {template.name}{note})")


def flags() -> list:
    """Args, then every core.llm.LLMConfig setting: the hf backend by default, --base_model from $BASE_MODEL."""
    from core.flags import flags_of
    from core.llm import LLMConfig

    return [*flags_of(Args), *flags_of(LLMConfig, aliases={"prompt_template_name": ("--prompt_template",)},
                                       backend="hf", base_model=os.environ.get("BASE_MODEL") or None)]


def main(**settings) -> None:
    """Generate an answer for every record of --input_file into --output_file (see the module docstring)."""
    from core.errors import UserError
    from core.flags import complete, take
    from core.generate import check_generation_args
    from core.io import read_records, record_ids
    from core.llm import LLMConfig
    from core.pipeline import check_ids

    s = complete(flags(), settings, PROG)
    llm = take(s, LLMConfig)
    check_generation_args(llm["batch_size"], s["max_tokens"], s["do_sample"], s["temperature"], s["top_p"])
    if s["load_8bit"] and llm["bits"] not in (None, 8):
        raise UserError(f"--load_8bit and --bits {llm['bits']} disagree: give one of them")
    llm["bits"] = 8 if s["load_8bit"] else llm["bits"]
    defaults = LLMConfig()
    api_flags = [k for k in API_FLAGS if llm[k] is not None and llm[k] != getattr(defaults, k)]
    if llm["backend"] == "hf" and api_flags:
        raise UserError(f"--{api_flags[0]} applies to --backend openai only (a server's requests)")
    if llm["backend"] == "hf" and not llm["base_model"] and not llm["lora_weights"]:
        raise UserError("no model: pass --base_model (or set BASE_MODEL) and/or --lora_weights")
    if llm["api_key"]:
        print("warning: --api_key is deprecated: set OPENAI_API_KEY instead", file=sys.stderr)
    input_file = s["input_file"]
    records = read_records(input_file, required={"instruction": str}, optional={"input": str, "id": (str, int)})
    if not records:
        raise UserError(f"{input_file}: no records")
    record_ids(records)
    check_ids(records, input_file)
    name = Path(llm["lora_weights"] or llm["base_model"] or str(llm["model"] or "api")).name
    out = Path(s["output_file"] or HERE / "result" / f"{name}_{Path(input_file).stem}.json")
    raw = out.with_name(out.stem + ".raw.jsonl")
    gen = {"max_tokens": s["max_tokens"], "temperature": s["temperature"] if s["do_sample"] else 0.0,
           "top_p": s["top_p"] if s["do_sample"] else 1.0}
    if llm["backend"] == "hf":
        return _answer_locally(records, out, raw, {**llm, "chat": False, "no_cache": True}, gen)
    from core.loader import choose_template, recorded_template
    from core.tuning import read_adapter_meta

    recorded = recorded_template(read_adapter_meta(llm["lora_weights"]) if llm["lora_weights"] else None)
    explicit = llm["prompt_template_name"]
    template = choose_template(recorded, explicit, llm["force_template"])[0] if recorded or explicit else None
    if llm["chat"] is None and template is not None:
        llm["chat"] = bool(template.needs_tokenizer)  # a text template renders here: /v1/completions
    return _answer_via_api(records, out, raw, template, llm, gen)


def cli(argv: list[str] | None = None) -> None:
    from core.flags import prog_name, run

    run(main, flags(), argv, prog=prog_name(PROG), doc=__doc__)


if __name__ == "__main__":
    cli()
