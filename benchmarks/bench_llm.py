"""Throughput of the OpenAI backend: concurrency 16 vs 1 against a loopback server that answers after 50 ms.

    python benchmarks/bench_llm.py

Same N prompts each time, through the real openai client and run_prompts (cache off, fresh raw file). The server is
core.testing.fake_openai on 127.0.0.1, in its own process (as a real server would be: it does not share the client's
GIL); with a fixed 50 ms per answer the ideal ratio is 16x. Target >= 12x.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.llm import LLMConfig, create_backend, run_prompts  # noqa: E402

DELAY, N, CONCURRENCY, TARGET = 0.05, 160, 16, 12.0


def measure(base_url: str, concurrency: int, folder: Path) -> float:
    cfg = LLMConfig(backend="openai", base_url=base_url, model="fake", no_cache=True, concurrency=concurrency)
    with create_backend(cfg) as backend:
        backend.complete(["warm-up"])  # open a connection, import everything
        items = [(i, f"prompt {i}") for i in range(N)]
        start = time.perf_counter()
        results = run_prompts(backend, items, folder / f"raw-c{concurrency}.jsonl", desc=f"concurrency {concurrency}")
        seconds = time.perf_counter() - start
    assert all(results[i][0].text == f"echo: prompt {i}" for i in range(N)), "wrong answers"
    return seconds


def main() -> None:
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-dummy")
    server = subprocess.Popen([sys.executable, "-m", "core.testing.fake_openai", "--delay", str(DELAY)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().split()[2]
        with tempfile.TemporaryDirectory() as tmp:
            one = measure(base_url, 1, Path(tmp))
            many = measure(base_url, CONCURRENCY, Path(tmp))
    finally:
        server.terminate()
        server.wait(10)
    print(f"bench_llm: concurrency 1: {N} requests in {one:.2f} s ({N / one:.1f} req/s), server delay {DELAY * 1000:.0f} ms")
    ratio = one / many
    verdict = "ok" if ratio >= TARGET else "BELOW TARGET"
    print(f"bench_llm: concurrency {CONCURRENCY}: {N} requests in {many:.2f} s ({N / many:.1f} req/s); "
          f"RATIO {ratio:.1f}x vs concurrency 1 (target >= {TARGET:g}x: {verdict})")


if __name__ == "__main__":
    main()
