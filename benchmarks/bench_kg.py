"""Build and export a knowledge graph of 100k triples; the target is under 30 s for build + every export format.

    python benchmarks/bench_kg.py

Input: 50,000 synthetic records (2 triples each, 1% failed, names in Latin and Chinese script drawn from 40,000
entities and 60 relations, so some facts repeat and merge), written as JSONL to a temp folder. Baseline measured in
the same run: reading the same file with `json.loads` per line (the floor for any build). One line per measurement:
wall seconds (CPU seconds of this process beside it: on a shared machine wall time includes waiting for a core),
ratio to the baseline, ratio to the 30 s target. `load` (the pyoxigraph store) and `build --resolve` (entity
resolution of the 200k mentions, off by default in build; benchmarks/bench_resolve.py has its own target) are
reported apart.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.kg import build_graph, export, formats  # noqa: E402
from core.kg.store import load_store  # noqa: E402

N_RECORDS, TRIPLES_PER_RECORD, TARGET_S = 50_000, 2, 30.0


def make_records(path: Path, seed: int = 0) -> int:
    rng = random.Random(seed)
    syll = ["ka", "lo", "mi", "ren", "to", "sa", "vi", "an", "el", "or"]
    han = "北京上海大学河山明月光华中文人民天地"
    names = []
    for i in range(40_000):
        if i % 4 == 0:
            names.append("".join(rng.choice(han) for _ in range(3)) + str(i))
        else:
            names.append(" ".join("".join(rng.choice(syll) for _ in range(3)).title() for _ in range(2)) + f" {i}")
    relations = [f"relation {i}" for i in range(60)]
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for r in range(N_RECORDS):
            triples = []
            for _ in range(TRIPLES_PER_RECORD):
                h, t = rng.choice(names), rng.choice(names)
                triples.append({"head": h, "relation": rng.choice(relations), "tail": t})
            text = f"{triples[0]['head']} and {triples[0]['tail']} appear in sentence {r}, with {triples[1]['tail']}."
            status = "failed" if r % 100 == 0 else "ok"
            n += TRIPLES_PER_RECORD if status == "ok" else 0
            fh.write(json.dumps({"id": r, "text": text, "triples": triples, "status": status}, ensure_ascii=False))
            fh.write("\n")
    return n


def timed(fn):
    """(wall seconds, CPU seconds of this process, result)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - start, time.process_time() - cpu, out


def report(name: str, wall: float, cpu: float, baseline: float) -> None:
    print(
        f"{name:<36} {wall:6.2f} s (cpu {cpu:5.2f} s)  ratio to baseline {wall / baseline:5.1f}  "
        f"ratio to 30 s {wall / TARGET_S:.3f}"
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "records.jsonl"
        n_triples = make_records(src)
        base, base_cpu, _ = timed(lambda: [json.loads(ln) for ln in src.read_text(encoding="utf-8").splitlines()])
        print(f"input: {N_RECORDS} records, {n_triples} triples (1% of records failed, skipped)")
        report("baseline json.loads", base, base_cpu, base)
        wall, cpu, graph = timed(lambda: build_graph([src], run="bench", progress=False))
        report(f"build ({len(graph.nodes)} nodes, {len(graph.edges)} edges)", wall, cpu, base)
        total, total_cpu = wall, cpu
        for fmt in formats():
            out = tmp / ("neo4j" if fmt == "csv" else f"graph.{fmt}")
            wall, cpu, _ = timed(lambda fmt=fmt, out=out: export(graph, fmt, out))
            total, total_cpu = total + wall, total_cpu + cpu
            report(f"export {fmt}", wall, cpu, base)
        report("TOTAL build + all 7 exports", total, total_cpu, base)
        wall, cpu, n = timed(lambda: load_store(graph, tmp / "store"))
        report(f"load store ({n} RDF triples)", wall, cpu, base)
        wall, cpu, resolved = timed(lambda: build_graph([src], run="bench", progress=False, resolve=True))
        report(f"build --resolve ({len(resolved.nodes)} nodes)", wall, cpu, base)
        verdict = "PASS" if total < TARGET_S else "SLOWER THAN TARGET"
        print(f"{verdict}: build + every export of {n_triples} triples: {total:.2f} s wall, {total_cpu:.2f} s CPU "
              f"(target < {TARGET_S:.0f} s; ratio {total / TARGET_S:.3f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
