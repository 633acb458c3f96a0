"""Python source -> syntax tree (`ast.parse`), safe to call from several threads at once.

    python -c "from core.parsing.pysyntax import parse_python; print(type(parse_python('x = 1')).__name__)"

CPython 3.11 and 3.12 keep the AST constructor's recursion depth in interpreter-wide state: when two threads build
trees at once (a garbage collection that runs a finalizer lets the other thread in), `ast.parse` fails with
`SystemError: AST constructor recursion depth mismatch` (python/cpython#106905). Answers are parsed from the worker
threads of a run (core.extract, a served pool), so every `ast.parse` of the project goes through this one lock.
Nothing parsed here is ever run.
"""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse_python(source: str, mode: str = "exec") -> ast.AST:
    """`ast.parse(source, mode=mode)`, one thread at a time; raises what ast.parse raises."""
    with _LOCK:
        return ast.parse(source, mode=mode)
