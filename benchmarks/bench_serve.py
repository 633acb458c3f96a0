"""Throughput of core.serve: 16 concurrent clients vs the same requests one at a time.

    python benchmarks/bench_serve.py

The server (`python -m core.serve` on the toy LLaMA, max batch 16) runs in its own process on 127.0.0.1, as it would
for real; the clients are the real openai client, 64 completion requests of different lengths, greedy, 32 new
tokens each. Both runs must get the same answers. One torch thread in the server (see bench_generate.py). Target >= 4x.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N, CLIENTS, NEW_TOKENS, TARGET = 64, 16, 32, 4.0
WORDS = "the river rises on the plateau and flows east through the city where the author wrote his novel".split()


def prompts() -> list[str]:
    return [f"Extract triples: {' '.join(WORDS[: 4 + (i * 7) % len(WORDS)])} ({i})" for i in range(N)]


def measure(client, model: str, clients: int) -> tuple[float, list[str]]:
    def ask(prompt: str) -> str:
        r = client.completions.create(model=model, prompt=prompt, max_tokens=NEW_TOKENS, temperature=0)
        return r.choices[0].text

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(ask, prompts()))
    return time.perf_counter() - start, answers


def main() -> None:
    from openai import OpenAI

    from core.toy import build

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": os.environ.get("BENCH_THREADS", "1")}
    server = subprocess.Popen([sys.executable, "-m", "core.serve", "--base_model", str(build("llama")), "--port", "0",
                               "--model_name", "toy", "--max_batch_size", str(CLIENTS), "--log_level", "warning"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith("serving"):
            raise SystemExit(f"error: the server did not start (exit {server.wait(30)})")
        base_url = line.split(" at ", 1)[1].split()[0]
        client = OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=120)
        _wait_until_up(client)
        measure(client, "toy", CLIENTS)  # warm-up: connections, first batches
        one, sequential = measure(client, "toy", 1)
        many, concurrent = measure(client, "toy", CLIENTS)
    finally:
        server.terminate()
        server.wait(30)
    same = sum(a == b for a, b in zip(sequential, concurrent, strict=True))
    assert same == N, f"concurrent answers differ from one-at-a-time for {N - same} of {N} requests"
    print(f"bench_serve: core.serve on toy llama, {N} completion requests, {NEW_TOKENS} new tokens each, max batch "
          f"{CLIENTS}")
    print(f"bench_serve: one at a time: {one:.2f} s, {N / one:.1f} req/s")
    ratio = one / many
    verdict = "ok" if ratio >= TARGET else "BELOW TARGET"
    print(f"bench_serve: {CLIENTS} concurrent clients: {many:.2f} s, {N / many:.1f} req/s; same answers {same}/{N}; "
          f"RATIO {ratio:.1f}x vs one at a time (target >= {TARGET:g}x: {verdict})")


def _wait_until_up(client, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.models.list()
            return
        except Exception:  # noqa: BLE001 - not listening yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


if __name__ == "__main__":
    main()
