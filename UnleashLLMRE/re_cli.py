"""Flags both UnleashLLMRE scripts share: every core.llm.LLMConfig setting as a flag, the seed's -ak, and the runner.

    python UnleashLLMRE/gpt3ICL.py --help
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from typing import Any

from core.errors import guard


def _llm_fields() -> tuple[str, ...]:
    from core.llm import LLMConfig

    return tuple(f.name for f in dataclasses.fields(LLMConfig) if f.name != "api_key")


LLM_FLAGS = _llm_fields()  # api_key is the seed's --api_key / -ak


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
    """One flag per LLMConfig field, help from LLMConfig.help() (+ its default), so the two never disagree."""
    from core.flags import dataclass_flags
    from core.llm import LLMConfig

    helps = LLMConfig.help()
    group = parser.add_argument_group("backend (core.llm)")
    group.add_argument("--api_key", "-ak", default=None,
                       help="DEPRECATED (the seed's flag): set OPENAI_API_KEY instead. Used for requests only, "
                            "never written anywhere")
    for name, typ, default, _ in dataclass_flags(LLMConfig):
        if name == "api_key":
            continue
        shown = f" (default {default})" if default is not None and typ is not bool and name != "backend" else ""
        if name == "backend":
            group.add_argument("--backend", default="openai", choices=["openai", "hf"], help=helps[name])
        elif typ is bool and default is False:
            group.add_argument(f"--{name}", action="store_true", help=helps[name])
        else:
            group.add_argument(f"--{name}", type=_bool if typ is bool else typ, default=None, help=helps[name] + shown)


def llm_config(args: argparse.Namespace) -> Any:
    from core.llm import LLMConfig

    if args.api_key:
        print("warning: --api_key/-ak is deprecated: set OPENAI_API_KEY in the environment instead", file=sys.stderr)
    return LLMConfig.from_flags(**{name: getattr(args, name) for name in (*LLM_FLAGS, "api_key")})


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def run(make_parser: Callable[[], argparse.ArgumentParser], main: Callable[[argparse.Namespace], Any],
        argv: list[str] | None = None) -> Any:
    """Parse flags and run `main`; a UserError -> `error: ...` and exit 2, Ctrl-C -> exit 130 (core.errors)."""
    args = make_parser().parse_args(argv)
    return guard(main)(args)
