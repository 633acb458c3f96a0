"""Building a graph with entity resolution: every mention is kept until the end, resolved, then nodes and edges made.

    python -m core.kg build --input tests/data/resolve/records.jsonl --output /tmp/kg/resolved.jsonl --resolve --merge_log /tmp/kg/merges.jsonl

Same reading, counting, provenance and edge rules as `GraphBuilder`; only what a node is differs: instead of one node
per normalised name, one node per entity that `core.extract.resolve` finds (mentions are (name, type, document,
provenance); the document is the record's `doc_id`, else `doc`, else its id). A node's `types` are its mentions'
types, its `aliases` the other surface forms; `graph.meta["resolution"]` keeps the resolver's counts. Resolution
always normalises names (width, whitespace: its first rule), `--no_normalize` or not; the merge log keeps each
mention's surface form as written.
"""

from __future__ import annotations

import os
from typing import Any

from core.extract.resolve import Mention, resolve
from core.extract.resolve_decisions import read_decisions
from core.kg.graph import Graph, GraphBuilder, Node
from core.kg.names import no_surrogates


class ResolvingBuilder(GraphBuilder):
    def __init__(self, normalize: bool = True, casefold: bool = False, decisions: str | os.PathLike | None = None,
                 **resolve_opts: Any):  # fmt: skip
        super().__init__(normalize=normalize, casefold=casefold)
        self.decisions = read_decisions(decisions) if decisions not in (None, "") else None
        self.decisions_path = None if decisions in (None, "") else str(decisions)
        self.resolve_opts = resolve_opts
        self._mentions: list[Mention] = []
        self._statements: list[tuple[int, str, int, dict, tuple]] = []

    def node(self, name: str, type_: str | None = None) -> int | None:
        """A mention (its index), not yet a node."""
        if not self._key(name).strip():
            return None
        self._mentions.append(Mention(no_surrogates(name), self._type(type_) if type_ else None, self._doc, self._prov))
        return len(self._mentions) - 1

    def edge(self, head: int, relation: str, tail: int, prov: dict, source: tuple) -> None:
        self._statements.append((head, relation, tail, prov, source))

    def finish(self) -> Graph:
        self.resolution = res = resolve(self._mentions, self.decisions, **self.resolve_opts)
        self.graph.nodes = [Node(f"n{c}", cl.name, list(cl.types), list(cl.aliases)) for c, cl in
                            enumerate(res.clusters)]  # fmt: skip
        cluster_of = res.cluster_of
        for head, relation, tail, prov, source in self._statements:
            super().edge(cluster_of[head], relation, cluster_of[tail], prov, source)
        stats = {k: v for k, v in res.stats.items() if not k.startswith("seconds")}  # the graph file stays reproducible
        self.graph.meta["resolution"] = {"decisions_file": self.decisions_path, **stats}
        return super().finish()

