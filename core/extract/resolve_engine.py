"""The resolver's engine: mentions grouped into units, a union-find that refuses type and keep-apart conflicts,
the decisions, the bucket rules (exact, case, title, plural), the stated rule, and the order rules run in.

    python -c "from core.extract.resolve_engine import RULES; print(RULES)"

`core.extract.resolve` is the API and says what each rule does; the weak rules live in `resolve_weak`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from core.extract import resolve_rules as R
from core.extract import resolve_weak as W
from core.extract.resolve_decisions import Decisions, Ref
from core.kg.names import normalize_name

RULES = ("stated", "contained", "exact", "case", "title", "acronym", "plural", "fuzzy")  # in the order they run
STRONG = frozenset({"decision", "exact", "case", "title", "stated"})


class _Units:
    """Mentions grouped by (normalised name, type, document): the items the rules compare, with a union-find."""

    def __init__(self, mentions: Sequence[Any]):
        index: dict[tuple, int] = {}
        self.name, self.type, self.cls, self.doc, self.members = [], [], [], [], []
        self.unit_of: list[int] = []
        norm: dict[str, str] = {}
        for i, m in enumerate(mentions):
            name = norm.get(m.name)
            if name is None:
                name = norm[m.name] = normalize_name(m.name)
            typ = (norm.get(m.type) or norm.setdefault(m.type, normalize_name(m.type))) if m.type else None
            key = (name, typ, m.doc)
            u = index.get(key)
            if u is None:
                u = index[key] = len(self.name)
                self.name.append(name)
                self.type.append(typ)
                self.cls.append(R.type_class(typ))
                self.doc.append(m.doc)
                self.members.append([])
            self.members[u].append(i)
            self.unit_of.append(u)
        n = len(self.name)
        self.case = [s.casefold() for s in self.name]
        self.title = [R.strip_titles(s) for s in self.case]
        self.parent = list(range(n))
        self.classes: list[frozenset] = [frozenset([c]) if c else frozenset() for c in self.cls]
        self.tags: list[frozenset] = [frozenset()] * n

    def find(self, u: int) -> int:
        parent = self.parent
        while parent[u] != u:  # path halving
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u


class Resolver:
    def __init__(self, mentions: Sequence[Any], decisions: Decisions | None, threshold: float, window: int):
        self.mentions, self.u = mentions, _Units(mentions)
        self.decisions, self.threshold, self.window = decisions or Decisions(), threshold, window
        self.events: list[tuple[int, int, str, float, str | None]] = []
        self.refused: list[dict] = []
        self.apart: dict[str, tuple[str, set]] = {}
        self.short: set[int] = set()  # units that joined as the short side (acronym, contained, stated)
        self.attached: set[int] = set()  # short forms joined inside their document (stated, contained)
        self.extra: dict[int, list[str]] = defaultdict(list)  # unit -> stated names no mention carries
        self.compared = 0
        self.ambiguous: set[int] = set()  # units a rule could join to two or more nodes (left alone)
        self.unmatched: list[str] = []
        self.seconds: dict[str, float] = {}

    def union(self, a: int, b: int, rule: str, score: float = 1.0, detail: str | None = None, force=False) -> bool:
        u = self.u
        ra, rb = u.find(a), u.find(b)
        if ra == rb:
            return False
        ca, cb = u.classes[ra], u.classes[rb]
        if not force:
            if ca and cb and not ca & cb:
                return False
            if u.tags[ra] and u.tags[rb] and _conflict(u.tags[ra], u.tags[rb]):
                entry = {"kind": "refused", "a": u.name[a], "b": u.name[b], "rule": rule,
                         "reason": "keep apart (decisions)"}  # fmt: skip
                if len(self.refused) < 1000 and entry not in self.refused:
                    self.refused.append(entry)
                return False
        if rb < ra:
            ra, rb = rb, ra
        u.parent[rb] = ra
        if ca != cb:
            u.classes[ra] = ca | cb
        if u.tags[rb]:
            u.tags[ra] = u.tags[ra] | u.tags[rb]
        if (u.name[a], u.type[a]) != (u.name[b], u.type[b]):
            self.events.append((a, b, rule, score, detail))
        return True

    # ---- decisions -------------------------------------------------------------------------------------------
    def _matching(self, ref: Ref, where: str) -> list[int]:
        key, cls = normalize_name(ref.name).casefold(), R.type_class(ref.type)
        hits = [i for i in self._by_case.get(key, []) if ref.type is None or self.u.cls[i] == cls]
        if not hits:
            self.unmatched.append(f"{where}: no mention named {ref}")
        return hits

    def apply_decisions(self) -> None:
        for i, (where, refs) in enumerate(self.decisions.apart):
            for j, ref in enumerate(refs):
                for unit in self._matching(ref, where):
                    self.u.tags[unit] = self.u.tags[unit] | {(i, j)}
        for where, refs in self.decisions.merges:
            units = [unit for ref in refs for unit in self._matching(ref, where)]
            for unit in units[1:]:
                self.union(units[0], unit, "decision", 1.0, where, force=True)

    # ---- bucket rules ------------------------------------------------------------------------------------------
    def bucket(self, rule: str, keys: Sequence[str | None]) -> None:
        u, strong = self.u, rule in STRONG
        buckets: dict[str, list[int]] = {}
        for unit, k in enumerate(keys):
            if k:
                b = buckets.get(k)
                if b is None:
                    buckets[k] = [unit]
                else:
                    b.append(unit)
        find = u.find
        for units in buckets.values():
            if len(units) < 2:
                continue
            first = find(units[0])
            if all(find(x) == first for x in units):
                continue  # one node already
            self.compared += len(units) - 1
            anchored = [x for x in units if x in self.attached]
            if anchored:
                units = [x for x in units if x not in self.attached]
            typed: dict[frozenset, list[int]] = {}
            untyped: list[int] = []
            for unit in units:
                c = u.classes[u.find(unit)]
                if c:
                    typed.setdefault(c, []).append(unit)
                elif strong:
                    untyped.append(unit)
            for us in typed.values():
                for unit in us[1:]:
                    self.union(us[0], unit, rule)
            if len(typed) > 1 and rule in ("exact", "case"):
                entry = self.apart.setdefault(u.case[units[0]], (u.name[units[0]], set()))
                entry[1].update(u.type[x] for us in typed.values() for x in us if u.type[x])
            if anchored:
                self._to_anchors(rule, typed, untyped, anchored)
            if not untyped:
                continue
            if len(typed) <= 1:
                target = next(iter(typed.values()))[0] if typed else untyped[0]
                for unit in untyped:
                    self.union(target, unit, rule)
                continue
            docs = {c: {u.doc[x] for x in us} for c, us in typed.items()}
            rest = []
            for unit in untyped:
                hits = [c for c, ds in docs.items() if u.doc[unit] in ds]
                if len(hits) == 1:
                    self.union(typed[hits[0]][0], unit, rule, 1.0, "the type of this name in the same document")
                else:
                    rest.append(unit)
            self.ambiguous.update(rest)
            for unit in rest[1:]:
                self.union(rest[0], unit, rule)

    def _to_anchors(self, rule: str, typed: dict, untyped: list[int], anchored: list[int]) -> None:
        """Join the bucket's free nodes to the node of its anchored units (short forms a document already gave a
        full name), only where that node is unique for their class: `Curie` of Marie's document and `Curie` of
        Pierre's never join Marie and Pierre, and a third `Curie` elsewhere joins neither."""
        u = self.u
        roots: dict[int, int] = {}
        for x in anchored:
            roots.setdefault(u.find(x), x)
        for c, us in typed.items():
            hits = [x for r, x in roots.items() if u.classes[r] & c]
            if len(hits) == 1:
                self.union(hits[0], us[0], rule)
            elif hits:
                self.ambiguous.add(us[0])
        if not typed and untyped:
            if len(roots) == 1:
                target = next(iter(roots.values()))
                for unit in untyped:
                    self.union(target, unit, rule)
                untyped.clear()
            else:
                self.ambiguous.update(untyped)

    # ---- stated ----------------------------------------------------------------------------------------------
    def stated(self) -> None:
        u, seen, texts = self.u, set(), {}
        by_doc_case: dict[tuple, list[int]] = defaultdict(list)
        for unit in range(len(u.name)):
            by_doc_case[(u.doc[unit], u.case[unit])].append(unit)
        for unit in range(len(u.name)):
            for i in u.members[unit]:
                text = (self.mentions[i].provenance or {}).get("text")
                if not isinstance(text, str) or (unit, text) in seen or len(u.name[unit]) < 2:
                    continue
                seen.add((unit, text))
                norm = texts.get(text)
                if norm is None:
                    norm = texts[text] = normalize_name(text)
                for full, short, how in R.stated_aliases(u.name[unit], norm):
                    other = short if full == u.name[unit] else full
                    cands = by_doc_case.get((u.doc[unit], other.casefold())) or self._global(unit, other.casefold())
                    self.compared += len(cands)
                    for c in cands:
                        short_unit = c if other == short else unit
                        if self.union(unit, c, "stated", 1.0, f"{how} in {u.doc[unit]}"):
                            self.short.add(short_unit)
                            self.attached.add(short_unit)
                    if not cands and other.casefold() not in self._by_case:
                        self.extra[unit].append(other)

    def _global(self, unit: int, key: str) -> list[int]:
        """Units named `key` in other documents that the statement can safely reach: of the unit's class."""
        cands = [c for c in self._by_case.get(key, []) if c not in self.attached]
        mine = self.u.classes[self.u.find(unit)]
        classes = {self.u.classes[self.u.find(c)] for c in cands}
        if mine:
            return [c for c in cands if self.u.classes[self.u.find(c)] & mine]
        return cands if len(classes) == 1 else []

    def _typed(self, unit: int) -> frozenset:
        return self.u.classes[self.u.find(unit)]

    def _join_unique(self, unit: int, cands: list[int], rule: str, same_doc: bool = True) -> bool:
        """Join `unit` (the short form) to the candidates' node when they make exactly one node (same document
        first); several nodes -> ambiguous, nothing joined."""
        if same_doc:
            self.compared += len(cands)
            local = [c for c in cands if self.u.doc[c] == self.u.doc[unit]]
            cands = local or cands
        roots = {self.u.find(c) for c in cands}
        if len(roots) == 1 and self.u.find(unit) not in roots:
            if self.union(cands[0], unit, rule):
                self.short.add(unit)
                return True
        elif len(roots) > 1:
            self.ambiguous.add(unit)
        return False

    def run(self, rules: Iterable[str]) -> None:
        u = self.u
        self._by_case: dict[str, list[int]] = defaultdict(list)
        for unit, k in enumerate(u.case):
            self._by_case[k].append(unit)
        unknown = [r for r in rules if r not in RULES]
        if unknown:
            raise ValueError(f"unknown resolution rule {unknown[0]!r}; known: {', '.join(RULES)}")
        clock = time.perf_counter()
        self.apply_decisions()
        for rule, key in (("case", u.case), ("title", u.title)):  # inside each document first
            if rule in rules:
                self.bucket(rule, list(zip(u.doc, key, strict=True)))
        self.seconds["decisions, in-document case and title"] = time.perf_counter() - clock
        keys = {"exact": lambda: u.name, "case": lambda: u.case, "title": lambda: u.title,
                "plural": lambda: [None if x in self.attached else R.singular(k) for x, k in enumerate(u.title)]}
        for rule in RULES:
            if rule not in rules:
                continue
            clock = time.perf_counter()
            if rule in keys:
                self.bucket(rule, keys[rule]())
            elif rule == "stated":
                self.stated()
            else:
                getattr(W, rule)(self)  # acronym, contained, fuzzy
            self.seconds[rule] = time.perf_counter() - clock


def _conflict(a: frozenset, b: frozenset) -> bool:
    """Do two tag sets hold different names of one keep-apart decision?"""
    return any(i == i2 and j != j2 for i, j in a for i2, j2 in b)
