"""Build one knowledge graph from parsed records: nodes, edges with provenance and counts, summary statistics.

    python -c "from core.kg import build_graph; print(build_graph(['tests/data/kg/records.jsonl']).summary()['edges'])"

Normalisation (on by default, `normalize=False` switches it off): width folding and whitespace collapsing of every
name, type and relation, as core.kg.names describes. `casefold=True` also case-folds names and relations (off by
default); the node keeps the first spelling seen and lists the others as `aliases`. Identical (head, relation, tail)
after normalisation are one edge: `count` is the number of distinct (input file, record id, run, model) that state
it, each listed in the edge's `provenance` (with the triple's `grounding` when the record gives one, see
core.kg.evidence). Lone surrogates (possible in JSON, impossible in UTF-8 files) become U+FFFD.

`resolve=True` (or a `decisions` file): one node per entity that `core.extract.resolve` finds (core.kg.resolved).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.io import DataError, iter_records
from core.kg.evidence import doc_of, groundings
from core.kg.names import no_surrogates, normalize_name
from core.kg.readers import FAILED_STATUSES, Where, read_record

MAX_LISTED = 50  # isolated nodes listed in the summary (all are counted)


@dataclass
class Node:
    id: str
    name: str
    types: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # other surface forms of the entity


@dataclass
class Edge:
    id: str
    head: int  # index into Graph.nodes
    relation: str
    tail: int
    provenance: list[dict] = field(default_factory=list)
    count: int = 0


@dataclass
class Graph:
    """Nodes and edges (edges refer to nodes by index); `meta` keeps how it was built and what was skipped."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def keys(self) -> list[str]:
        """One unique key per node for formats that identify nodes by name (RDF IRIs, Cypher MERGE): the name, or
        for homonyms (one name, several nodes) `name (type|type)` (then ` #2`, ` #3` ... while still taken)."""
        counts = Counter(n.name for n in self.nodes)
        taken = {n.name for n in self.nodes if counts[n.name] == 1}
        keys = []
        for n in self.nodes:
            key = n.name
            if counts[n.name] > 1:
                key = base = f"{n.name} ({'|'.join(n.types) or 'untyped'})"
                k = 1
                while key in taken:
                    k += 1
                    key = f"{base} #{k}"
                taken.add(key)
            keys.append(key)
        return keys

    def degrees(self) -> list[int]:
        deg = [0] * len(self.nodes)
        for e in self.edges:
            deg[e.head] += 1
            deg[e.tail] += 1
        return deg

    def summary(self, top: int = 10) -> dict[str, Any]:
        """Counts of nodes/edges/records, the relation histogram, isolated nodes and the top-degree entities."""
        deg = self.degrees()
        relations = Counter(e.relation for e in self.edges)
        isolated = [n.name for n, d in zip(self.nodes, deg, strict=True) if d == 0]
        order = sorted(range(len(self.nodes)), key=lambda i: (-deg[i], i))[:top]
        m = self.meta
        return {
            "nodes": len(self.nodes),
            "edges": len(self.edges),
            "mentions": sum(e.count for e in self.edges),
            "records": m.get("records", 0),
            "records_used": m.get("records_used", 0),
            "records_failed": m.get("records_failed", 0),
            "records_negative": m.get("records_negative", 0),
            "records_without_triples": m.get("records_without_triples", 0),
            "failed": m.get("failed", []),
            "invalid_triples": m.get("invalid_triples", 0),
            "invalid": m.get("invalid", []),
            "shapes": m.get("shapes", {}),
            "relations": dict(sorted(relations.items(), key=lambda kv: (-kv[1], kv[0]))),
            "isolated_nodes": len(isolated),
            "isolated": isolated[:MAX_LISTED],
            "top_degree": [[self.nodes[i].name, deg[i]] for i in order if deg[i] > 0],
            "normalize": m.get("normalize", True),
            "casefold": m.get("casefold", False),
            "inputs": m.get("inputs", []),
            "resolution": m.get("resolution"),
        }


