"""The weak rules of entity resolution (both sides typed, one class): acronym, contained, fuzzy, each with its index.

    python -c "from core.extract.resolve import Mention, resolve; print(resolve([Mention('NASA', 'ORG'), Mention('National Aeronautics and Space Administration', 'ORG')]).canonical_of)"

Each rule is a function of the resolver (`core.extract.resolve_engine.Resolver`): it finds candidates through an index
(never every pair), adds what it compared to `r.compared`, and joins through `r.union` / `r._join_unique`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from core.extract import resolve_rules as R

_DIGITS = re.compile(r"\d+")


def acronym(r: Any) -> None:
    u, longs = r.u, defaultdict(list)
    shorts = [R.as_acronym(name) for name in u.name]
    for unit in range(len(u.name)):
        a = None if shorts[unit] else R.acronym_of(u.name[unit])
        if a and r._typed(unit):
            longs[a].append(unit)
    for unit, a in enumerate(shorts):
        if a and a in longs and unit not in r.attached and r._typed(unit):
            cands = [c for c in longs[a] if r._typed(c) & r._typed(unit)]
            r._join_unique(unit, cands, "acronym")


def contained(r: Any) -> None:
    u, by_doc = r.u, defaultdict(list)
    for unit in range(len(u.name)):
        if r._typed(unit):
            by_doc[u.doc[unit]].append(unit)
    for units in by_doc.values():
        if len(units) < 2:
            continue
        keys = defaultdict(list)
        for x in units:
            keys[u.title[x]].append(x)
        longs = defaultdict(set)  # short unit -> the longer names of the document it starts or ends
        for x in units:
            for part in _parts(u.title[x]):
                for short in keys.get(part, ()):
                    longs[short].add(x)
        for x, cands in longs.items():
            k = u.title[x]
            r.compared += len(cands)
            cands = [c for c in sorted(cands) if R.contained(k, u.title[c]) and r._typed(c) & r._typed(x)]
            if r._join_unique(x, cands, "contained", same_doc=False):
                r.attached.add(x)


def fuzzy(r: Any) -> None:
    from rapidfuzz.fuzz import ratio

    u, reps = r.u, {}
    for unit in range(len(u.name)):
        c, k = r._typed(unit), u.title[unit]
        if c and len(k) >= R.FUZZY_MIN_LENGTH and unit not in r.attached:
            ck = "\x1f".join(sorted(c))
            old = reps.get((ck, k))
            if old is None or (u.case[unit] == k and u.case[old] != k):
                reps[(ck, k)] = unit
    items = list(reps.items())
    for order in (lambda it: it[0], lambda it: (it[0][0], it[0][1][::-1])):
        items.sort(key=order)
        cls, names, units = [it[0][0] for it in items], [it[0][1] for it in items], [it[1] for it in items]
        for d in range(1, r.window + 1):  # each name against its d-th neighbour, all at once
            pairs = [i for i in range(len(items) - d) if cls[i] == cls[i + d]]
            r.compared += len(pairs)
            scores = _scores([names[i] for i in pairs], [names[i + d] for i in pairs], ratio, r.threshold)
            for i, score in zip(pairs, scores, strict=True):
                k, k2 = names[i], names[i + d]
                if score and _DIGITS.findall(k) == _DIGITS.findall(k2):
                    r.union(units[i], units[i + d], "fuzzy", round(float(score) / 100, 4))

def _scores(a: list[str], b: list[str], scorer: Callable, cutoff: float) -> Sequence[float]:
    """scorer(a[i], b[i]) for each i, 0 below `cutoff` (rapidfuzz's vectorised cpdist where it has one)."""
    from rapidfuzz import process

    if not a:
        return []
    if hasattr(process, "cpdist"):
        return process.cpdist(a, b, scorer=scorer, score_cutoff=cutoff).tolist()
    return [scorer(x, y, score_cutoff=cutoff) for x, y in zip(a, b, strict=True)]


def _parts(key: str) -> set[str]:
    """The whole-word starts and ends of a name (`ada`, `lovelace` of `ada lovelace`); for Chinese, the first and
    last 2+ characters (`清华`, `清华大`, `大学`, `华大学` of `清华大学`). What `contained` can match, as index keys."""
    if R.is_cjk(key):
        return {key[:i] for i in range(2, len(key))} | {key[-i:] for i in range(2, len(key))}
    words = key.split(" ")
    return {" ".join(words[:i]) for i in range(1, len(words))} | {" ".join(words[-i:]) for i in range(1, len(words))}
