"""DeepKE's 2023 LLMICL commands (../shared/FORMATS.md section 3) still run with their own spellings: Hydra-style
`key=value` with the 2023 keys (`language=ch`, `engine=`, `api_key=`, `zero_shot=`, `labels=[...]`, the endpoint from
the environment as EasyInstruct had it) and ccks2023_convert.py's `--input_file --output_file --number --mode`."""

from __future__ import annotations

import json

from core.testing.fake_openai import FakeOpenAI


def test_run_py_key_value_commands_of_2023(h, tmp_path):
    answers = {"ner": '[{"E": "地名", "W": "多哈"}]', "rte": "[[\"李明\", \"出生地\", \"武汉\"]]"}
    with FakeOpenAI(lambda body: answers["rte" if "出生" in FakeOpenAI.prompt_of(body) else "ner"]) as fake:
        env = {"OPENAI_BASE_URL": fake.base_url, "KGLLM_CACHE_DIR": str(tmp_path / "cache")}
        ner = h.run_cli("task=ner", "language=ch", "engine=gpt-3.5-turbo", "api_key=sk-2023-style", "zero_shot=True",
                        "text_input=日本在多哈击败叙利亚。", "labels=['地名','人名']", "domain=sport",
                        env_extra={**env, "OPENAI_API_KEY": ""}, cwd=tmp_path)
        assert ner.returncode == 0, ner.stderr[-3000:]
        rte = h.run_cli("task=rte", "language=ch", "engine=gpt-3.5-turbo", "api_key=sk-2023-style",
                        "zero_shot=False", "text_input=李明出生于武汉。", env_extra={**env, "OPENAI_API_KEY": ""},
                        cwd=tmp_path)
        assert rte.returncode == 0, rte.stderr[-3000:]
        assert [b["model"] for b in fake.requests] == ["gpt-3.5-turbo", "gpt-3.5-turbo"]  # engine= is the model
        assert {hd.get("Authorization") or hd.get("authorization") for hd in fake.headers} == {"Bearer sk-2023-style"}
        assert "日本在多哈击败叙利亚。" in FakeOpenAI.prompt_of(fake.requests[0])
    assert "多哈" in ner.stdout and "武汉" in rte.stdout  # the answer is shown, as the 2023 run logged it
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and b"sk-2023-style" in p.read_bytes()]


def test_ccks2023_convert_train_and_test_modes_of_2023(h, tmp_path):
    demos = tmp_path / "valid_input.json"
    done = h.run_cli("--input_file", str(h.CASE / "data" / "ccks_train.json"), "--output_file", str(demos),
                     "--number", "3", "--mode", "train", script="ccks2023_convert.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(demos.read_text(encoding="utf-8"))) == 3
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"id": 0, "input": "甲位于乙。", "output": "(甲,位于,乙)"}, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    out = tmp_path / "kg.json"
    done = h.run_cli("--input_file", str(answers), "--output_file", str(out), "--mode", "test",
                     script="ccks2023_convert.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["kg"] == [["甲", "位于", "乙"]]
