"""The relation names a CCKS2023 instruction allows, read from the list literal embedded in it (never evaluated).

    python -c "from core.parsing.ccks_instruction import relations_from_instruction as r; print(r('''关系列表：['获奖', '位于']'''))"

A CCKS instruction names its candidate relations (and sometimes entity types) as a Python list/set literal. The
literal is read from its syntax tree (`ast.parse`, only string constants accepted) or, when it is not valid Python,
split on commas; nothing in it is ever run. core.parsing.ccks uses the names to place the separators of a triple
whose names hold commas; the CCKS metrics, tasks and converters use them as the allowed relations.
"""

from __future__ import annotations

import ast
import re

from core.parsing.pysyntax import parse_python

_LITERAL = re.compile(r"\[[^\[\]]*\]|\{[^{}]*\}")
_CLAUSE_END = re.compile(r"[,，。；;\n]")
_RELATION_WORD = re.compile(r"关系|relation", re.IGNORECASE)
_ENTITY_WORD = re.compile(r"实体|entit", re.IGNORECASE)


def _literal_strings(literal: str) -> list[str] | None:
    """Strings of a list/set/tuple literal read from its syntax tree (nothing is evaluated); None if not one."""
    try:
        node = parse_python(literal.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        inner = literal.strip()[1:-1]
        items = [x.strip().strip("'\"‘’“”").strip() for x in re.split(r"[,，、]", inner)]
        return [x for x in items if x] or None
    if not isinstance(node, (ast.List, ast.Set, ast.Tuple)):
        return None
    if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return None
    return [e.value for e in node.elts]


def relations_from_instruction(instruction: str | None) -> list[str]:
    """Candidate relation names embedded in a CCKS instruction as a Python list/set literal (source order).

    With several literals (entity types and relation types), those whose clause mentions 关系/relation and not
    实体/entity are taken; a single literal is taken as is. Returns [] when none is found.
    """
    if not instruction:
        return []
    found: list[tuple[str, list[str]]] = []
    for m in _LITERAL.finditer(instruction):
        items = _literal_strings(m.group())
        if items:
            before = _CLAUSE_END.split(instruction[: m.start()])[-1]
            found.append((before, items))
    if len(found) == 1:
        chosen = [found[0][1]]
    else:
        chosen = [items for before, items in found if _RELATION_WORD.search(before) and not _ENTITY_WORD.search(before)]
    out: list[str] = []
    for items in chosen:
        for item in items:
            if item.strip() and item.strip() not in out:
                out.append(item.strip())
    return out
