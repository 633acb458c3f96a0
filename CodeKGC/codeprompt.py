"""Code-style prompts: a schema as Python classes, labelled records as `extract = Extract([...])` examples.

    python CodeKGC/codeprompt.py CodeKGC/data/schema.json CodeKGC/data/demos.json "Ann Lee works for Acme ."

Prompt = schema code + ICL code + the text in a docstring, the seed's layout. Completion models get the raw code and
continue it; chat models get the same code after a short instruction. `STOP` ends the answer after one statement.
A schema comes from the seed's Python file (read with `ast`, never run: subclasses of `Rel` are relations, with `_`
read as a space; subclasses of `Entity` are entity types; a class docstring, if any, is the exact name) or from a JSON
schema (core.schema layout), which generates that file.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.io import DataError, read_records
from core.schema import Schema

STOP = ['\n"""', "\nextract"]  # completion models: the next docstring or a second statement ends the answer
CHAT_STOP = ['\n"""']  # chat models often open a fence first ("```python\nextract = ..."): keep that line
CHAT_SYSTEM = "You are a Python coding assistant. You reply with code only."
CHAT_INSTRUCTION = (
    "Continue the Python code below: write the single `extract = Extract([...])` statement for the last docstring, "
    "using only the classes defined in the code. Reply with that one statement and nothing else."
)
RESERVED = {"Rel", "Entity", "Triple", "Extract", "List"}


@dataclass
class CodeSchema:
    """What the prompt declares and the parser checks: class names -> entity types / relation names."""

    entity_classes: dict[str, str] = field(default_factory=dict)
    relation_classes: dict[str, str] = field(default_factory=dict)
    relations: list[str] = field(default_factory=list)
    signatures: dict[str, tuple[str, str]] = field(default_factory=dict)
    code: str = ""

    @property
    def entity_types(self) -> list[str]:
        return list(self.entity_classes.values())

    def class_of(self, entity_type: str | None) -> str:
        """The class that writes an entity of this type (`Entity` when the type is unknown or missing)."""
        for name, typ in self.entity_classes.items():
            if typ == entity_type:
                return name
        return "Entity"


def identifier(name: str, taken: set[str]) -> str:
    """A Python class name for a type or relation name: `Work for` -> `Work_for`, never a keyword or builtin."""
    ident = re.sub(r"\W+", "_", name.strip()).strip("_") or "T"
    if ident[0].isdigit():
        ident = "T" + ident
    if keyword.iskeyword(ident) or ident in RESERVED or hasattr(builtins, ident):
        ident += "_"
    base, k = ident, 2
    while ident in taken:
        ident, k = f"{base}_{k}", k + 1
    taken.add(ident)
    return ident


_BASES = '''from typing import List


class Rel:
    def __init__(self, name: str):
        self.name = name

'''
_ENTITY_BASE = '''
class Entity:
    def __init__(self, name: str):
        self.name = name

'''
_TAIL = '''
class Triple:
    def __init__(self, head: Entity, relation: Rel, tail: Entity):
        self.head = head
        self.relation = relation
        self.tail = tail


class Extract:
    def __init__(self, triples: List[Triple] = []):
        self.triples = triples
'''


def _subclass(name: str, base: str, doc: str | None) -> str:
    docline = f"    {_docstring(doc)}\n" if doc is not None else ""
    return f"\nclass {name}({base}):\n{docline}    def __init__(self, name: str):\n        super().__init__(name=name)\n\n"


def schema_from_json(schema: Schema) -> CodeSchema:
    """Generate the Python classes for a JSON schema (a docstring keeps a name the class name cannot spell)."""
    taken: set[str] = set()
    out = CodeSchema(relations=list(schema.relation_types), signatures=dict(schema.signatures))
    parts = [_BASES]
    for rel in schema.relation_types:
        cls = identifier(rel, taken)
        out.relation_classes[cls] = rel
        parts.append(_subclass(cls, "Rel", None if cls.replace("_", " ") == rel else rel))
    parts.append(_ENTITY_BASE)
    for typ in schema.entity_types:
        cls = identifier(typ, taken)
        out.entity_classes[cls] = typ
        parts.append(_subclass(cls, "Entity", None if cls == typ else typ))
    parts.append(_TAIL)
    out.code = re.sub(r"\n{3,}", "\n\n\n", "".join(parts))
    return out


