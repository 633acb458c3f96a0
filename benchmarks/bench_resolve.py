"""Resolve 100,000 entity mentions; the target is under 30 s, with blocking instead of comparing every pair.

    python benchmarks/bench_resolve.py

Input: 100,000 synthetic mentions of 20,000 entities (persons, organisations, places, products; Latin and Chinese
names; 5% homonyms: one name, two types) spread over 5,000 documents of 20 mentions, written with the variants the
rules exist for: case, honorifics, acronyms, plurals, one-letter typos, a surname alone in the document of the full
name, a Chinese short form stated in the document (`X（简称Y）`), full-width letters, no type. Baseline measured in the
same run: grouping the same mentions by exact name (the floor: what GraphRAG-style builders do). Printed: wall and
CPU seconds, ratio to the baseline and to the 30 s target, the pairs the resolver compared against all pairs of
distinct (name, type, document) units, and how the result compares with the entities the mentions were made from
(entities split over several nodes, nodes that join several entities).
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.extract.resolve import Mention, resolve  # noqa: E402
from core.kg.names import normalize_name  # noqa: E402

N_MENTIONS, N_ENTITIES, PER_DOC, TARGET_S = 100_000, 20_000, 20, 30.0
SYLL = ("ka lo mi ren to sa vi an el or du bex qua zin pol tre ga hu ne ri so ta be ci fa go ju ke la mo nu pe "
        "ro su ve wa xi yo ze").split()
HAN = "北京上海广州深圳南通华东西中文明德信诚安康泰和平光辉天地江河湖山海云龙凤金银玉石春夏秋冬新古长远高远博雅正清源"
TYPES = ["PER", "ORG", "LOC", "PRODUCT"]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLL) for _ in range(rng.randint(2, 3))).title()


def make_entities(rng: random.Random) -> list[tuple[str, str, str | None]]:
    """(name, type, stated short form or None) per entity."""
    out, seen = [], set()
    while len(out) < N_ENTITIES:
        t = TYPES[len(out) % 4]
        short = None
        if len(out) % 10 == 9:  # Chinese names, some with a stated short form
            name = "".join(rng.choice(HAN) for _ in range(4)) + rng.choice(["大学", "公司", "集团", "研究院"])
            short = name[0] + name[2] if t == "ORG" else None
        elif t == "ORG":
            name = " ".join(word(rng) for _ in range(3))
        elif t == "PRODUCT":
            name = f"{word(rng)} {word(rng).lower()}"
        else:
            name = f"{word(rng)} {word(rng)}"
        if (name, t) in seen:
            continue
        seen.add((name, t))
        out.append((name, t, short))
        if len(out) % 20 == 0 and len(out) < N_ENTITIES:  # a homonym: the same name with another type
            t2 = TYPES[(TYPES.index(t) + 1) % 4]
            seen.add((name, t2))
            out.append((name, t2, None))
    return out


def variant(rng: random.Random, name: str, t: str, short: str | None) -> str:
    r = rng.random()
    if r < 0.55 or short is not None and r < 0.7:
        return short if short is not None and r >= 0.55 else name
    if r < 0.62:
        return name.upper() if name.isascii() else name
    if r < 0.69 and t == "PER":
        return "Dr. " + name
    if r < 0.76 and t == "ORG" and name.isascii():
        return "".join(w[0] for w in name.split()).upper()
    if r < 0.83 and t == "PRODUCT":
        return name + "s"
    if r < 0.88 and len(name) > 8 and name.isascii():
        i = rng.choice([j for j in range(2, len(name) - 1) if name[j].isalpha()])
        return name[:i] + ("x" if name[i] != "x" else "y") + name[i + 1 :]  # one-letter typo
    if r < 0.92:
        return name.translate({c: c + 0xFEE0 for c in range(0x41, 0x5B)})  # full-width capitals
    return name


def make_mentions(seed: int = 0) -> tuple[list[Mention], list[int]]:
    rng = random.Random(seed)
    entities = make_entities(rng)
    mentions, truth = [], []
    for d in range(N_MENTIONS // PER_DOC):
        doc, picked = f"doc{d}", [rng.randrange(len(entities)) for _ in range(PER_DOC // 2)]
        text = "; ".join(f"{n}（简称{s}）" if s else n for n, _, s in (entities[e] for e in picked))
        for e in picked:
            name, t, short = entities[e]
            for _ in range(2):
                form = variant(rng, name, t, short)
                typ = None if rng.random() < 0.05 else t
                if t == "PER" and form == name and rng.random() < 0.2:
                    form = name.split()[-1]  # the surname alone, in the document of the full name
                mentions.append(Mention(form, typ, doc, {"text": text, "record": doc}))
                truth.append(e)
    return mentions[:N_MENTIONS], truth[:N_MENTIONS]


def quality(res, truth: list[int]) -> tuple[int, int, int]:
    nodes_of, ents_of = defaultdict(set), defaultdict(set)
    for i, c in enumerate(res.cluster_of):
        nodes_of[truth[i]].add(c)
        ents_of[c].add(truth[i])
    split = sum(1 for s in nodes_of.values() if len(s) > 1)
    over = sum(1 for s in ents_of.values() if len(s) > 1)
    return len(nodes_of), split, over


def main() -> int:
    mentions, truth = make_mentions()
    start, cpu = time.perf_counter(), time.process_time()
    groups: dict[str, list[int]] = defaultdict(list)
    for i, m in enumerate(mentions):
        groups[normalize_name(m.name)].append(i)
    base, base_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    res = resolve(mentions)
    wall, wall_cpu = time.perf_counter() - start, time.process_time() - cpu
    s = res.stats
    n_ent, split, over = quality(res, truth)
    print(f"input: {len(mentions)} mentions of {n_ent} entities in {N_MENTIONS // PER_DOC} documents")
    print(f"baseline exact-name grouping      {base:6.2f} s (cpu {base_cpu:5.2f} s)  {len(groups)} groups")
    print(f"resolve (all rules)               {wall:6.2f} s (cpu {wall_cpu:5.2f} s)  ratio to baseline "
          f"{wall / base:5.1f}  ratio to 30 s {wall / TARGET_S:.3f}")  # fmt: skip
    print(f"units {s['units']}, nodes {s['clusters']}, merges {s['merges']} {s['by_rule']}")
    print("seconds by step: " + ", ".join(f"{k} {v:.2f}" for k, v in s["seconds_by_step"].items()))
    share = s["pairs_compared"] / s["all_pairs"] if s["all_pairs"] else 0.0
    print(f"pairs compared {s['pairs_compared']:,} of {s['all_pairs']:,} unit pairs: share {share:.2e}")
    print(f"against the generating entities: {split} of {n_ent} entities split over several nodes, "
          f"{over} of {s['clusters']} nodes join several entities, {s['ambiguous']} mentions left alone as ambiguous")
    verdict = "PASS" if wall < TARGET_S else "SLOWER THAN TARGET"
    print(f"{verdict}: {len(mentions)} mentions resolved in {wall:.2f} s wall (target < {TARGET_S:.0f} s; "
          f"ratio {wall / TARGET_S:.3f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
