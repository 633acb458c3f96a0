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
from dataclasses import dataclass, field

PROG = "iepile_predict.py"


@dataclass
class Args:
    input_file: str | None = field(default=None, metadata={
        "help": "IEPile test records (JSON or JSONL), from iepile_convert.py --split test", "required": True})
    output_file: str | None = field(default=None, metadata={
        "help": "merged predictions, one JSONL line per input; prompts, raw answers and metrics beside it",
        "required": True})
    records_out: str | None = field(default=None, metadata={
        "help": "also write our records (ner / kg / ee shapes, readable by core.kg) to this file"})
    answer_field: str | None = field(default=None, metadata={
        "help": "read each batch's answer from this field of the input records instead of asking a model"})
    max_tokens: int = field(default=300, metadata={
        "help": "longest answer, in tokens (IEPile's scripts use 300)", "aliases": ("--max_new_tokens",)})


def flags() -> list:
    """Args, then every core.llm.LLMConfig setting (the hf backend by default)."""
    from core.flags import flags_of
    from core.llm import LLMConfig

    return [*flags_of(Args), *flags_of(LLMConfig, backend="hf")]


def main(**settings) -> None:
    """Predict, merge and score every input of --input_file."""
    from core.flags import complete, take
    from core.iepile.predict import from_answers, our_records, run
    from core.io import write_jsonl
    from core.llm import LLMConfig
    from core.pipeline import RunFiles, report
    from core.tasks import get_task

    s = complete(flags(), settings, PROG)
    llm = take(s, LLMConfig)
    records = get_task("iepile").read(s["input_file"])
    files = RunFiles.beside(s["output_file"])
    if s["answer_field"]:
        result = from_answers(records, s["answer_field"], files, s["input_file"])
    else:
        from core.errors import UserError
        from core.llm import create_backend

        if llm["backend"] == "hf" and not llm["base_model"] and not llm["lora_weights"]:
            raise UserError("no model: pass --base_model and/or --lora_weights (or --answer_field)")
        render = None
        if llm["backend"] != "hf":  # a server gets prompts rendered here (or chat messages); the hf backend renders
            render, chat = _server_template(llm["lora_weights"], llm["prompt_template_name"], llm["force_template"])
            llm["chat"] = chat if llm["chat"] is None else llm["chat"]
        if llm["api_key"]:
            print("warning: --api_key is deprecated: set OPENAI_API_KEY instead", file=sys.stderr)
        with create_backend(LLMConfig.from_flags(**llm)) as backend:
            if getattr(backend, "follower", False):  # torchrun ranks > 0 generate their share of rank 0's batches
                return backend.follow()
            result = run(backend, records, files, render=render, path=s["input_file"], max_tokens=s["max_tokens"],
                         temperature=0.0)
    if s["records_out"]:
        write_jsonl(s["records_out"], our_records(result))
        print(f"{len(result.pairs)} records for core.kg -> {s['records_out']}", file=sys.stderr)
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


def cli(argv: list[str] | None = None) -> None:
    from core.flags import prog_name, run

    run(main, flags(), argv, prog=prog_name(PROG), doc=__doc__)


if __name__ == "__main__":
    cli()
