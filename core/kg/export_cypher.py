"""A Cypher script of MERGE statements for a running Neo4j (`--format cypher`), one statement per line.

    python -m core.kg export --input tests/data/kg/records.jsonl --format cypher --output /tmp/kg/graph.cypher

Run it with `cypher-shell -f graph.cypher` (or paste into the browser). Nodes are merged on `key` under the label
`Entity` (a uniqueness constraint is created first; the key is the name, or `name (TYPE)` for homonyms: see
`Graph.keys`), get `name` and `aliases` (a list of the other surface forms) and their types as extra labels;
relationships are merged on (head, type, tail) and get `count` and `provenance` (a JSON string). Running the script twice changes nothing.
Strings are single-quoted Cypher literals (`\\`, `'`, line breaks and control characters escaped); labels and
relationship types are back-quoted identifiers (a back-quote doubled), so any name is safe. Cypher has no escapes
inside back-quotes, so a type or relationship name holding a line break is written as is and that statement spans
two lines (only possible with `--no_normalize`; normalisation turns line breaks into spaces).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from core.io import atomic_write
from core.kg.exporters import register_exporter
from core.kg.graph import Graph

_ESCAPES = {ord("\\"): "\\\\", ord("'"): "\\'", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
_ESCAPES.update({c: f"\\u{c:04x}" for c in [*range(0x20), 0x7F, 0x2028, 0x2029, 0x85] if c not in _ESCAPES})


_SPECIAL = re.compile("[" + re.escape("".join(map(chr, _ESCAPES))) + "]")


def cypher_string(text: str) -> str:
    """A single-quoted Cypher string literal holding exactly `text`."""
    return "'" + (text.translate(_ESCAPES) if _SPECIAL.search(text) else text) + "'"


def cypher_name(text: str) -> str:
    """A back-quoted Cypher identifier (label, relationship type) holding exactly `text`."""
    return "`" + text.replace("`", "``") + "`"


def write_cypher(graph: Graph, out_path: Path, **_: object) -> Path:
    with atomic_write(out_path) as fh:
        fh.write("// Knowledge graph written by `python -m core.kg export --format cypher`; run: cypher-shell -f FILE\n")
        fh.write("CREATE CONSTRAINT kg_entity_key IF NOT EXISTS FOR (n:Entity) REQUIRE n.key IS UNIQUE;\n")
        keys = [cypher_string(k) for k in graph.keys()]
        for n, key in zip(graph.nodes, keys, strict=True):
            extra = "".join(f" SET n:{cypher_name(t)}" for t in n.types)
            aliases = "[" + ", ".join(cypher_string(a) for a in n.aliases) + "]"
            fh.write(f"MERGE (n:Entity {{key: {key}}}) SET n.name = {cypher_string(n.name)}, n.aliases = {aliases}"
                     f"{extra};\n")  # fmt: skip
        for e in graph.edges:
            prov = cypher_string(json.dumps(e.provenance, ensure_ascii=False))
            fh.write(
                f"MATCH (h:Entity {{key: {keys[e.head]}}}), (t:Entity {{key: {keys[e.tail]}}}) "
                f"MERGE (h)-[r:{cypher_name(e.relation)}]->(t) SET r.count = {e.count}, r.provenance = {prov};\n"
            )
    return out_path


register_exporter("cypher", write_cypher, ".cypher", "Cypher MERGE statements for a running Neo4j (cypher-shell -f)")
