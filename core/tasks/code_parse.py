"""Read `extract = Extract([Triple(person('A'), Rel('Work for'), organization('B')), ...])` back into typed triples.

    python -c "from core.tasks.code_parse import parse_code; print(parse_code(\"Extract([Triple(person('A'), Rel('Kill'), person('B'))])\"))"

Model output is untrusted: it is read with `ast.parse` only, never evaluated or run. The syntax tree may hold nothing
but calls, lists, tuples, string constants and names (`Expression Call List Tuple Constant Name keyword Load`); a name
starting with `_` or naming a Python builtin (`__import__`, `eval`, `open`, ...) makes the whole answer unparsable,
and so does attribute access, a subscript, a lambda, an operator or an f-string. Every fenced block, and the whole
answer, that is valid Python may hold only `extract = Extract(...)` and bare data expressions (no `import`, ...).

Returns core.records.Parsed, pred = triples {"head", "head_type", "relation", "tail", "tail_type"[, "flags"]}:
`ok` the one statement (`extract = Extract([...])`, `Extract([...])` or a list of triples), alone or in one fence;
`repaired` cut out of other text, closed after the last complete triple of a cut-off answer, or curly quotes made
straight; `invalid` with issues: an element that is not a triple (skipped) or a triple outside the schema (kept with
`flags`, scored); `unparsable` blank, no triple list, not valid code, or rejected. Keywords (`Triple(head=...)`) and
relation classes (`Work_for('Work for')`) are read too.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from core.parsing.pysyntax import parse_python
from core.records import OK, REPAIRED, UNPARSABLE, Parsed
from core.tasks.code_safety import ERRORS, FENCE, Rejected, check_regions, check_tree

MAX_CHARS = 200_000  # longer answers are cut before parsing (a runaway generation, not a triple list)
FIELDS = ("head", "head_type", "relation", "tail", "tail_type")

_EXTRACT = re.compile(r"\bExtract\s*\(")
_LIST_OF_TRIPLES = re.compile(r"[\[(]\s*Triple\s*\(")
_ONE_FENCE = re.compile(r"^```[^\n`]*\n(.*?)\n?```$", re.S)
_CURLY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def parse_code(text: str | None, schema: Any = None) -> Parsed:
    """Typed triples from one answer. `schema` (a code_schema.CodeSchema, optional) has `entity_classes`
    {class: type}, `relation_classes` {class: relation} and `relations` [names]; without it nothing is flagged."""
    raw = "" if text is None else str(text)
    if not raw.strip():
        return Parsed([], UNPARSABLE, ["empty answer"], raw=raw)
    text = raw[:MAX_CHARS]
    parsed = _parse(text, schema)
    rejected = any(issue.startswith("rejected") for issue in parsed.issues)
    if parsed.status == UNPARSABLE and not rejected and text != text.translate(_CURLY):
        retry = _parse(text.translate(_CURLY), schema)
        if retry.status != UNPARSABLE:
            retry.status = REPAIRED
            parsed = retry
    parsed.raw = raw
    return parsed.finish()


def _parse(text: str, schema: Any) -> Parsed:
    allowed = set(schema.entity_classes) | set(schema.relation_classes) if schema is not None else set()
    try:
        check_regions(text, allowed)
        code, truncated, error = _locate(text)
        if code is None:
            return Parsed([], UNPARSABLE, [error])
        tree = parse_python(code.strip(), mode="eval")
        check_tree(tree, allowed)
    except Rejected as exc:
        return Parsed([], UNPARSABLE, [f"rejected: {exc}"])
    except ERRORS as exc:
        return Parsed([], UNPARSABLE, [f"not valid code: {type(exc).__name__}: {exc}"[:300]])
    parsed = Parsed([], REPAIRED if truncated or not _alone(text) else OK)
    _read_extract(tree.body, schema, parsed)
    return parsed


def _alone(text: str) -> bool:
    """The answer is one statement, maybe in one code fence, and nothing else."""
    match = _ONE_FENCE.match(text.strip())
    try:
        return len(parse_python(match.group(1) if match else text.strip()).body) == 1
    except ERRORS:
        return False


def _locate(text: str) -> tuple[str | None, bool, str | None]:
    """The code to parse (one `Extract(...)` expression), whether it was cut off and closed here, and an error."""
    regions = [m.group(1) for m in FENCE.finditer(text)] + [text]
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
    delim = q * 3 if text.startswith(q * 3, i) else q
    j = i + len(delim)
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if len(delim) == 1 and c == "\n":
            return None
        if text.startswith(delim, j):
            return j + len(delim)
        j += 1
    return None


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


def _read_extract(node: ast.AST, schema: Any, parsed: Parsed) -> None:
    if _call_name(node) != "Extract":
        return parsed.flag("the answer is not an Extract(...) call")
    args = _args(node, ("triples",)) if node.args or node.keywords else [ast.List(elts=[])]
    if args is None or not isinstance(args[0], (ast.List, ast.Tuple)):
        return parsed.flag("Extract(...) does not hold a list of triples")
    seen = set()
    for k, elt in enumerate(args[0].elts, start=1):
        triple = _read_triple(elt, schema)
        if isinstance(triple, str):
            parsed.flag(f"element {k}: {triple}")
            continue
        key = tuple(triple.get(f) for f in FIELDS)
        if key not in seen:
            seen.add(key)
            parsed.pred.append(triple)
            outside = [f for f in triple.get("flags", []) if f.endswith("_not_in_schema")]
            if outside:
                parsed.flag(f"element {k}: {', '.join(f.replace('_', ' ') for f in outside)}")


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
    args = _args(node, ("name",)) if name is not None else None
    if name is None:
        text = _string(node)
    elif schema is not None and name in schema.relation_classes:
        if (node.args or node.keywords) and (args is None or _string(args[0]) is None):
            return None
        return schema.relation_classes[name]
    elif name == "Rel":
        text = _string(args[0]) if args else None
    else:
        text = _string(args[0]) if args else name.replace("_", " ")
    if text is None:
        return None
    if schema is None or not schema.relations or text in schema.relations:
        return text
    canon = {_norm(r): r for r in schema.relations}
    if _norm(text) in canon:
        return canon[_norm(text)]
    flags.append("relation_not_in_schema")
    return text


def _norm(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).casefold()
