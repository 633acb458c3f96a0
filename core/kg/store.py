"""An embedded, persistent graph store (pyoxigraph: RDF + SPARQL 1.1, on disk, no server) and its query table.

    python -m core.kg load --input tests/data/kg/records.jsonl --store /tmp/kg/store
    python -m core.kg query --store /tmp/kg/store "SELECT ?h ?r ?t WHERE { ?s rdf:subject/rdfs:label ?h ; rdf:predicate/rdfs:label ?r ; rdf:object/rdfs:label ?t }"

The graph goes in as the N-Triples of `export --format nt` (same IRIs, same reification of provenance). The base IRI
is remembered in the store (in the named graph <urn:kgllm:meta>, which default-graph queries do not see), so `query`
can offer the prefixes `kg:` (vocabulary), `ent:` (entities), `rel:` (relations), `type:` (types) plus `rdf:`, `rdfs:`,
`xsd:`, `skos:` without the user declaring them; a query that declares a prefix itself keeps its own.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.kg.export_rdf import RDF, RDFS, SKOS, XSD, check_base_iri, write_nt
from core.kg.graph import Graph

META_GRAPH = "urn:kgllm:meta"
META_STORE, META_BASE = "urn:kgllm:store", "urn:kgllm:baseIri"
FORMATS = ("table", "csv", "json")


def _ox():
    try:
        import pyoxigraph
    except ImportError:  # pragma: no cover - the graph extra is a declared dependency
        raise UserError("pyoxigraph is not installed: pip install 'kgllm[graph]'") from None
    return pyoxigraph


def load_store(graph: Graph, store_dir: str | Path, base_iri: str | None = None, replace: bool = False) -> int:
    """Add the graph to the store at `store_dir` (created if missing); `replace` empties it first. Returns #triples."""
    ox = _ox()
    base = check_base_iri(base_iri)
    store_dir = Path(store_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    try:
        store = ox.Store(str(store_dir))
    except OSError as exc:
        raise UserError(f"cannot open the store {store_dir}: {exc}") from None
    if replace:
        store.clear()
    old = _base_of(store)
    if old is not None and old != base and not replace:
        raise UserError(f"the store {store_dir} holds a graph with --base_iri {old}; use that one or --replace")
    fd, tmp = tempfile.mkstemp(prefix=".kg-load-", suffix=".nt", dir=store_dir.parent)
    os.close(fd)
    try:
        write_nt(graph, Path(tmp), base_iri=base)
        with open(tmp, "rb") as fh:
            n = sum(1 for _ in fh)
        store.bulk_load(path=tmp, format=ox.RdfFormat.N_TRIPLES)
    finally:
        os.unlink(tmp)
    meta = ox.Quad(ox.NamedNode(META_STORE), ox.NamedNode(META_BASE), ox.Literal(base), ox.NamedNode(META_GRAPH))
    store.add(meta)
    store.flush()
    return n


def _base_of(store: Any) -> str | None:
    ox = _ox()
    quads = store.quads_for_pattern(ox.NamedNode(META_STORE), ox.NamedNode(META_BASE), None, ox.NamedNode(META_GRAPH))
    for q in quads:
        return q.object.value
    return None


def prefixes(base: str | None) -> dict[str, str]:
    out = {"rdf": RDF, "rdfs": RDFS, "xsd": XSD, "skos": SKOS}
    if base:
        out.update({"kg": base + "vocab#", "ent": base + "entity/", "rel": base + "relation/", "type": base + "type/"})
    return out


def with_prefixes(sparql: str, base: str | None) -> str:
    """The query with PREFIX lines added for the usual prefixes it uses but does not declare."""
    declared = {m.lower() for m in re.findall(r"(?i)\bPREFIX\s+([A-Za-z][\w.-]*)?:", sparql)}
    lines = [f"PREFIX {p}: <{iri}>" for p, iri in prefixes(base).items() if p.lower() not in declared]
    return "\n".join([*lines, sparql])


def run_query(store_dir: str | Path, sparql: str) -> tuple[list[str], list[list[Any]]] | bool | list[tuple]:
    """SELECT -> (variables, rows of terms); ASK -> bool; CONSTRUCT/DESCRIBE -> list of (s, p, o) terms."""
    ox = _ox()
    store_dir = Path(store_dir)
    if not store_dir.is_dir():
        raise UserError(f"no store at {store_dir}: run `python -m core.kg load --input ... --store {store_dir}` first")
    try:
        store = ox.Store.read_only(str(store_dir))
    except OSError as exc:
        raise UserError(f"cannot open the store {store_dir}: {exc}") from None
    full = with_prefixes(sparql, _base_of(store))
    added = full.count("\n") - sparql.count("\n")
    try:
        result = store.query(full)
    except SyntaxError as exc:
        msg = re.sub(r"(\d+):(\d+)", lambda m: f"{int(m.group(1)) - added}:{m.group(2)}", str(exc).splitlines()[0], count=1)
        raise UserError(f"SPARQL syntax error: {msg}") from None
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    if isinstance(result, ox.QuerySolutions):
        names = [v.value for v in result.variables]
        return names, [[sol[n] for n in names] for sol in result]
    return [(t.subject, t.predicate, t.object) for t in result]


def term_text(term: Any) -> str:
    """A plain-text cell: literals by value, IRIs as <iri>, blank nodes as _:id, unbound as empty."""
    ox = _ox()
    if term is None:
        return ""
    if isinstance(term, ox.Literal):
        return term.value
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return str(term)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1 for ch in text)


def format_table(names: list[str], rows: list[list[str]]) -> str:
    """An aligned text table; line breaks and tabs inside cells are shown as \\n and \\t so each row is one line."""
    cells = [[c.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") for c in r]
             for r in rows]  # fmt: skip
    widths = [max([_width(n)] + [_width(r[i]) for r in cells]) for i, n in enumerate(names)]

    def line(values: list[str]) -> str:
        return " | ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [line(names), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def render_result(result: Any, fmt: str = "table") -> str:
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if isinstance(result, bool):
        return json.dumps(result) if fmt == "json" else str(result).lower()
    if isinstance(result, tuple):
        names, rows = result
    else:
        names, rows = ["subject", "predicate", "object"], [list(t) for t in result]
    text_rows = [[term_text(t) for t in row] for row in rows]
    if fmt == "json":
        return json.dumps([dict(zip(names, r, strict=True)) for r in text_rows], ensure_ascii=False, indent=1)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(text_rows)
        return buf.getvalue().rstrip("\n")
    return format_table(names, text_rows)
