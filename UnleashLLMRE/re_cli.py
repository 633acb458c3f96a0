"""Flags both UnleashLLMRE scripts share: the backend (core.llm.LLMConfig) flags, the seed's -ak, and the runner.

    python UnleashLLMRE/gpt3ICL.py --help
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import UserError, guard

# LLMConfig fields passed through (help text comes from the dataclass, so the two never disagree); api_key is -ak.
LLM_FLAGS = ("backend", "model", "base_url", "chat", "concurrency", "timeout", "max_retries", "rpm", "tpm", "backoff",
             "backoff_max", "cache_dir", "no_cache", "base_model", "lora_weights", "bits", "batch_size",
             "prompt_template_name")


def _bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low in ("auto", "none"):
        return None
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true, false or auto, got {text!r}")


def add_llm_flags(parser: argparse.ArgumentParser) -> None:
    from core.llm import LLMConfig

    defaults = {f.name: f.default for f in dataclasses.fields(LLMConfig)}
    helps = {k: v + (f" (default {defaults[k]})" if defaults[k] is not None and not isinstance(defaults[k], bool)
                     and k != "backend" else "") for k, v in LLMConfig.help().items()}
    group = parser.add_argument_group("backend (core.llm)")
    group.add_argument("--api_key", "-ak", default=None,
                       help="DEPRECATED (the seed's flag): set OPENAI_API_KEY instead. Used for requests only, "
                            "never written anywhere")
    types: dict[str, Callable[[str], Any]] = {"concurrency": int, "max_retries": int, "bits": int, "batch_size": int,
                                              "timeout": float, "rpm": float, "tpm": float, "backoff": float,
                                              "backoff_max": float, "chat": _bool}
    for name in LLM_FLAGS:
        if name == "no_cache":
            group.add_argument("--no_cache", action="store_true", help=helps[name])
        elif name == "backend":
            group.add_argument("--backend", default="openai", choices=["openai", "hf"], help=helps[name])
        else:
            group.add_argument(f"--{name}", type=types.get(name, str), default=None, help=helps[name])


def llm_config(args: argparse.Namespace) -> Any:
    from core.llm import LLMConfig

    if args.api_key:
        print("warning: --api_key/-ak is deprecated: set OPENAI_API_KEY in the environment instead", file=sys.stderr)
    return LLMConfig.from_flags(**{name: getattr(args, name) for name in (*LLM_FLAGS, "api_key")})


def check_raw(raw_file: Path, items: list[tuple], flags: str, elsewhere: str) -> None:
    """A rerun must ask the same questions: answers to other prompts (changed flags) would be mixed in silently."""
    if not raw_file.exists():
        return
    wanted = dict(items)
    changed = 0
    for line in raw_file.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line: core.llm cuts it off
        if isinstance(rec, dict) and rec.get("id") in wanted and rec.get("prompt") != wanted[rec["id"]]:
            changed += 1
    if changed:
        raise UserError(f"{raw_file}: {changed} answers there were made for other prompts (changed {flags}?); "
                        f"use another {elsewhere} or delete the file")


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def run(make_parser: Callable[[], argparse.ArgumentParser], main: Callable[[argparse.Namespace], Any],
        argv: list[str] | None = None) -> Any:
    """Parse flags and run `main`; a UserError -> `error: ...` and exit 2, Ctrl-C -> exit 130 (core.errors)."""
    args = make_parser().parse_args(argv)
    return guard(main)(args)
