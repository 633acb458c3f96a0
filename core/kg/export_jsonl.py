"""The graph as JSONL (`--format jsonl`, also what `build --output` writes), and reading it back.

    python -m core.kg export --input tests/data/kg/records.jsonl --format jsonl --output /tmp/kg/graph.jsonl

Line 1 is a header `{"type": "graph", "format": "kgllm-graph", "version": 1, "meta": {...}}` (how the graph was built,
counts of records read/failed, the failed records listed). Then one line per node
`{"type": "node", "id": "n0", "name": ..., "types": [...], "aliases": [...]}` (aliases: the other surface forms) and one per edge `{"type": "edge", "id": "e0", "head": name,
"relation": ..., "tail": name, "head_id": "n0", "tail_id": "n1", "count": 2, "provenance": [{"record", "file",
"line", "text", "run", "model"}, ...]}`. `read_graph` gives back the identical Graph.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.io import DataError, atomic_write, dumps
from core.kg.exporters import register_exporter
from core.kg.graph import Edge, Graph, Node

FORMAT, VERSION = "kgllm-graph", 1


def write_jsonl(graph: Graph, out_path: Path, **_: object) -> Path:
    with atomic_write(out_path) as fh:
        fh.write(dumps({"type": "graph", "format": FORMAT, "version": VERSION, "meta": graph.meta}) + "\n")
        for n in graph.nodes:
            fh.write(dumps({"type": "node", "id": n.id, "name": n.name, "types": n.types, "aliases": n.aliases}) + "\n")
        nodes = graph.nodes
        for e in graph.edges:
            h, t = nodes[e.head], nodes[e.tail]
            rec = {"type": "edge", "id": e.id, "head": h.name, "relation": e.relation, "tail": t.name,
                   "head_id": h.id, "tail_id": t.id, "count": e.count, "provenance": e.provenance}  # fmt: skip
            fh.write(dumps(rec) + "\n")
    return out_path


def is_graph_file(path: str | Path) -> bool:
    """True when the file starts with the header line this module writes."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            first = fh.readline()
        head = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(head, dict) and head.get("format") == FORMAT


def read_graph(path: str | Path) -> Graph:
    """The Graph stored by `write_jsonl`; DataError with file:line on anything else."""
    path = Path(path)
    graph, index = Graph(), {}
    with open(path, encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(path, lineno, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
            kind = rec.get("type") if isinstance(rec, dict) else None
            try:
                if kind == "graph":
                    if rec.get("version") != VERSION:
                        raise DataError(path, lineno, f"graph file version {rec.get('version')}, expected {VERSION}")
                    graph.meta = rec.get("meta") or {}
                elif kind == "node":
                    index[rec["id"]] = len(graph.nodes)
                    graph.nodes.append(Node(rec["id"], rec["name"], list(rec.get("types") or []), list(rec.get("aliases") or [])))
                elif kind == "edge":
                    edge = Edge(rec["id"], index[rec["head_id"]], rec["relation"], index[rec["tail_id"]])
                    edge.provenance, edge.count = list(rec.get("provenance") or []), int(rec["count"])
                    graph.edges.append(edge)
                else:
                    raise DataError(path, lineno, 'expected "graph", "node" or "edge"', field="type")
            except KeyError as exc:
                raise DataError(path, lineno, f"missing field or unknown node id {exc.args[0]!r}") from None
    return graph


register_exporter("jsonl", write_jsonl, ".jsonl", "the graph as JSONL: header, node lines, edge lines (re-readable)")