def schema_from_code(code: str, path: str | os.PathLike = "<schema>") -> CodeSchema:
    """Read the seed's schema prompt (Python source) with `ast`: nothing in it is run."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise DataError(path, exc.lineno, f"not valid Python ({exc.msg})") from None
    out = CodeSchema(code=code)
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
        doc = (ast.get_docstring(node) or "").strip()
        if "Rel" in bases:
            out.relation_classes[node.name] = doc or node.name.replace("_", " ")
            out.relations.append(out.relation_classes[node.name])
        elif "Entity" in bases:
            out.entity_classes[node.name] = doc or node.name
    return out


def load_schema(path: str | os.PathLike) -> CodeSchema:
    """A `.json` file is a JSON schema; anything else is the seed's Python schema prompt."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return schema_from_json(Schema.load(path))
    return schema_from_code(_read_text(path), path)


def _docstring(text: str) -> str:
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return f'""" {body} """'


def triples_of(record: dict, path: str | os.PathLike = "<records>") -> list[dict]:
    """A record's gold triples as dicts; items are [head, relation, tail] or {"head", "relation", "tail", ...}."""
    out = []
    for item in record.get("triple_list") or []:
        if isinstance(item, (list, tuple)) and len(item) == 3 and all(isinstance(x, str) for x in item):
            out.append({"head": item[0], "relation": item[1], "tail": item[2]})
        elif isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("head", "relation", "tail")):
            out.append({k: item[k] for k in ("head", "head_type", "relation", "tail", "tail_type") if item.get(k)})
        else:
            raise DataError(path, record.get("__line__"), "each item must be [head, relation, tail] of strings "
                            'or {"head", "relation", "tail"}', field="triple_list")
    return out


def extract_code(triples: list[dict], schema: CodeSchema) -> str:
    """`extract = Extract([...])` for these triples; entity classes from their types, else the relation signature."""
    if not triples:
        return "extract = Extract([])"
    lines = []
    for t in triples:
        sig = schema.signatures.get(t["relation"], (None, None))
        head = f"{schema.class_of(t.get('head_type') or sig[0])}({t['head']!r})"
        tail = f"{schema.class_of(t.get('tail_type') or sig[1])}({t['tail']!r})"
        lines.append(f"Triple({head}, Rel({t['relation']!r}), {tail}),")
    return "extract = Extract([" + ("\n" + " " * 19).join(lines) + "])"


def demos_to_code(records: list[dict], schema: CodeSchema, path: str | os.PathLike = "<demos>") -> str:
    """Labelled records -> the ICL prompt: each text in a docstring, then its extract statement."""
    return "\n\n".join(f"{_docstring(r['text'])}\n{extract_code(triples_of(r, path), schema)}" for r in records) + "\n"


def load_demos(path: str | os.PathLike, schema: CodeSchema) -> str:
    """A `.json`/`.jsonl` file of labelled records becomes code; anything else is the seed's ICL prompt, as is."""
    path = Path(path)
    if path.suffix.lower() in (".json", ".jsonl"):
        records = read_records(path, required={"text": str}, optional={"triple_list": list})
        return demos_to_code(records, schema, path)
    return _read_text(path)


def build_prompt(schema_code: str, icl_code: str, text: str) -> str:
    """schema + ICL examples + the text as a docstring; the model continues with `extract = ...`."""
    parts = [schema_code.strip("\n"), icl_code.strip("\n"), _docstring(text)]
    return "\n\n".join(p for p in parts if p) + "\n"


def chat_messages(prompt: str) -> list[dict]:
    """The same code for a chat model, after an instruction to continue it."""
    return [{"role": "system", "content": CHAT_SYSTEM}, {"role": "user", "content": f"{CHAT_INSTRUCTION}\n\n{prompt}"}]


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataError(path, None, f"no such file: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(path, None, f"not UTF-8 text ({exc.reason})") from None


def _main(schema_path: str, demos_path: str, text: str) -> Any:
    schema = load_schema(schema_path)
    return build_prompt(schema.code, load_demos(demos_path, schema), text)


if __name__ == "__main__":
    import sys

    from core.errors import guard

    guard(lambda: print(_main(*sys.argv[1:4]), end=""))()
