"""CodeKGC: relational triples from text with code-style prompts, on any OpenAI-compatible server or a local model.

    python CodeKGC/codekgc.py --help

    OPENAI_API_KEY=... python CodeKGC/codekgc.py --input_file CodeKGC/data/test.json
    python CodeKGC/codekgc.py --base_url http://127.0.0.1:8000/v1 --input_file CodeKGC/data/test.json
    python CodeKGC/codekgc.py --backend hf --base_model PATH [--lora_weights PATH] --input_file CodeKGC/data/test.json

Settings come from CodeKGC/config.json (found next to this script; the seed's keys), and every key is also a flag.
Paths in config.json are relative to its folder, paths given as flags to the current directory.
The run is core's `code` task (core/tasks/code.py: prompts, the `ast` parser, the vote, the scorer) on core.pipeline:
prompts (schema classes + ICL examples + text) -> `<stem>.prompts.jsonl` -> answers streamed to `<stem>.raw.jsonl`
(a rerun asks only the ids not yet answered for the same prompt) -> each answer parsed with `ast` (never run) ->
majority vote when --n > 1 -> the output JSONL (atomically) -> scored against `triple_list` -> `<stem>.metrics.json`.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from core import pipeline
from core.errors import UserError, cli_main
from core.io import DataError, read_json, write_json, write_jsonl

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "config.json"
PATH_KEYS = ("schema_path", "ICL_path", "example_path", "input_file", "output_file", "metrics_file", "schema", "demos")
DEFAULTS: dict[str, Any] = {
    "schema_path": "data/schema_prompt", "ICL_path": "data/ICL_prompt", "example_path": "data/example.json",
    "openai_key": "", "engine": "gpt-4o-mini", "temperature": 0.0, "max_tokens": 512, "n": 1,
    "output_file": "output/pred.jsonl", "vote_threshold": 0.5, "concurrency": 8,
}
# core.llm.LLMConfig fields taken as flags, with LLMConfig.help() as their --help text (backend, base_url, model,
# chat and concurrency are documented in main's docstring: their meaning here has CodeKGC specifics).
LLM_FLAGS = ("base_model", "lora_weights", "bits", "dtype", "batch_size", "prompt_template_name", "force_template",
             "no_cache", "cache_dir", "timeout", "max_retries", "rpm", "tpm", "backoff", "backoff_max")


def load_settings(flags: dict[str, Any], config: str | None = None) -> dict[str, Any]:
    """DEFAULTS < config.json < flags; paths in DEFAULTS resolved from this folder, in a config from its folder."""
    path = Path(config) if config else CONFIG
    data = read_json(path) if (config or CONFIG.exists()) else {}
    if not isinstance(data, dict):
        raise DataError(path, None, "config must be a JSON object")
    unknown = sorted(set(data) - set(DEFAULTS) - set(PATH_KEYS))
    if unknown:
        known = ", ".join(sorted(set(DEFAULTS) | set(PATH_KEYS)))
        raise DataError(path, None, f"unknown key(s) {', '.join(unknown)} (known: {known})")
    out = {k: str(HERE / v) if k in PATH_KEYS else v for k, v in DEFAULTS.items()}
    for k, v in data.items():
        if v is not None:
            out[k] = str(path.resolve().parent / v) if k in PATH_KEYS and isinstance(v, str) and v else v
    out.update({k: v for k, v in flags.items() if v is not None})
    return out


def main(
    schema_path: str | None = None, ICL_path: str | None = None, example_path: str | None = None,  # noqa: N803
    openai_key: str | None = None, engine: str | None = None, temperature: float | None = None,
    max_tokens: int | None = None, n: int | None = None,
    backend: str = "openai", base_url: str | None = None, model: str | None = None,
    base_model: str | None = None, lora_weights: str | None = None, bits: int | None = None,
    input_file: str | None = None, output_file: str | None = None, metrics_file: str | None = None,
    concurrency: int | None = None, vote_threshold: float | None = None, schema: str | None = None,
    demos: str | None = None, chat: bool | None = None, no_cache: bool = False, cache_dir: str | None = None,
    timeout: float | None = None, max_retries: int | None = None, rpm: float | None = None,
    tpm: float | None = None, backoff: float | None = None, backoff_max: float | None = None,
    batch_size: int | None = None, prompt_template_name: str | None = None, dtype: str | None = None,
    force_template: bool | None = None, config: str | None = None,
) -> None:
    """Extract triples with code prompts, then parse, vote and score.

    Args:
        schema_path: the seed's schema prompt (Python classes); a .json file is read as a JSON schema.
        ICL_path: the seed's in-context examples (Python code); a .json/.jsonl file is read as labelled records.
        example_path: the seed's input: one {"text", "triple_list"} object, a JSON array or JSONL (used when
            --input_file is not given).
        openai_key: DEPRECATED, set OPENAI_API_KEY instead; used for requests, never written anywhere.
        engine: the seed's name for the model id (default from config.json); --model wins over it.
        temperature: sampling temperature (use > 0 with --n > 1).
        max_tokens: longest answer, in tokens.
        n: answers per text; with n > 1 a triple is kept when at least --vote_threshold of them contain it.
        backend: openai (any OpenAI-compatible server) or hf (local --base_model + --lora_weights).
        base_url: OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM, core.serve); without --model or
            --engine on the command line, the server's first model is used.
        model: model id for the API.
        input_file: JSONL (or JSON array, or one object) of {"text", "triple_list"?, "id"?}.
        output_file: one JSON line per text (default CodeKGC/output/pred.jsonl); raw answers go beside it in
            <stem>.raw.jsonl.
        metrics_file: where the metrics JSON goes (default <stem>.metrics.json beside the output).
        concurrency: requests in flight at once.
        vote_threshold: fraction of the --n answers that must contain a triple (default 0.5).
        schema: a JSON schema {"entity_types", "relation_types", "relations"?}: generates the Python classes.
        demos: labelled records {"text", "triple_list"} turned into code-style examples (replaces ICL_path).
        chat: true: chat endpoint (code after a short instruction), false: completion endpoint (raw code);
            not given: the backend decides (core.llm's rule: what the server or the model's template says).
        config: another config.json.
    """  # the LLMConfig flags' help is appended below, from LLMConfig.help()
    given = locals()
    flags = {k: v for k, v in given.items() if v is not None and k in set(DEFAULTS) | set(PATH_KEYS)}
    s = load_settings(flags, config)
    llm_flags = {k: given[k] for k in (*LLM_FLAGS, "backend", "base_url", "chat")}
    llm_flags["model"] = model or engine or (None if base_url else s["engine"])
    run(s, llm_flags)


def _llm_help() -> str:
    """The Args lines of LLM_FLAGS: LLMConfig.help() plus LLMConfig's default (a flag left out gets that default)."""
    import dataclasses

    from core.llm.config import LLMConfig

    helps, defaults = LLMConfig.help(), {f.name: f.default for f in dataclasses.fields(LLMConfig)}
    shown = {k: f" (default {v})" for k, v in defaults.items() if v is not None and not isinstance(v, bool)}
    return "".join(f"        {name}: {helps[name]}{shown.get(name, '')}\n" for name in LLM_FLAGS)


main.__doc__ = main.__doc__.rstrip() + "\n" + _llm_help() + "    "


def _numbers(s: dict[str, Any]) -> None:
    for key, typ in (("n", int), ("max_tokens", int), ("temperature", float), ("vote_threshold", float)):
        try:
            if isinstance(s[key], bool) or typ(s[key]) != float(s[key]):
                raise ValueError
            s[key] = typ(s[key])
        except (TypeError, ValueError):
            raise UserError(f"--{key} must be {'an integer' if typ is int else 'a number'}, got {s[key]!r}") from None
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

    _numbers(s)
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
    if s.get("openai_key"):
        print("warning: openai_key is deprecated; set OPENAI_API_KEY instead", file=sys.stderr)
    cfg = LLMConfig.from_flags(**llm_flags, concurrency=s["concurrency"], api_key=s.get("openai_key") or None)
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
    print(f"wrote {files.parsed} and {files.metrics}")
    return metrics


if __name__ == "__main__":
    cli_main(main)
