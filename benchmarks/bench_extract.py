"""kgllm extract: run time against corpus size (1x, 4x, 16x documents), and chunking + grounding of 10 MB of text.

    python benchmarks/bench_extract.py

1. The sample corpus (examples/corpus: 5 documents, English and Chinese) copied 1, 4 and 16 times, each run end to
   end (read, chunk, ask, parse, ground, resolve, graph, exports) against the gold oracle (core.extract.oracle) in
   its own process on 127.0.0.1, answering each request after a fixed 50 ms, 8 requests in flight. The backend is
   made once, so a run's time is the pipeline's. Linear time: seconds per document stays flat; the ratio of the 16x
   run's time to 16 times the 1x run's is printed (target <= 1.25: nothing grows faster than the corpus).
2. 10 MB of text (the sample documents repeated, 100 documents of 100 kB) chunked with the token estimate (1200-token
   chunks, 100 overlap), and every gold fact grounded in every chunk holding its evidence, one in ten spelt the way a
   model might (upper case: normalised; a letter changed: fuzzy). Target: under 30 s here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.extract import extract  # noqa: E402
from core.extract.chunking import chunk_document  # noqa: E402
from core.extract.grounding import ground_pair  # noqa: E402
from core.extract.oracle import load_facts  # noqa: E402
from core.extract.readers import read_inputs  # noqa: E402
from core.llm import LLMConfig, create_backend  # noqa: E402

CORPUS = ROOT / "examples" / "corpus"
DELAY, CONCURRENCY, SCALES, LINEAR_TARGET = 0.05, 8, (1, 4, 16), 1.25
CHUNK, OVERLAP = 200, 40  # tokens: a few chunks per sample document
MEGABYTES, DOCS, TIME_TARGET = 10, 100, 30.0


def copies(folder: Path, times: int) -> Path:
    """`times` copies of every sample document under folder/<times>x/{en,zh}/copy<k>/."""
    out = folder / f"{times}x"
    for k in range(times):
        for sub in ("en", "zh"):
            shutil.copytree(CORPUS / sub, out / sub / f"copy{k}")
    return out


def extraction_times(tmp: Path, base_url: str) -> dict[int, tuple[float, int, int]]:
    cfg = LLMConfig(backend="openai", base_url=base_url, model="oracle", no_cache=True, concurrency=CONCURRENCY)
    out = {}
    with create_backend(cfg) as backend:
        backend.complete(["warm-up"])
        for schema, sub in (("schema.en.json", "en"), ("schema.zh.json", "zh")):  # warm-up: imports, first calls
            extract([CORPUS / sub], CORPUS / schema, tmp / f"warm-{sub}", backend=backend, quiet=True,
                    chunk_tokens=CHUNK, overlap_tokens=OVERLAP)
        for times in SCALES:
            docs = copies(tmp / "docs", times)
            start = time.perf_counter()
            requests = documents = 0
            for schema, sub in (("schema.en.json", "en"), ("schema.zh.json", "zh")):
                report = extract(docs / sub, CORPUS / schema, tmp / f"run{times}-{sub}", backend=backend, quiet=True,
                                 chunk_tokens=CHUNK, overlap_tokens=OVERLAP)
                requests += report["requests"]
                documents += report["documents"]
            out[times] = (time.perf_counter() - start, requests, documents)
    return out


def ten_megabytes() -> list[str]:
    texts = [d.text for sub in ("en", "zh") for d in read_inputs([CORPUS / sub], quiet=True)[0]]
    block = "\n\n".join(texts)
    per_doc = MEGABYTES * 1_000_000 // DOCS
    doc = (block + "\n\n") * (per_doc // len((block + "\n\n").encode("utf-8")) + 1)
    while len(doc.encode("utf-8")) > per_doc:
        doc = doc[: int(len(doc) * per_doc / len(doc.encode("utf-8")))]
    return [doc] * DOCS


def chunk_and_ground() -> tuple[float, float, float, int, int, dict]:
    docs = ten_megabytes()
    size = sum(len(d.encode("utf-8")) for d in docs)
    facts = load_facts(CORPUS / "gold.json")
    cpu, start = time.process_time(), time.perf_counter()
    chunked = [chunk_document(d, 1200, 100, document=f"d{i}") for i, d in enumerate(docs)]
    chunk_seconds = time.perf_counter() - start
    start, grounded, statuses = time.perf_counter(), 0, {}
    for chunks, sentences in chunked:
        starts = [s for s, _ in sentences]
        for chunk in chunks:
            local = [s - chunk.start for s in starts[chunk.sentences[0]:chunk.sentences[1]]]
            for f in facts:
                if f["evidence"] not in chunk.text:
                    continue
                head, tail = f["head"], f["tail"]
                if grounded % 10 == 3:
                    head = head.upper()
                elif grounded % 10 == 7 and len(tail) > 8:
                    tail = tail[:4] + "x" + tail[5:]
                g = ground_pair(head, tail, chunk.text, chunk.start, sentence_starts=local)
                for side in ("head_grounding", "tail_grounding"):
                    statuses[g[side]] = statuses.get(g[side], 0) + 1
                grounded += 1
    return chunk_seconds, time.perf_counter() - start, time.process_time() - cpu, size, grounded, statuses


def main() -> None:
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-dummy")
    server = subprocess.Popen([sys.executable, "-m", "core.extract.oracle", "--gold", str(CORPUS / "gold.json"),
                               "--delay", str(DELAY)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().split()[2]
        with tempfile.TemporaryDirectory() as tmp:
            times = extraction_times(Path(tmp), base_url)
    finally:
        server.terminate()
        server.wait(10)
    one = times[1][0]
    for times_x, (seconds, requests, documents) in times.items():
        print(f"bench_extract: {times_x:>2}x: {documents} documents, {requests} requests in {seconds:.2f} s "
              f"({seconds / documents * 1000:.0f} ms per document; {seconds / one:.2f}x the 1x time)")
    ratio = times[16][0] / (16 * one)
    verdict = "ok" if ratio <= LINEAR_TARGET else "ABOVE TARGET"
    print(f"bench_extract: linear time: RATIO {ratio:.2f} = time(16x) / (16 * time(1x)) (server {DELAY * 1000:.0f} ms "
          f"per answer, {CONCURRENCY} in flight; target <= {LINEAR_TARGET}: {verdict})")
    chunk_s, ground_s, cpu_s, size, grounded, statuses = chunk_and_ground()
    total = chunk_s + ground_s
    verdict = "ok" if total < TIME_TARGET else "ABOVE TARGET"
    print(f"bench_extract: {size / 1e6:.1f} MB: chunking {chunk_s:.1f} s, grounding {grounded} facts {ground_s:.1f} s "
          f"({statuses}); total {total:.1f} s wall, {cpu_s:.1f} s CPU (target < {TIME_TARGET:g} s: {verdict})")


if __name__ == "__main__":
    main()
