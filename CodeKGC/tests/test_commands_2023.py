"""DeepKE's 2023 CodeKGC command (../shared/FORMATS.md section 2) still runs: `python codekgc.py` from the case
folder, every setting from its config.json with the 2023 keys and values (schema_path, ICL_path, example_path,
openai_key, engine text-davinci-003, temperature 0.5, max_tokens 512, n 1), the endpoint from the environment."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.testing.fake_openai import FakeOpenAI

CASE = Path(__file__).resolve().parents[1]
ROOT = CASE.parent
CONFIG_2023 = {"schema_path": "data/schema_prompt", "ICL_path": "data/ICL_prompt", "example_path": "data/example.json",
               "openai_key": "", "engine": "text-davinci-003", "temperature": 0.5, "max_tokens": 512, "n": 1}
ANSWER = ("extract = Extract([Triple(person('Nadia Fontaine'), Rel('Work for'), organization('Veridian Health')),"
          "\n                   Triple(location('Rennes'), Rel('Located in'), location('France')),])")


def test_python_codekgc_py_with_the_2023_config_json(tmp_path):
    folder = tmp_path / "CodeKGC"  # a copy of the case folder, so the run writes nothing into the repository
    folder.mkdir()
    shutil.copy(CASE / "codekgc.py", folder)
    shutil.copytree(CASE / "data", folder / "data")
    (folder / "config.json").write_text(json.dumps(CONFIG_2023, indent=4), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    with FakeOpenAI(lambda body: ANSWER, models=("text-davinci-003",)) as fake:
        env.update(OPENAI_API_KEY="sk-dummy", OPENAI_BASE_URL=fake.base_url, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1",
                   KGLLM_CACHE_DIR=str(tmp_path / "cache"))
        proc = subprocess.run([sys.executable, "codekgc.py"], capture_output=True, text=True, env=env, cwd=folder,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        [body] = [b for b in fake.requests]
    assert (body["model"], body["temperature"], body["max_tokens"], body.get("n", 1)) == ("text-davinci-003", 0.5, 512, 1)
    example = json.loads((CASE / "data" / "example.json").read_text(encoding="utf-8"))
    expected = (f"{(CASE / 'data' / 'schema_prompt').read_text()}\n{(CASE / 'data' / 'ICL_prompt').read_text()}\n"
                f"\"\"\" {example['text']} \"\"\"\n")
    assert FakeOpenAI.prompt_of(body).endswith(expected)  # DeepKE's 2023 prompt: schema, examples, quoted text
    [row] = [json.loads(line) for line in (folder / "output" / "pred.jsonl").read_text(encoding="utf-8").splitlines()]
    assert row["status"] == "ok" and len(row["triples"]) == 2
    assert json.loads((folder / "output" / "pred.metrics.json").read_text())["micro"]["f1"] == 1.0
