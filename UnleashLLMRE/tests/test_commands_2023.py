"""DeepKE's 2023 UnleashLLMRE commands (../shared/FORMATS.md section 4) still run with their own spellings: gpt3ICL.py
`-ak -tp -ttp -os -on --prompt --k` and gpt3DA.py `-ak -dp --output_dir --dataset --k`, the endpoint from the
environment (the 2023 scripts had none), temperature 0 / 1 and max_tokens 128 / 3500 as they were fixed then."""

import json
import os
import subprocess
import sys
from pathlib import Path

from core.testing.fake_openai import FakeOpenAI

CASE = Path(__file__).resolve().parents[1]
DATA = CASE / "data"


def run(script, args, fake, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(OPENAI_BASE_URL=fake.base_url, HF_HUB_OFFLINE="1", KGLLM_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, str(CASE / script), *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_gpt3icl_and_gpt3da_with_the_2023_flags(tmp_path):
    test = tmp_path / "test.json"
    test.write_text(json.dumps(json.loads((DATA / "test.json").read_text(encoding="utf-8"))[:2]), encoding="utf-8")
    with FakeOpenAI(lambda body: "no relation") as fake:
        proc = run("gpt3ICL.py", ["-ak", "sk-2023-style", "-tp", DATA / "train.json", "-ttp", test, "-os", "out",
                                  "-on", "nores", "--prompt", "text", "--k", 1], fake, tmp_path)
        icl = list(fake.requests)
        run("gpt3DA.py", ["-ak", "sk-2023-style", "-dp", DATA / "train.json", "--output_dir", "da", "--dataset",
                          "tacred", "--k", 3], fake, tmp_path)
        da = fake.requests[len(icl):]
        assert {h.get("Authorization") or h.get("authorization") for h in fake.headers} == {"Bearer sk-2023-style"}
    assert len(icl) == 2 and {(b["temperature"], b["max_tokens"]) for b in icl} == {(0.0, 128)}
    assert da and {(b["temperature"], b["max_tokens"]) for b in da} == {(1.0, 3500)}
    assert "deprecated" in proc.stderr  # -ak still works, with a warning
    rows = [json.loads(line) for line in (tmp_path / "out" / "os.json").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2 and all("pr" in r for r in rows)
    assert "micro_f1" in json.loads(proc.stdout.strip().splitlines()[-1])
    assert (tmp_path / "da" / "generated.json").exists() and (tmp_path / "da" / "da_report.json").exists()
