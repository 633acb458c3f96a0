"""Read `extract = Extract([Triple(person('A'), Rel('Work for'), organization('B')), ...])` back into typed triples.

    python CodeKGC/codeparse.py "extract = Extract([Triple(person('A'), Rel('Kill'), person('B')),])"

Model output is untrusted: it is read with `ast.parse` only, never eval/exec. The syntax tree may hold nothing but
calls, lists, tuples, string constants and names (`Expression Call List Tuple Constant Name keyword Load`); a name
starting with `_` or naming a Python builtin (`__import__`, `eval`, `open`, ...) makes the whole answer unparsable,
and so does attribute access, a subscript, a lambda, an operator or an f-string. The same holds for every fenced
block, and the whole answer, that is valid Python: besides `extract = Extract(...)` it may hold only bare data
expressions (a docstring), no `import`, no other statement. Nothing in the answer is ever run.

Tolerated: markdown fences and prose around the code, any quote style and escape Python accepts (curly quotes as a
fallback), keywords (`Triple(head=..., relation=..., tail=...)`), a relation written as a schema class
(`Work_for('Work for')`), a list without `Extract(` around it, and a truncated answer (the complete triples are kept,
status `truncated`). A triple whose entity class or relation is not in the schema is kept with `flags`.

Status of an answer: `ok`; `partial` (some list elements were not triples: see `problems`); `truncated`; `empty`
(blank text); `unparsable` (see `error`).
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("ok", "partial", "truncated", "empty", "unparsable")
ALLOWED_NODES = (ast.Expression, ast.Call, ast.List, ast.Tuple, ast.Constant, ast.Name, ast.keyword, ast.Load)
STRUCTURE = {"Extract", "Triple", "Rel", "Entity"}
FORBIDDEN_NAMES = frozenset(n for n in dir(builtins)) | {"List"}
MAX_CHARS = 200_000  # longer answers are cut before parsing (a runaway generation, not a triple list)

_EXTRACT = re.compile(r"\bExtract\s*\(")
_LIST_OF_TRIPLES = re.compile(r"[\[(]\s*Triple\s*\(")
_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.S)
_CURLY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


@dataclass
class ParseResult:
    triples: list[dict] = field(default_factory=list)  # {"head","head_type","relation","tail","tail_type"[, "flags"]}
    status: str = "ok"
    error: str | None = None
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"triples": self.triples, "status": self.status}
        if self.error:
            out["error"] = self.error
        if self.problems:
            out["problems"] = self.problems
        return out


class Rejected(ValueError):
    """The code holds something other than data (a call to a builtin, attribute access, ...)."""


def parse_completion(text: str, schema: Any = None) -> ParseResult:
    """Typed triples from one completion. `schema` (optional) has `entity_classes` {class: type},
    `relation_classes` {class: relation} and `relations` [names]; without it nothing is flagged."""
    if text is None or not str(text).strip():
        return ParseResult(status="empty")
    text = str(text)[:MAX_CHARS]
    result = _parse(text, schema)
    rejected = (result.error or "").startswith("rejected")
    if result.status == "unparsable" and not rejected and text != text.translate(_CURLY):
        retry = _parse(text.translate(_CURLY), schema)
        if retry.status != "unparsable":
            return retry
    return result


def _parse(text: str, schema: Any) -> ParseResult:
    allowed = set(schema.entity_classes) | set(schema.relation_classes) if schema is not None else set()
    try:
        _check_regions(text, allowed)
    except Rejected as exc:
        return ParseResult(status="unparsable", error=f"rejected: {exc}")
    code, truncated, error = _locate(text)
    if code is None:
        return ParseResult(status="unparsable", error=error)
    try:
        tree = ast.parse(code.strip(), mode="eval")
        _check_tree(tree, allowed)
    except Rejected as exc:
        return ParseResult(status="unparsable", error=f"rejected: {exc}")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return ParseResult(status="unparsable", error=f"not valid code: {type(exc).__name__}: {exc}"[:300])
    triples, problems = _read_extract(tree.body, schema)
    status = "truncated" if truncated else ("partial" if problems else "ok")
    return ParseResult(triples=triples, status=status, problems=problems)


def _locate(text: str) -> tuple[str | None, bool, str | None]:
    """The code to parse (one `Extract(...)` expression), whether it was cut off and closed here, and an error."""
    regions = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for region in regions:
        m = _EXTRACT.search(region)
        if m:
            return _close(region, m.end() - 1, elem_depth=2, prefix="Extract", suffix="")
    for region in regions:
        m = _LIST_OF_TRIPLES.search(region)
        if m:
            return _close(region, m.start(), elem_depth=1, prefix="Extract(", suffix=")")
    return None, False, "no Extract([...]) or Triple(...) list found"


def _close(text: str, open_pos: int, elem_depth: int, prefix: str, suffix: str) -> tuple[str | None, bool, str | None]:
    """Scan from the bracket at `open_pos` to its partner; if the text ends first, cut after the last complete
    element at `elem_depth` and add the missing closers. Strings and comments are skipped."""
    stack: list[tuple[str, int]] = []  # (closer, position of its opener)
    cut: tuple[int, list[str]] | None = None
    i, n = open_pos, len(text)
    while i < n:
        c = text[i]
        if c in _CLOSERS:
            stack.append((_CLOSERS[c], i))
        elif c in ")]}":
            if not stack or c != stack[-1][0]:
                return None, False, f"unbalanced brackets: '{c}' where '{stack[-1][0] if stack else ''}' was due"
            stack.pop()
            if not stack:
                return prefix + text[open_pos : i + 1] + suffix, False, None
            if len(stack) == elem_depth:
                cut = (i + 1, [s[0] for s in stack])
        elif c in "'\"":
            end = _skip_string(text, i)
            if end is None:
                break
            i = end
            continue
        elif c == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        i += 1
    if cut is None:  # not one complete element: keep the brackets that hold the elements, nothing inside them
        keep = stack[:elem_depth]
        return prefix + text[open_pos : keep[-1][1] + 1] + "".join(s[0] for s in reversed(keep)) + suffix, True, None
    pos, closers = cut
    return prefix + text[open_pos:pos] + "".join(reversed(closers)) + suffix, True, None


def _skip_string(text: str, i: int) -> int | None:
    """Index just past the string literal starting at text[i] (a quote), or None if it never ends."""
    q = text[i]
    triple = text.startswith(q * 3, i)
    delim = q * 3 if triple else q
    j = i + len(delim)
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if not triple and c == "\n":
            return None
        if text.startswith(delim, j):
            return j + len(delim)
        j += 1
    return None


def _check_regions(text: str, allowed: set[str]) -> None:
    """Every fenced block, and the whole answer, that is valid Python must hold nothing but data statements:
    `extract = Extract(...)` and bare expressions of the allowed nodes (code around the statement is refused too)."""
    for region in [m.group(1) for m in _FENCE.finditer(text)] + [text]:
        try:
            tree = ast.parse(region)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
                for target in stmt.targets:
                    _check_name(target.id, allowed)
                _check_tree(stmt.value, allowed)
            elif isinstance(stmt, ast.Expr):
                _check_tree(stmt.value, allowed)
            else:
                raise Rejected(f"{type(stmt).__name__} statement is not allowed")


def _check_name(name: str, allowed: set[str]) -> None:
    """Names starting with `_` are refused; so are builtins, unless the schema declares a class of that name."""
    if name.startswith("_") or (name in FORBIDDEN_NAMES and name not in allowed):
        raise Rejected(f"name '{name}' is not allowed")


def _check_tree(tree: ast.AST, allowed: set[str]) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise Rejected(f"{type(node).__name__} is not allowed in an extract statement")
        if isinstance(node, ast.Name):
            _check_name(node.id, allowed)
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
            raise Rejected("only calls to class names are allowed")
        if isinstance(node, ast.keyword) and node.arg is None:
            raise Rejected("**kwargs is not allowed")


def _call_name(node: ast.AST) -> str | None:
    return node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None


def _args(call: ast.Call, names: tuple[str, ...]) -> list[ast.AST] | None:
    """Positional and keyword arguments in the order of `names`; None if they do not fit."""
    if len(call.args) > len(names):
        return None
    out: list[ast.AST | None] = list(call.args) + [None] * (len(names) - len(call.args))
    for kw in call.keywords:
        if kw.arg not in names or out[names.index(kw.arg)] is not None:
            return None
        out[names.index(kw.arg)] = kw.value
    return None if any(x is None for x in out) else out  # type: ignore[return-value]


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _read_extract(node: ast.AST, schema: Any) -> tuple[list[dict], list[str]]:
    if _call_name(node) != "Extract":
        return [], ["the answer is not an Extract(...) call"]
    args = _args(node, ("triples",)) if node.args or node.keywords else [ast.List(elts=[])]
    if args is None or not isinstance(args[0], (ast.List, ast.Tuple)):
        return [], ["Extract(...) does not hold a list of triples"]
    triples, problems, seen = [], [], set()
    for k, elt in enumerate(args[0].elts, start=1):
        triple = _read_triple(elt, schema)
        if isinstance(triple, str):
            problems.append(f"element {k}: {triple}")
            continue
        key = tuple(triple.get(f) for f in ("head", "head_type", "relation", "tail", "tail_type"))
        if key not in seen:
            seen.add(key)
            triples.append(triple)
    return triples, problems


def _read_triple(node: ast.AST, schema: Any) -> dict | str:
    if _call_name(node) != "Triple":
        return "not a Triple(...)"
    args = _args(node, ("head", "relation", "tail"))
    if args is None:
        return "Triple(...) needs head, relation and tail"
    flags: list[str] = []
    head = _read_entity(args[0], schema, "head", flags)
    relation = _read_relation(args[1], schema, flags)
    tail = _read_entity(args[2], schema, "tail", flags)
    for part, name in ((head, "head"), (relation, "relation"), (tail, "tail")):
        if part is None:
            return f"{name} is not a class called with one string"
    out = {"head": head[0], "head_type": head[1], "relation": relation, "tail": tail[0], "tail_type": tail[1]}
    if flags:
        out["flags"] = flags
    return out


def _read_entity(node: ast.AST, schema: Any, role: str, flags: list[str]) -> tuple[str, str | None] | None:
    text = _string(node)
    if text is not None:
        flags.append(f"{role}_untyped")
        return text, None
    name = _call_name(node)
    if name is None or name in ("Extract", "Triple", "Rel") or (schema is not None and name in schema.relation_classes):
        return None
    args = _args(node, ("name",))
    text = _string(args[0]) if args else None
    if text is None:
        return None
    if name == "Entity":
        flags.append(f"{role}_untyped")
        return text, None
    if schema is None:
        return text, name
    if name in schema.entity_classes:
        return text, schema.entity_classes[name]
    flags.append(f"{role}_type_not_in_schema")
    return text, name


def _read_relation(node: ast.AST, schema: Any, flags: list[str]) -> str | None:
    name = _call_name(node)
    if name in ("Extract", "Triple", "Entity") or (schema is not None and name in schema.entity_classes):
        return None
    if name is None:
        text = _string(node)
    elif schema is not None and name in schema.relation_classes:
        args = _args(node, ("name",))
        if node.args or node.keywords:
            if args is None or _string(args[0]) is None:
                return None
        return schema.relation_classes[name]
    elif name == "Rel":
        args = _args(node, ("name",))
        text = _string(args[0]) if args else None
    else:
        args = _args(node, ("name",))
        text = _string(args[0]) if args else name.replace("_", " ")
    if text is None:
        return None
    if schema is None or not schema.relations:
        return text
    if text in schema.relations:
        return text
    canon = {_norm(r): r for r in schema.relations}
    if _norm(text) in canon:
        return canon[_norm(text)]
    flags.append("relation_not_in_schema")
    return text


def _norm(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).casefold()


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(parse_completion(sys.argv[1] if len(sys.argv) > 1 else "").to_dict(), ensure_ascii=False))