class GraphBuilder:
    """Adds records one at a time; `build_graph` drives it over files."""

    def __init__(self, normalize: bool = True, casefold: bool = False):
        self.normalize, self.casefold = normalize, casefold
        self._doc: str | None = None  # the document and provenance of the record being added
        self._prov: dict | None = None
        self.graph = Graph(meta={"normalize": normalize, "casefold": casefold, "inputs": []})
        self._node_index: dict[str, int] = {}
        self._edge_index: dict[tuple[int, str, int], int] = {}
        self._seen: set[tuple] = set()
        self._counts: Counter = Counter()
        self._shapes: Counter = Counter()
        self._failed: list[dict] = []
        self._invalid: list[dict] = []
        self._names: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        self._types: dict[str, str] = {}

    def _key(self, text: str) -> str:
        """Normalised (+ case-folded) form, memoised: names repeat across records."""
        key = self._keys.get(text)
        if key is None:
            key = self._keys[text] = no_surrogates(normalize_name(text, self.normalize, self.casefold))
        return key

    def _type(self, text: str) -> str:
        key = self._types.get(text)
        if key is None:
            key = self._types[text] = no_surrogates(normalize_name(text, self.normalize))
        return key

    def node(self, name: str, type_: str | None = None) -> int | None:
        key = self._key(name)
        idx = self._node_index.get(key)
        if idx is None:
            if not key.strip():
                return None
            idx = self._node_index[key] = len(self.graph.nodes)
            self.graph.nodes.append(Node(f"n{idx}", self._shown(name)))
        elif self.casefold:
            shown, node = self._shown(name), self.graph.nodes[idx]
            if shown != node.name and shown not in node.aliases:
                node.aliases.append(shown)
        if type_:
            t = self._type(type_)
            types = self.graph.nodes[idx].types
            if t and t not in types:
                types.append(t)
        return idx

    def _shown(self, name: str) -> str:
        return no_surrogates(normalize_name(name, self.normalize) if self.normalize else name)

    def add(self, rec: Any, path: str, line: int | None, run: str | None = None, model: str | None = None) -> None:
        """Add one record read from `path` at `line`; `run`/`model` label its provenance (else its own fields)."""
        shape, read = read_record(rec, Where(path, line))
        self._shapes[shape] += 1
        self._counts["records"] += 1
        fname = self._names.get(path) or self._names.setdefault(path, Path(path).name)
        rec_id = no_surrogates(str(rec["id"])) if rec.get("id") is not None else f"{fname}:{line}"
        if (read.status or "").strip().lower() in FAILED_STATUSES:
            self._counts["records_failed"] += 1
            self._failed.append({"file": fname, "line": line, "id": rec_id, "status": read.status})
            return
        self._counts["records_used"] += 1
        self._counts["records_negative"] += read.negative
        self._counts["records_without_triples"] += not read.mentions
        run = run if run is not None else _opt_str(rec.get("run"))
        model = model if model is not None else _opt_str(rec.get("model"))
        prov = {"record": rec_id, "file": fname, "line": line}
        for k, v in (("text", read.text), ("run", run), ("model", model)):
            if v is not None:
                prov[k] = no_surrogates(v)
        self._doc, self._prov = doc_of(rec, rec_id), prov
        grounded = groundings(rec, shape, len(read.mentions))
        for name, type_ in read.entities:
            self.node(name, type_)
        for i, m in enumerate(read.mentions):
            head, tail = self.node(m.head, m.head_type), self.node(m.tail, m.tail_type)
            relation = self._key(m.relation)
            if head is None or tail is None or not relation.strip():
                self._counts["invalid_triples"] += 1
                self._invalid.append({"file": fname, "line": line, "id": rec_id, "triple": i})
                continue
            this = {**prov, "grounding": grounded[i]} if grounded and grounded[i] else prov
            self.edge(head, relation, tail, this, (path, rec_id, run, model))

    def edge(self, head: int, relation: str, tail: int, prov: dict, source: tuple) -> None:
        """One statement of (head, relation, tail) by `source` (path, record id, run, model): counted once per source."""
        ekey = (head, relation, tail)
        eidx = self._edge_index.get(ekey)
        if eidx is None:
            eidx = self._edge_index[ekey] = len(self.graph.edges)
            self.graph.edges.append(Edge(f"e{eidx}", head, relation, tail))
        seen = (eidx, *source)
        if seen not in self._seen:
            self._seen.add(seen)
            edge = self.graph.edges[eidx]
            edge.provenance.append(prov)
            edge.count += 1

    def finish(self) -> Graph:
        meta = self.graph.meta
        for key in ("records", "records_used", "records_failed", "records_negative", "records_without_triples"):
            meta[key] = self._counts[key]
        meta["invalid_triples"] = self._counts["invalid_triples"]
        meta["failed"] = self._failed
        meta["invalid"] = self._invalid
        meta["shapes"] = dict(self._shapes)
        return self.graph


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _labels(value: str | Sequence[str] | None, n: int, flag: str) -> list[str | None]:
    if value is None or isinstance(value, str):
        return [value] * n
    values = [str(v) for v in value]
    if len(values) != n:
        raise DataError(flag, None, f"--{flag} gives {len(values)} labels for {n} input files")
    return values


def split_paths(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """Input paths from a list, or one string holding several separated by commas (`a.jsonl,b.jsonl`)."""
    if isinstance(paths, (str, os.PathLike, int, float)):
        text = str(paths)
        if not Path(text).exists() and "," in text:
            return [p.strip() for p in text.strip("[]").split(",") if p.strip()]
        return [text]
    return [str(p) for p in paths]


def build_graph(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    run: str | Sequence[str] | None = None,
    model: str | Sequence[str] | None = None,
    normalize: bool = True,
    casefold: bool = False,
    progress: bool | None = None,
    resolve: bool = False,
    decisions: str | os.PathLike | None = None,
    merge_log: str | os.PathLike | None = None,
) -> Graph:
    """One graph from one or more JSONL/JSON record files; `run`/`model` label provenance (one label or one per file).

    `resolve` (implied by `decisions`): one node per resolved entity (core.extract.resolve); `merge_log`: write the
    merge log there (JSONL)."""
    from tqdm import tqdm

    files = split_paths(paths)
    if not files:
        raise DataError("--input", None, "no input files given")
    runs, models = _labels(run, len(files), "run"), _labels(model, len(files), "model")
    resolving = bool(resolve) or decisions not in (None, "")
    if merge_log not in (None, "") and not resolving:
        raise UserError("--merge_log needs entity resolution: add --resolve")
    builder = GraphBuilder(normalize=normalize, casefold=casefold)
    if resolving:
        from core.kg.resolved import ResolvingBuilder

        builder = ResolvingBuilder(normalize=normalize, casefold=casefold, decisions=decisions)
    for path, r, m in zip(files, runs, models, strict=True):
        builder.graph.meta["inputs"].append(str(path))
        disable = None if progress is None else not progress
        for line, rec in tqdm(iter_records(path), desc=f"kg build {Path(path).name}", unit=" rec", disable=disable):
            builder.add(rec, path, line, r, m)
    graph = builder.finish()
    if merge_log not in (None, ""):
        builder.resolution.write_log(merge_log)
    return graph
