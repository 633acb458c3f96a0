"""What a code answer may contain before it is read: data only (core.tasks.code_parse reads it; nothing is ever run).

    python -c "from core.tasks.code_parse import parse_code; print(parse_code('import os').issues)"

A syntax tree may hold nothing but calls, lists, tuples, string constants and names; a call goes to a class name; a
name starting with `_`, or naming a Python builtin that the schema does not declare as a class, is refused; so is
`**kwargs`. Every fenced block, and the whole answer, that is valid Python may hold only `name = <data>` assignments
and bare data expressions: an `import`, a `def`, a loop ... anywhere refuses the whole answer.
"""

from __future__ import annotations

import ast
import builtins
import re

from core.parsing.pysyntax import parse_python

ALLOWED_NODES = (ast.Expression, ast.Call, ast.List, ast.Tuple, ast.Constant, ast.Name, ast.keyword, ast.Load)
FORBIDDEN_NAMES = frozenset(dir(builtins)) | {"List"}
ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)  # what ast.parse raises on hostile or broken code
FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.S)


class Rejected(ValueError):
    """The code holds something other than data (a call to a builtin, attribute access, ...)."""


def check_regions(text: str, allowed: set[str]) -> None:
    """Every fenced block, and the whole answer, that is valid Python must hold nothing but data statements:
    `extract = Extract(...)` and bare expressions of the allowed nodes (code around the statement is refused too)."""
    for region in [m.group(1) for m in FENCE.finditer(text)] + [text]:
        try:
            tree = parse_python(region)
        except ERRORS:
            continue
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
                for target in stmt.targets:
                    _check_name(target.id, allowed)
                check_tree(stmt.value, allowed)
            elif isinstance(stmt, ast.Expr):
                check_tree(stmt.value, allowed)
            else:
                raise Rejected(f"{type(stmt).__name__} statement is not allowed")


def _check_name(name: str, allowed: set[str]) -> None:
    """Names starting with `_` are refused; so are builtins, unless the schema declares a class of that name."""
    if name.startswith("_") or (name in FORBIDDEN_NAMES and name not in allowed):
        raise Rejected(f"name '{name}' is not allowed")


def check_tree(tree: ast.AST, allowed: set[str]) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise Rejected(f"{type(node).__name__} is not allowed in an extract statement")
        if isinstance(node, ast.Name):
            _check_name(node.id, allowed)
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
            raise Rejected("only calls to class names are allowed")
        if isinstance(node, ast.keyword) and node.arg is None:
            raise Rejected("**kwargs is not allowed")
