"""CodeKGC: relational triples from text with code-style prompts, on any OpenAI-compatible server or a local model.

    python CodeKGC/codekgc.py --help

    OPENAI_API_KEY=... python CodeKGC/codekgc.py --input_file CodeKGC/data/test.json
    python CodeKGC/codekgc.py --base_url http://127.0.0.1:8000/v1 --input_file CodeKGC/data/test.json
    python CodeKGC/codekgc.py --backend hf --base_model PATH [--lora_weights PATH] --input_file CodeKGC/data/test.json

Settings come from CodeKGC/config.json (found next to this script; the seed's keys), and every key is also a flag.
Paths in config.json are relative to its folder, paths given as flags to the current directory.
Steps: build prompts (schema classes + ICL examples + text) -> run_prompts (answers streamed to `<output>.raw.jsonl`,
resumed on rerun, cached) -> parse each answer with `ast` (never run) -> majority vote when --n > 1 -> write the
output JSONL (atomically) -> score against `triple_list` -> print and write the metrics JSON.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from core.errors import UserError, cli_main
from core.io import DataError, read_json, read_records, record_ids, write_json, write_jsonl

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
LLM_FLAGS = ("base_model", "lora_weights", "bits", "batch_size", "prompt_template_name", "no_cache", "cache_dir",
             "timeout", "max_retries", "rpm", "tpm", "backoff", "backoff_max")


def _sibling(name: str) -> Any:
    """Import CodeKGC/<name>.py by path (cases may share module names, so the folder never goes on sys.path)."""
    from core.modload import load_module

    return load_module(HERE / f"{name}.py", f"_codekgc_{name}")


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


def _gold(records: list[dict], path: str, cp: Any) -> None:
    for rec in records:
        if rec.get("triple_list") is not None:
            rec["triple_list"] = [[t["head"], t["relation"], t["tail"]] for t in cp.triples_of(rec, path)]


def _check_raw(raw_file: Path, prompts: dict[Any, Any]) -> None:
    """Refuse to reuse answers that were made for other prompts (changed schema, examples or text)."""
    if not raw_file.exists():
        return
    stale = 0
    for line in raw_file.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and rec.get("id") in prompts and rec.get("prompt") != prompts[rec["id"]]:
            stale += 1
    if stale:
        raise UserError(f"{raw_file}: {stale} saved answers were made for other prompts (schema, examples, text or "
                        "--chat changed): delete that file or choose another --output_file")


def _record(rec: dict, rec_id: Any, completions: list, n: int, threshold: float, schema: Any, cs: Any,
            parse: Any) -> dict:
    out: dict[str, Any] = {"id": rec_id, "text": rec["text"], "completions": [c.text for c in completions]}
    errors = [c.error for c in completions if not c.ok]
    if errors:
        out.update(triples=[], status="error", error=errors[0])
    else:
        results = [parse(c.text, schema) for c in completions]
        out["triples"] = cs.vote([r.triples for r in results], n, threshold)
        statuses = [r.status for r in results]
        out["status"] = statuses[0] if len(statuses) == 1 else _best(statuses)
        if len(statuses) > 1:
            out["sample_status"] = statuses
        problems = [f"sample {k}: {p}" if len(results) > 1 else p
                    for k, r in enumerate(results, start=1) for p in ([r.error] if r.error else []) + r.problems]
        if problems:
            out["problems"] = problems
    if rec.get("triple_list") is not None:
        out["triple_list"] = rec["triple_list"]
    return out


def _best(statuses: list[str]) -> str:
    order = ("ok", "partial", "truncated", "empty", "unparsable")
    return min(statuses, key=order.index)


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
    batch_size: int | None = None, prompt_template_name: str | None = None, config: str | None = None,
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
            chat unless the model id looks like a completion model when not given.
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


def run(s: dict[str, Any], llm_flags: dict[str, Any]) -> dict:
    """The whole pipeline for resolved settings; returns the metrics."""
    cp, parse_mod, cs = _sibling("codeprompt"), _sibling("codeparse"), _sibling("codescore")
    for key, typ in (("n", int), ("max_tokens", int), ("temperature", float), ("vote_threshold", float)):
        try:
            if isinstance(s[key], bool) or typ(s[key]) != float(s[key]):
                raise ValueError
            s[key] = typ(s[key])
        except (TypeError, ValueError):
            raise UserError(f"--{key} must be {'an integer' if typ is int else 'a number'}, got {s[key]!r}") from None
    n, threshold = s["n"], s["vote_threshold"]
    if n < 1 or s["max_tokens"] < 1 or not 0 < threshold <= 1:
        raise UserError(f"--n and --max_tokens must be >= 1 and --vote_threshold in (0, 1], got {n}, "
                        f"{s['max_tokens']} and {threshold}")
    code_schema = cp.load_schema(s.get("schema") or s["schema_path"])
    icl = cp.load_demos(s.get("demos") or s["ICL_path"], code_schema)
    untyped = len(re.findall(r"\bEntity\(", icl))
    if untyped and code_schema.entity_classes:
        print(f"warning: {untyped} entities in the examples have no type and are written as Entity(...): give typed "
              "triples or a --schema JSON with relation signatures", file=sys.stderr)
    in_path = s.get("input_file") or s["example_path"]
    records = read_records(in_path, required={"text": str}, optional={"triple_list": list}, allow_single=True)
    _gold(records, in_path, cp)
    ids = record_ids(records)
    if len(set(map(str, ids))) != len(ids):
        raise DataError(in_path, None, "ids are not unique", field="id")
    out_path = Path(s["output_file"])
    raw_file = out_path.with_name(out_path.stem + ".raw.jsonl")
    metrics_path = Path(s.get("metrics_file") or out_path.with_name(out_path.stem + ".metrics.json"))

    from core.llm import LLMConfig, create_backend, run_prompts

    if s.get("openai_key"):
        print("warning: openai_key is deprecated; set OPENAI_API_KEY instead", file=sys.stderr)
    cfg = LLMConfig.from_flags(**llm_flags, concurrency=s["concurrency"], api_key=s.get("openai_key") or None)
    with create_backend(cfg) as llm:
        use_chat = cfg.chat if cfg.chat is not None else bool(getattr(llm, "chat", False))
        prompts = {}
        for rec, rec_id in zip(records, ids, strict=True):
            code = cp.build_prompt(code_schema.code, icl, rec["text"])
            prompts[rec_id] = cp.chat_messages(code) if use_chat else code
        _check_raw(raw_file, prompts)
        answers = run_prompts(llm, list(prompts.items()), raw_file=raw_file, max_tokens=s["max_tokens"],
                              temperature=s["temperature"], n=n, stop=cp.CHAT_STOP if use_chat else cp.STOP,
                              desc="codekgc")
        model_id = llm.model
    out = [_record(rec, rec_id, answers[rec_id], n, threshold, code_schema, cs, parse_mod.parse_completion)
           for rec, rec_id in zip(records, ids, strict=True)]
    write_jsonl(out_path, out)
    metrics = cs.score(out)
    metrics["run"] = {"backend": cfg.backend, "model": model_id, "chat": use_chat, "n": n,
                      "temperature": s["temperature"], "max_tokens": s["max_tokens"],
                      "vote_threshold": threshold, "input_file": str(in_path), "output_file": str(out_path),
                      "raw_file": str(raw_file)}
    write_json(metrics_path, metrics)
    print("\n".join(cs.summary_lines(metrics)))
    print(f"wrote {out_path} and {metrics_path}")
    return metrics


if __name__ == "__main__":
    cli_main(main)
