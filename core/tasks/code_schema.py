"""CodeKGC's schema and demos as Python code: JSON schema -> classes, labelled records -> `extract = ...` examples.

    python -c "from core.tasks.code_schema import load_schema; print(load_schema('CodeKGC/data/schema.json').code)"

The code skeleton (base classes, the subclass form, docstring, triple and extract lines) is the prompt file
core/prompts/code.en.v1.txt. A schema comes from a Python file (DeepKE's 2023 `schema_prompt`, read with `ast`, never
run: subclasses of `Rel` are relations, with `_` read as a space; subclasses of `Entity` are entity types; a class
docstring, if any, is the exact name) or from a JSON schema (core.schema layout), which generates that file.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.io import DataError
from core.parsing.pysyntax import parse_python
from core.prompts import fill, load_sections
from core.schema import Schema

PROMPT = "code.en"
RESERVED = {"Rel", "Entity", "Triple", "Extract", "List"}


def sections() -> dict[str, str]:
    return load_sections(PROMPT, required=("header", "relation_base", "entity_base", "subclass", "footer", "docstring",
                                           "triple", "extract", "system", "instruction", "stop"))


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


def docstring(text: str) -> str:
    """The text as the prompt's docstring, backslashes and triple quotes escaped."""
    return fill(sections()["docstring"], {"text": text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')})


def _subclass(name: str, base: str, doc: str | None) -> str:
    docline = f"    {docstring(doc)}\n" if doc is not None else ""
    return fill(sections()["subclass"], {"name": name, "base": base, "docline": docline})


def schema_from_json(schema: Schema) -> CodeSchema:
    """Generate the Python classes for a JSON schema (a docstring keeps a name the class name cannot spell)."""
    s, taken = sections(), set()
    out = CodeSchema(relations=list(schema.relation_types), signatures=dict(schema.signatures))
    blocks = [s["header"], s["relation_base"]]
    for rel in schema.relation_types:
        cls = identifier(rel, taken)
        out.relation_classes[cls] = rel
        blocks.append(_subclass(cls, "Rel", None if cls.replace("_", " ") == rel else rel))
    blocks.append(s["entity_base"])
    for typ in schema.entity_types:
        cls = identifier(typ, taken)
        out.entity_classes[cls] = typ
        blocks.append(_subclass(cls, "Entity", None if cls == typ else typ))
    blocks.append(s["footer"])
    out.code = "\n\n\n".join(blocks) + "\n"
    return out


def schema_from_code(code: str, path: str | os.PathLike = "<schema>") -> CodeSchema:
    """Read DeepKE's 2023 schema prompt (Python source) with `ast`: nothing in it is run."""
    try:
        tree = parse_python(code)
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
    """A `.json` file is a JSON schema; anything else is DeepKE's 2023 Python schema prompt."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return schema_from_json(Schema.load(path))
    return schema_from_code(read_text(path), path)


def triples_of(items: list | None) -> list[dict]:
    """Gold triples as dicts; items are [head, relation, tail] or {"head", "relation", "tail", ...}. ValueError
    ("triple_list: ...") for anything else."""
    out = []
    for item in items or []:
        if isinstance(item, (list, tuple)) and len(item) == 3 and all(isinstance(x, str) for x in item):
            out.append({"head": item[0], "relation": item[1], "tail": item[2]})
        elif isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("head", "relation", "tail")):
            out.append({k: item[k] for k in ("head", "head_type", "relation", "tail", "tail_type") if item.get(k)})
        else:
            raise ValueError('triple_list: each item must be [head, relation, tail] of strings or {"head", '
                             '"relation", "tail"}')
    return out


def extract_code(triples: list[dict], schema: CodeSchema) -> str:
    """`extract = Extract([...])` for these triples; entity classes from their types, else the relation signature."""
    s = sections()
    lines = []
    for t in triples:
        sig = schema.signatures.get(t["relation"], (None, None))
        lines.append(fill(s["triple"], {
            "head_class": schema.class_of(t.get("head_type") or sig[0]), "head": repr(t["head"]),
            "relation": repr(t["relation"]),
            "tail_class": schema.class_of(t.get("tail_type") or sig[1]), "tail": repr(t["tail"])}))
    indent = " " * s["extract"].index("$triples")  # continuation lines line up under the first triple
    return fill(s["extract"], {"triples": ("\n" + indent).join(lines)})


def demos_to_code(demos: list[tuple[str, list[dict]]], schema: CodeSchema) -> str:
    """(text, gold triples) pairs -> the ICL prompt: each text in a docstring, then its extract statement."""
    return "\n\n".join(f"{docstring(text)}\n{extract_code(triples, schema)}" for text, triples in demos) + "\n"


def read_text(path: str | os.PathLike) -> str:
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, f"no such file: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(path, None, f"not UTF-8 text ({exc.reason})") from None
