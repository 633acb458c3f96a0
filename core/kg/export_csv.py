"""Neo4j bulk-import CSV (`--format csv`): a folder with nodes.csv and relationships.csv.

    python -m core.kg export --input tests/data/kg/records.jsonl --format csv --output /tmp/kg/neo4j

The headers follow `neo4j-admin database import` (header format: `:ID`, `:LABEL`, `:START_ID`, `:END_ID`, `:TYPE`,
typed properties `name:type`):

    nodes.csv          :ID,name,aliases,:LABEL               n0,Alice,"[""Alice B.""]",Entity;PERSON
    relationships.csv  :START_ID,:END_ID,:TYPE,edge_id,count:int,provenance

`:ID` is the graph's node id (n0, n1, ...; not stored as a property since the column has no name); every node has the
label `Entity` plus its types (a `;` inside a type becomes `_`, as `;` separates labels). `aliases` (the entity's
other surface forms) is a JSON list, `provenance` a JSON list of {record, file, line, text, run, model}; in Cypher
`apoc.convert.fromJsonList(n.aliases)` gives the list back. The files are RFC 4180 CSV (CRLF line ends; a field holding `,`, `"`, CR or
LF is quoted, `"` doubled), which the importer reads by default; a name holding a line break needs
`--multiline-fields=true` (see docs/kg.md).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

from core.io import atomic_write
from core.kg.exporters import register_exporter
from core.kg.graph import Graph

NODE_HEADER = [":ID", "name", "aliases", ":LABEL"]
REL_HEADER = [":START_ID", ":END_ID", ":TYPE", "edge_id", "count:int", "provenance"]
BASE_LABEL = "Entity"


def labels(types: list[str]) -> str:
    out = [BASE_LABEL]
    for t in types:
        label = t.replace(";", "_")
        if label not in out:
            out.append(label)
    return ";".join(out)


def write_csv(graph: Graph, out_path: Path, **_: object) -> Path:
    out_path.mkdir(parents=True, exist_ok=True)
    nodes = graph.nodes
    rows = ([n.id, n.name, json.dumps(n.aliases, ensure_ascii=False), labels(n.types)] for n in nodes)
    _write(out_path / "nodes.csv", NODE_HEADER, rows)
    rows = (
        [nodes[e.head].id, nodes[e.tail].id, e.relation, e.id, e.count, json.dumps(e.provenance, ensure_ascii=False)]
        for e in graph.edges
    )
    _write(out_path / "relationships.csv", REL_HEADER, rows)
    return out_path


def _write(path: Path, header: list[str], rows: Iterable[list]) -> None:
    """RFC 4180 CSV, byte-exact on every OS (no newline translation), written atomically."""
    with atomic_write(path, "wb") as raw:
        fh = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
        fh.flush()
        fh.detach()


register_exporter("csv", write_csv, "", "Neo4j bulk import: <output>/nodes.csv + relationships.csv")
