"""Knowledge graphs from parsed records: build, export (jsonl csv cypher ttl nt graphml html), load, query.

    python -m core.kg build --input tests/data/kg/records.jsonl --output /tmp/kg/graph.jsonl

Python API (what `nox -s demo` calls)::

    from core.kg import build_graph, export
    graph = build_graph(["preds.jsonl"], run="demo", model="toy-llama")
    print(graph.summary())
    export(graph, "html", "out/graph.html")
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from core.kg.exporters import export, formats, register_exporter
from core.kg.graph import Edge, Graph, Node, build_graph, split_paths
from core.kg.names import normalize_name
from core.kg.readers import register_shape

__all__ = [
    "Edge",
    "Graph",
    "Node",
    "build_graph",
    "export",
    "formats",
    "normalize_name",
    "open_graph",
    "read_graph",
    "register_exporter",
    "register_shape",
]


def read_graph(path: str | os.PathLike) -> Graph:
    """A graph written by `build --output` / `export --format jsonl`."""
    from core.kg.export_jsonl import read_graph as _read

    return _read(path)


def open_graph(paths: str | os.PathLike | Iterable[str | os.PathLike], **build_opts: Any) -> Graph:
    """One graph file (as written by `build`) is read back; anything else is built from records with `build_opts`."""
    from core.kg.export_jsonl import is_graph_file

    files = split_paths(paths)
    graph_files = [f for f in files if is_graph_file(f)]
    if graph_files and len(files) == 1:
        return read_graph(files[0])
    if graph_files:
        from core.io import DataError

        raise DataError(graph_files[0], 1, "a built graph file cannot be mixed with record files; give the records")
    return build_graph(files, **build_opts)
