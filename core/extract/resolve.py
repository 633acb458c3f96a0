"""Entity resolution: which mentions name the same entity. Rule-based, type-aware, blocked, auditable; no model.

    python -c "from core.extract.resolve import Mention, resolve; print(resolve([Mention('IBM', 'ORG'), Mention('I.B.M.', 'ORG')]).canonical_of)"

    from core.extract.resolve import Mention, resolve
    res = resolve([Mention("Dr. Ada Lovelace", "PER", "doc1", {"record": "doc1#0"}), ...], decisions="decisions.txt")
    res.cluster_of[i], res.canonical_of[i]      # mention i -> its node (index into res.clusters) and node name
    res.clusters[c].name, .types, .aliases, .mentions
    res.write_log("merges.jsonl")               # the merge log (JSONL)

Rules, in the order they run (a union is refused when it would put two incompatible type classes, or two names a
`keep apart` decision separates, in one node). Strong rules also join mentions without a type; weak rules need both
sides typed and of one class ("no type -> merged only by stronger evidence"):

    decision   merge lines of the decisions file (forced: types are not checked)                         [forced]
    case/title the two rules below, first inside each document                                             [strong]
    stated     the document says so: `北京大学（简称北大）`, `International Business Machines (IBM)`,   [strong]
               `Acme Corp (hereinafter "Acme")`, `IBM (short for ...)`, `X, also known as Y`
    contained  `Lovelace` -> `Ada Lovelace`, `清华` -> `清华大学`, in the same document                      [weak]
    exact      the same name after core.kg normalisation (width, whitespace)                              [strong]
    case       the same name after case folding                                                           [strong]
    title      the same name without honorifics (`Dr.`, `Prof.`, `Sir`, `先生`, `教授`, ...)             [strong]
    acronym    `NASA` = initials of `National Aeronautics and Space Administration`                         [weak]
    plural     `computers` / `computer` (last English word)                                                  [weak]
    fuzzy      rapidfuzz ratio >= 90 on case-folded, title-stripped names of 5+ characters, digits equal      [weak]

A mention without a type joins a same-name typed node only when that name has one type class, or when its own
document holds exactly one of the classes; otherwise it stays apart (homonyms are never guessed). A short form joined
inside its document (stated, contained) is *attached*: the cross-document rules join other mentions to its node only
when every attached mention of that name is in one node, and never through it join two nodes (`Curie` of Marie's
document and `Curie` of Pierre's). Blocking: exact, case, title and plural are hash buckets; stated looks only inside
each mention's own sentence; acronym and contained look up an index; fuzzy compares each name with its `window`
neighbours in two sort orders (sorted-neighbourhood), so the work grows as n log n, not n^2
(`stats["pairs_compared"]` vs `stats["all_pairs"]`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.extract import resolve_rules as R
from core.extract.resolve_decisions import Decisions, read_decisions
from core.extract.resolve_engine import RULES, Resolver

__all__ = ["RULES", "Cluster", "Mention", "Resolution", "resolve"]


@dataclass(frozen=True)
class Mention:
    """One mention of an entity: its name as written, type (None when unknown), document id and provenance.

    `provenance` is kept verbatim in the merge log (minus `text`); its `text` (the sentence or chunk the mention came
    from) is where the `stated` rule looks for `X (简称Y)`-like statements."""

    name: str
    type: str | None = None
    doc: str | None = None
    provenance: dict | None = None


@dataclass
class Cluster:
    """One resolved entity (one graph node): its canonical name, types, other surface forms, member mentions."""

    name: str
    types: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    mentions: list[int] = field(default_factory=list)


@dataclass
class Resolution:
    cluster_of: list[int]  # mention index -> index into clusters
    clusters: list[Cluster]
    log: list[dict]  # the merge log, one dict per line (see docs/kg.md)
    stats: dict[str, Any]

    @property
    def canonical_of(self) -> list[str]:
        """Mention index -> the canonical name of its node (homonyms share a name: use cluster_of to tell them)."""
        return [self.clusters[c].name for c in self.cluster_of]

    def write_log(self, path: str | os.PathLike) -> Path:
        from core.io import write_jsonl

        return write_jsonl(path, self.log)


def resolve(
    mentions: Sequence[Mention],
    decisions: Decisions | str | os.PathLike | None = None,
    *,
    rules: Sequence[str] = RULES,
    fuzzy_threshold: float = R.FUZZY_THRESHOLD,
    window: int = 4,
) -> Resolution:
    """Cluster `mentions` into entities; `decisions` (a Decisions or a decisions file) overrides the rules."""
    import gc

    from core.extract.resolve_log import build_resolution

    start = time.perf_counter()
    if decisions is not None and not isinstance(decisions, Decisions):
        decisions = read_decisions(decisions)
    enabled = gc.isenabled()
    gc.disable()  # many small objects, no cycles: the cyclic collector would only rescan them again and again
    try:
        res = Resolver(mentions, decisions, fuzzy_threshold, window)
        res.seconds["mentions to units"] = time.perf_counter() - start
        res.run(rules)
        return build_resolution(res, start)
    finally:
        if enabled:
            gc.enable()
