"""What both UnleashLLMRE scripts share: every core.llm.LLMConfig setting as a flag (with DeepKE's 2023 `-ak`), the
backend config made from them, warnings, and the command-line runner.

    python UnleashLLMRE/gpt3ICL.py --help
"""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any


def flags(args_class: type) -> list:
    """The script's own settings (a dataclass), then every LLMConfig setting."""
    from core.flags import flags_of
    from core.llm import LLMConfig

    return [*flags_of(args_class), *flags_of(LLMConfig, aliases={"api_key": ("-ak",)})]


def settings(args_class: type, given: dict[str, Any], prog: str) -> tuple[SimpleNamespace, Any]:
    """(the script's settings as attributes, the LLMConfig of the rest) from flag values or a Python call."""
    from core.flags import complete, take
    from core.llm import LLMConfig

    values = complete(flags(args_class), given, prog)
    llm = take(values, LLMConfig)
    if llm["api_key"]:
        warn("--api_key/-ak is deprecated: set OPENAI_API_KEY in the environment instead")
    return SimpleNamespace(**values), LLMConfig.from_flags(**llm)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def cli(main: Any, args_class: type, prog: str, doc: str, argv: list[str] | None = None) -> Any:
    """Parse the flags and run `main(**values)`: a wrong flag or a UserError -> `error: ...` and exit 2."""
    from core.flags import prog_name, run

    return run(main, flags(args_class), argv, prog=prog_name(prog), doc=doc)
