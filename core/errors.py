"""User-facing errors and the CLI wrapper that turns them into one line and a non-zero exit.

    python -c "from core.errors import guard; guard(print)('ok')"
"""

from __future__ import annotations

import sys
from typing import Any, Callable


class UserError(Exception):
    """A mistake the user can fix (bad input file, missing model, wrong flag): printed as one line, exit 2."""


EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for entry points: UserError -> `error: ...` on stderr and exit 2, Ctrl-C -> a resume hint, exit 130."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(EXIT_USER_ERROR) from None
        except KeyboardInterrupt:
            print("interrupted; rerun the same command to resume", file=sys.stderr)
            raise SystemExit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:  # `... | head`: the reader left; stop quietly, as other command-line tools do
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
            raise SystemExit(EXIT_BROKEN_PIPE) from None

    return wrapper
