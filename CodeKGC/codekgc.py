"""CodeKGC: relational triples from text with code-style prompts, on any OpenAI-compatible server or a local model.

    python CodeKGC/codekgc.py --help

    OPENAI_API_KEY=... python CodeKGC/codekgc.py --input_file CodeKGC/data/test.json
    python CodeKGC/codekgc.py --base_url http://127.0.0.1:8000/v1 --input_file CodeKGC/data/test.json
    python CodeKGC/codekgc.py --backend hf --base_model PATH [--lora_weights PATH] --input_file CodeKGC/data/test.json

Settings: CodeKGC/config.json (found next to this script; DeepKE's 2023 keys) sets the defaults, any flag overrides
them, and any flag's name may be a key there (`--help` shows the defaults it sets). Paths in config.json are relative
to its folder, paths given as flags to the current directory.
The run is core's `code` task (core/tasks/code.py: prompts, the `ast` parser, the vote, the scorer) on core.pipeline:
prompts (schema classes + ICL examples + text) -> `<stem>.prompts.jsonl` -> answers streamed to `<stem>.raw.jsonl`
(a rerun asks only the ids not yet answered for the same prompt) -> each answer parsed with `ast` (never run) ->
majority vote when --n > 1 -> the output JSONL (atomically) -> scored against `triple_list` -> `<stem>.metrics.json`.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import pipeline
from core.errors import UserError
from core.io import DataError, read_json, write_json, write_jsonl

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "config.json"
PROG = "codekgc.py"
DEFAULT_ENGINE = "gpt-4o-mini"  # when config.json names none
PATH_KEYS = ("schema_path", "ICL_path", "example_path", "input_file", "output_file", "metrics_file", "schema", "demos")


@dataclass
class Args:
    """DeepKE's 2023 config.json keys first, then ours; the config file's values are the defaults."""

    schema_path: str = field(default=str(HERE / "data" / "schema_prompt"), metadata={
        "help": "the schema prompt (Python classes, read with `ast`); a .json file is read as a JSON schema"})
    ICL_path: str = field(default=str(HERE / "data" / "ICL_prompt"), metadata={
        "help": "in-context examples as code; a .json/.jsonl file is read as labelled records"})
    example_path: str = field(default=str(HERE / "data" / "example.json"), metadata={
        "help": "the input when --input_file is not given: one {\"text\", \"triple_list\"} object, a JSON array or "
                "JSONL"})
    engine: str | None = field(default=None, metadata={
        "help": "DeepKE's 2023 name for the model id; --model wins over it",
        "shown_default": "config.json's engine"})
    temperature: float = field(default=0.0, metadata={"help": "sampling temperature (use > 0 with --n > 1)"})
    max_tokens: int = field(default=512, metadata={"help": "longest answer, in tokens",
                                                   "aliases": ("--max_new_tokens",)})
    n: int = field(default=1, metadata={
        "help": "answers per text; with n > 1 a triple is kept when at least --vote_threshold of them contain it"})
    input_file: str | None = field(default=None, metadata={
        "help": "JSONL (or JSON array, or one object) of {\"text\", \"triple_list\"?, \"id\"?}",
        "shown_default": "--example_path"})
    output_file: str = field(default=str(HERE / "output" / "pred.jsonl"), metadata={
        "help": "one JSON line per text; prompts and raw answers go beside it (<stem>.prompts.jsonl, <stem>.raw.jsonl)"})
    metrics_file: str | None = field(default=None, metadata={
        "help": "where the metrics JSON goes", "shown_default": "<stem>.metrics.json beside --output_file"})
    vote_threshold: float = field(default=0.5, metadata={
        "help": "fraction of the --n answers that must contain a triple"})
    schema: str | None = field(default=None, metadata={
        "help": "a JSON schema {\"entity_types\", \"relation_types\", \"relations\"?}: generates the Python classes "
                "(replaces --schema_path)"})
    demos: str | None = field(default=None, metadata={
        "help": "labelled records {\"text\", \"triple_list\"} turned into code-style examples (replaces --ICL_path)"})
    config: str = field(default=str(CONFIG), metadata={
        "help": "the JSON file whose keys (any flag's name) set the defaults; its paths are relative to its folder"})


def flags() -> list:
    """Args, then every core.llm.LLMConfig setting (config.json's `openai_key` is --api_key's 2023 name)."""
    from core.flags import flags_of
    from core.llm import LLMConfig

    engine = (read_json(CONFIG) if CONFIG.exists() else {}).get("engine") or DEFAULT_ENGINE
    own = [dataclasses.replace(f, shown=f"{engine} (config.json); with --base_url: the server's first model")
           if f.name == "engine" else f for f in flags_of(Args)]
    return [*own, *flags_of(LLMConfig, aliases={"api_key": ("--openai_key",)})]


def read_config(config: str) -> dict[str, Any]:
    """A config file's values by flag name, typed, its paths resolved from its folder (the file beside this script
    may be missing; another one must exist)."""
    from core.flags_values import coerce

    path = Path(config)
    if path == CONFIG and not path.exists():
        return {}
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(path, None, "config must be a JSON object")
    table = {name: f for f in flags() if f.name != "config" for name in f.spellings()}
    unknown = sorted(k for k in data if f"--{k}" not in table)
    if unknown:
        known = ", ".join(sorted({f.name for f in table.values()} | {"openai_key"}))
        raise DataError(path, None, f"unknown key(s) {', '.join(unknown)} (known: {known})")
    out = {}
    for key, value in data.items():
        flag = table[f"--{key}"]
        value = coerce(flag, value, f"{path.name}: {key}")
        if flag.name in PATH_KEYS and value:
            value = str(path.resolve().parent / value)
        if value is not None:
            out[flag.name] = value
    return out


def config_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """The defaults --config gives (its `engine` only when no --base_url asks the server; see main)."""
    return {k: v for k, v in read_config(values["config"] or str(CONFIG)).items() if k != "engine"}


def main(**settings) -> dict:
    """Extract triples with code prompts, then parse, vote and score; returns the metrics."""
    from core.flags import complete, take
    from core.llm import LLMConfig

    given = complete(flags(), settings, PROG)
    s = complete(flags(), {**config_defaults(given), **settings}, PROG)
    llm = take(s, LLMConfig)
    engine = read_config(s["config"] or str(CONFIG)).get("engine") or DEFAULT_ENGINE
    llm["model"] = llm["model"] or s["engine"] or (None if llm["base_url"] else engine)
    return run(s, llm)


def cli(argv: list[str] | None = None) -> None:
    from core.flags import prog_name
    from core.flags import run as run_flags

    run_flags(main, flags(), argv, prog=prog_name(PROG), doc=__doc__, defaults=config_defaults)


def _check_numbers(s: dict[str, Any]) -> None:
    if s["n"] < 1 or s["max_tokens"] < 1 or not 0 < s["vote_threshold"] <= 1:
        raise UserError(f"--n and --max_tokens must be >= 1 and --vote_threshold in (0, 1], got {s['n']}, "
                        f"{s['max_tokens']} and {s['vote_threshold']}")


def score(task: Any, result: pipeline.Result) -> dict:
    """core.pipeline.score; when no record has gold, the record and status counts alone."""
    return pipeline.score(task, result, labels=None, language="en") or {
        "task": task.name, "records": len(result.pairs), "scored": 0,
        "status": dict(Counter(parsed.status for _, parsed in result.pairs))}


def run(s: dict[str, Any], llm_flags: dict[str, Any]) -> dict:
    """The whole pipeline for resolved settings; returns the metrics."""
    from core.llm import LLMConfig, create_backend
    from core.tasks.code import CodeTask, summary_lines
    from core.tasks.code_schema import load_schema

    _check_numbers(s)
    task = CodeTask(load_schema(s.get("schema") or s["schema_path"]), n=s["n"], threshold=s["vote_threshold"])
    icl = task.demos_code(s.get("demos") or s["ICL_path"])
    untyped = len(re.findall(r"\bEntity\(", icl))
    if untyped and task.schema.entity_classes:
        print(f"warning: {untyped} entities in the examples have no type and are written as Entity(...): give typed "
              "triples or a --schema JSON with relation signatures", file=sys.stderr)
    in_path = s.get("input_file") or s["example_path"]
    records = task.read(in_path)
    pipeline.check_ids(records, in_path)
    files = pipeline.RunFiles.beside(s["output_file"], s.get("metrics_file"))
    if llm_flags.get("api_key"):
        print("warning: openai_key is deprecated (so is --api_key): set OPENAI_API_KEY instead", file=sys.stderr)
    cfg = LLMConfig.from_flags(**llm_flags)
    with create_backend(cfg) as llm:
        chat = getattr(llm, "endpoint", None) == "chat"
        prompts = [(rec["id"], task.prompt(task.schema.code, icl, rec["text"])) for rec in records]
        items = [(i, task.chat_messages(p) if chat else p) for i, p in prompts]
        answers = pipeline.ask(llm, items, files, desc="codekgc", max_tokens=s["max_tokens"],
                               temperature=s["temperature"], n=s["n"], stop=task.stop(chat))
        model_id = llm.model
    result = pipeline.parse_answers(task, records, answers, None)
    write_jsonl(files.parsed, result.rows)
    metrics = score(task, result)
    metrics["run"] = {"backend": cfg.backend, "model": model_id, "chat": chat, "n": s["n"],
                      "temperature": s["temperature"], "max_tokens": s["max_tokens"],
                      "vote_threshold": s["vote_threshold"], "input_file": str(in_path),
                      "output_file": str(files.parsed), "prompts_file": str(files.prompts), "raw_file": str(files.raw)}
    write_json(files.metrics, metrics)
    print("\n".join(summary_lines(metrics)))
    pipeline.say_decoding(metrics)
    print(f"wrote {files.parsed} and {files.metrics}")
    return metrics


if __name__ == "__main__":
    cli()
