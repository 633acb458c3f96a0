"""The gold graph `core.kg eval` scores against: entities with their aliases and types, and edges.

    python -c "from core.kg.gold import read_gold; print(len(read_gold('tests/data/resolve/gold.jsonl').entities))"

Format (JSONL, or a JSON array of the same objects), one entity or one edge per line:

    {"entity": "International Business Machines", "aliases": ["IBM"], "type": "ORG", "id": "ibm"}
    {"head": "IBM", "relation": "founded in", "tail": "Armonk"}
    {"head_id": "apple-fruit", "relation": "grows on", "tail": "tree", "tail_type": "PLANT"}

- entity: `entity` (the name), optional `aliases` (list), `type` (or `types`, a list), `id` (needed only to tell
  homonyms apart: two entities may share a name when their types differ or their ids are given).
- edge: `relation`, and each end either `head_id` / `tail_id` or `head` / `tail`: a name or alias of one listed
  entity (`head_type` / `tail_type` pick among homonyms). A name that no entity carries makes a new entity
  (no alias, the given type), so a gold of edges only is fine. An ambiguous name is an error naming file and line.
- Names, aliases and relations are compared after core.kg normalisation (width folding, whitespace).
A graph file written by `core.kg build` (e.g. a reviewed one) is also accepted: its nodes (with aliases) and edges.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from core.extract.resolve_rules import type_class
from core.io import DataError, iter_records
from core.kg.names import normalize_name


@dataclass
class GoldEntity:
    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return {c for c in map(type_class, self.types) if c}


@dataclass
class Gold:
    entities: list[GoldEntity] = field(default_factory=list)
    edges: list[tuple[int, str, int]] = field(default_factory=list)  # (entity index, relation, entity index), a set


def _strings(rec: dict, key: str, path, line) -> list[str]:
    value = rec.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DataError(path, line, "expected a string or a list of non-empty strings", field=key)
    return [normalize_name(v) for v in value]


class _Builder:
    def __init__(self, path: str | os.PathLike):
        self.path, self.gold = path, Gold()
        self.by_id: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = {}
        self.seen: set[tuple[int, str, int]] = set()

    def entity(self, name: str, aliases: list[str], types: list[str], id_: str | None, line: int | None) -> int:
        idx = len(self.gold.entities)
        id_ = id_ if id_ is not None else f"{name} ({'|'.join(types)})" if types else name
        if id_ in self.by_id:
            raise DataError(self.path, line, f"entity {id_!r} is listed twice (give each homonym an id or a type)")
        self.by_id[id_] = idx
        ent = GoldEntity(id_, name, [a for a in dict.fromkeys(aliases) if a != name], types)
        self.gold.entities.append(ent)
        for n in (name, *ent.aliases):
            self.by_name.setdefault(n, []).append(idx)
        return idx

    def ref(self, rec: dict, end: str, line: int | None) -> int:
        ident = rec.get(f"{end}_id")
        if ident is not None:
            if str(ident) not in self.by_id:
                raise DataError(self.path, line, f"no entity with id {ident!r}", field=f"{end}_id")
            return self.by_id[str(ident)]
        name = rec.get(end)
        if not isinstance(name, str) or not name.strip():
            raise DataError(self.path, line, "missing (a name, or give an id)", field=end)
        name = normalize_name(name)
        types = _strings(rec, f"{end}_type", self.path, line)
        cls = {c for c in map(type_class, types) if c}
        hits = [i for i in self.by_name.get(name, []) if not cls or not self.gold.entities[i].classes
                or cls & self.gold.entities[i].classes]  # fmt: skip
        if len(hits) > 1:
            raise DataError(self.path, line, f"{name!r} names {len(hits)} entities: give {end}_id or {end}_type",
                            field=end)  # fmt: skip
        return hits[0] if hits else self.entity(name, [], types, None, line)

    def edge(self, rec: dict, line: int | None) -> None:
        relation = rec.get("relation")
        if not isinstance(relation, str) or not relation.strip():
            raise DataError(self.path, line, "missing", field="relation")
        key = (self.ref(rec, "head", line), normalize_name(relation), self.ref(rec, "tail", line))
        if key not in self.seen:
            self.seen.add(key)
            self.gold.edges.append(key)


def read_gold(path: str | os.PathLike) -> Gold:
    from core.kg.export_jsonl import is_graph_file, read_graph

    b = _Builder(path)
    if is_graph_file(path):
        graph = read_graph(path)
        index = [b.entity(n.name, n.aliases, n.types, n.id, None) for n in graph.nodes]
        for e in graph.edges:
            key = (index[e.head], e.relation, index[e.tail])
            if key not in b.seen:
                b.seen.add(key)
                b.gold.edges.append(key)
        return b.gold
    records = list(iter_records(path))
    for line, rec in records:  # entities first, so an edge may name an entity listed below it
        if not isinstance(rec, dict):
            raise DataError(path, line, "expected a JSON object (an entity or an edge)")
        if "entity" in rec:
            name = rec["entity"]
            if not isinstance(name, str) or not name.strip():
                raise DataError(path, line, "expected a non-empty string", field="entity")
            types = _strings(rec, "type", path, line) + _strings(rec, "types", path, line)
            ident = rec.get("id")
            b.entity(normalize_name(name), _strings(rec, "aliases", path, line), types,
                     None if ident is None else str(ident), line)  # fmt: skip
        elif "relation" not in rec:
            raise DataError(path, line, 'expected an entity ({"entity": ...}) or an edge ({"head", "relation", "tail"})')
    for line, rec in records:
        if "entity" not in rec:
            b.edge(rec, line)
    return b.gold
