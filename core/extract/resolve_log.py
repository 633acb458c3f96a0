"""From the resolver's union-find to clusters with canonical names, and the merge log that explains each node.

    python -c "from core.extract.resolve import Mention, resolve; print(resolve([Mention('Dr. Ada', 'PER'), Mention('Ada', 'PER')]).log[0]['merges'])"

Canonical name of a node: among its surface forms, the first by (has no honorific, is not the plural of another
form, never joined as the short side of a `stated` / `acronym` / `contained` rule, most mentions, longest, first
seen); a `rename` decision overrides it. Merge log lines (JSONL), each with a `kind`:

    {"kind": "merge", "canonical": "Ada Lovelace", "types": ["PER"], "aliases": ["Dr. Ada Lovelace"],
     "members": [{"name": "Dr. Ada Lovelace", "type": "PER", "mentions": 1, "provenance": [{"doc": ..., "surface":
     ..., "record": ..., ...}]}, ...],
     "merges": [{"a": "Ada Lovelace", "a_type": "PER", "b": "Dr. Ada Lovelace", "b_type": "PER", "rule": "title",
     "score": 1.0, "detail": null}, ...], "renamed": {"from": "...", "decision": "decisions.txt:3"}}
    {"kind": "apart", "name": "apple", "types": ["FRUIT", "ORG"], "rule": "type"}   same name, incompatible types
    {"kind": "refused", "a": ..., "b": ..., "rule": ..., "reason": "keep apart (decisions)"}
    {"kind": "stats", "mentions": ..., "units": ..., "pairs_compared": ..., "all_pairs": ..., ...}   (last line)

One `merge` line per node with two or more distinct (name, type) forms; `merges` lists every union that joined two
different forms, with its rule and score (1.0 for every rule but `fuzzy`, whose score is the ratio / 100).
Provenance lists at most 20 mentions per member (`mentions` counts all); the `text` of a provenance is left out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from core.extract import resolve_rules as R

MAX_PROVENANCE = 20


def _canonical(res: Any, units: list[int]) -> str:
    u = res.u
    if len(units) == 1:
        return u.name[units[0]]
    forms: dict[str, list] = {}
    titles = {u.title[x] for x in units}
    for x in units:
        f = forms.get(u.name[x])
        if f is None:
            sing = R.singular(u.title[x])
            plural = sing is not None and sing != u.title[x] and sing in titles
            f = forms[u.name[x]] = [u.title[x] != u.case[x], plural, False, 0, -len(u.name[x]), x]
        f[2] = f[2] or x in res.short
        f[3] -= len(u.members[x])
    return min(forms, key=lambda name: forms[name])


def _provenance(res: Any, mention: int) -> dict:
    m = res.mentions[mention]
    out = {"doc": m.doc, "surface": m.name, **(m.provenance or {})}
    out.pop("text", None)
    return out


def _members(res: Any, units: list[int]) -> list[dict]:
    u, forms = res.u, {}
    for x in units:
        entry = forms.setdefault((u.name[x], u.type[x]), {"name": u.name[x], "type": u.type[x], "mentions": 0,
                                                           "provenance": []})  # fmt: skip
        entry["mentions"] += len(u.members[x])
        room = MAX_PROVENANCE - len(entry["provenance"])
        entry["provenance"].extend(_provenance(res, i) for i in u.members[x][:room])
    return list(forms.values())


def build_resolution(res: Any, start: float) -> Any:
    import time

    from core.extract.resolve import Cluster, Resolution

    clock = time.perf_counter()
    u = res.u
    n = len(u.name)
    cluster_of_root: dict[int, int] = {}
    units_of: list[list[int]] = []
    for x in range(n):  # units are numbered in order of first mention, so clusters are too
        r = u.find(x)
        if r not in cluster_of_root:
            cluster_of_root[r] = len(units_of)
            units_of.append([])
        units_of[cluster_of_root[r]].append(x)
    clusters = []
    for units in units_of:
        name = _canonical(res, units)
        types = list(dict.fromkeys(u.type[x] for x in units if u.type[x]))
        forms = list(dict.fromkeys(u.name[x] for x in units))
        extra = [a for x in units for a in res.extra.get(x, ())]
        aliases = [a for a in dict.fromkeys(forms + extra) if a != name]
        mentions = sorted(i for x in units for i in u.members[x])
        clusters.append(Cluster(name, types, aliases, mentions))
    renamed = {}
    for where, ref, new in res.decisions.renames:
        for c in sorted({cluster_of_root[u.find(x)] for x in res._matching(ref, where)}):
            cl = clusters[c]
            renamed[c] = {"from": cl.name, "decision": where}
            cl.aliases = [a for a in dict.fromkeys([cl.name, *cl.aliases]) if a != new]
            cl.name = new
    cluster_of = [0] * len(res.mentions)
    for c, cl in enumerate(clusters):
        for i in cl.mentions:
            cluster_of[i] = c
    events = defaultdict(list)
    for a, b, rule, score, detail in res.events:
        events[cluster_of_root[u.find(a)]].append({"a": u.name[a], "a_type": u.type[a], "b": u.name[b],
                                                  "b_type": u.type[b], "rule": rule, "score": score,
                                                  "detail": detail})  # fmt: skip
    log: list[dict] = []
    for c, units in enumerate(units_of):
        if len({(u.name[x], u.type[x]) for x in units}) > 1 or c in renamed or len(clusters[c].aliases) > 0:
            cl = clusters[c]
            line = {"kind": "merge", "canonical": cl.name, "types": cl.types, "aliases": cl.aliases,
                    "members": _members(res, units), "merges": events.get(c, [])}  # fmt: skip
            if c in renamed:
                line["renamed"] = renamed[c]
            log.append(line)
    for name, types in res.apart.values():
        log.append({"kind": "apart", "name": name, "types": sorted(types), "rule": "type"})
    log.extend(res.refused)
    by_rule = Counter(e[2] for e in res.events)
    stats = {
        "mentions": len(res.mentions),
        "units": n,
        "clusters": len(clusters),
        "merged_clusters": sum(1 for line in log if line["kind"] == "merge"),
        "merges": len(res.events),
        "by_rule": dict(sorted(by_rule.items())),
        "pairs_compared": res.compared,
        "all_pairs": n * (n - 1) // 2,
        "ambiguous": len(res.ambiguous),
        "refused": len(res.refused),
        "decisions": len(res.decisions),
        "decisions_unmatched": res.unmatched,
        "seconds": 0.0,
        "seconds_by_step": {},
    }
    res.seconds["clusters and merge log"] = time.perf_counter() - clock
    stats["seconds"] = round(time.perf_counter() - start, 3)
    stats["seconds_by_step"] = {k: round(v, 3) for k, v in res.seconds.items()}
    log.append({"kind": "stats", **stats})
    return Resolution(cluster_of, clusters, log, stats)
