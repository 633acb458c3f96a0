"""CCKS2023 by ICL: the converter (seed flags, seed crashes fixed) and an RTE run that InstructKGC/evaluate.py scores."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.testing.fake_openai import FakeOpenAI


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_train_mode_writes_the_first_number_records_as_rte_demos(h, tmp_path):
    out = tmp_path / "rte_cn.json"
    done = h.run_cli("--input_file", "LLMICL/data/ccks_train.json", "--output_file", str(out), "--number", "3",
                     script="ccks2023_convert.py")
    assert done.returncode == 0, done.stderr
    demos = json.loads(out.read_text(encoding="utf-8"))
    source = {r["id"]: r for r in read_jsonl(h.CASE / "data" / "ccks_train.json")}
    assert len(demos) == 3 and len({d["id"] for d in demos}) == 3  # the seed wrote records[number]: one record
    for demo in demos:
        assert demo["text"] == source[demo["id"]]["input"]
        assert demo["labels"] == source[demo["id"]]["kg"]
    again = tmp_path / "again.json"
    h.run_cli("--input_file", "LLMICL/data/ccks_train.json", "--output_file", str(again), "--number", "3",
              script="ccks2023_convert.py")
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")  # seeded shuffle


def test_train_mode_reads_labels_from_output_when_there_is_no_kg(h, tmp_path):
    source = tmp_path / "train.json"
    source.write_text(json.dumps({"id": 1, "instruction": "抽取{'位于'}", "input": "甲位于乙。",
                                  "output": "（甲，位于，乙）"}, ensure_ascii=False) + "\n", encoding="utf-8")
    done = h.run_cli("--input_file", str(source), "--number", "5", script="ccks2023_convert.py")
    assert done.returncode == 0, done.stderr
    demos = json.loads((tmp_path / "train_input.json").read_text(encoding="utf-8"))
    assert demos == [{"id": 1, "text": "甲位于乙。", "labels": [["甲", "位于", "乙"]], "instruction": "抽取{'位于'}"}]


def test_test_mode_adds_triples_read_from_the_answers(h, tmp_path):
    source = tmp_path / "answers.json"
    rows = [{"id": 0, "input": "甲位于乙，丙属于丁。", "output": "(甲,位于,乙)（丙，属于，丁）"},
            {"id": 1, "input": "无。", "output": "nothing here"}]
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "kg.json"
    done = h.run_cli("--input_file", str(source), "--output_file", str(out), "--mode", "test",
                     script="ccks2023_convert.py")
    assert done.returncode == 0, done.stderr
    got = read_jsonl(out)
    assert got[0]["kg"] == [["甲", "位于", "乙"], ["丙", "属于", "丁"]] and got[0]["status"] == "repaired"
    assert got[1]["kg"] == [] and got[1]["status"] == "unparsable"


@pytest.mark.parametrize("args, message", [
    (["--mode", "dev"], "error: --mode 'dev': expected one of train, test"),
    (["--number", "five"], "error: --number 'five': expected an integer"),
    (["--number", "0"], "error: --number must be a whole number >= 1, got 0"),
])
def test_bad_flags_are_one_line_errors(h, args, message):
    done = h.run_cli(*args, script="ccks2023_convert.py")
    assert done.returncode == 2 and done.stderr.strip() == message


def test_record_without_output_or_kg_is_named_and_nothing_is_written(h, tmp_path):
    source = tmp_path / "train.json"
    source.write_text('{"id": 0, "input": "x", "output": "(a,b,c)"}\n{"id": 1, "input": "y"}\n', encoding="utf-8")
    out = tmp_path / "demos.json"
    done = h.run_cli("--input_file", str(source), "--output_file", str(out), script="ccks2023_convert.py")
    assert done.returncode == 2
    assert done.stderr.strip() == 'error: train.json:2: field "output": missing (or kg)'
    assert not out.exists()


def test_ccks_icl_run_is_scored_by_instructkgc_evaluate_with_the_expected_value(run_script, h, env, monkeypatch):
    monkeypatch.chdir(h.ROOT)
    demos = env / "demos"
    done = h.run_cli("--input_file", "LLMICL/data/ccks_train.json", "--output_file", str(demos / "rte_cn.json"),
                     "--number", "2", script="ccks2023_convert.py")
    assert done.returncode == 0, done.stderr
    gold = h.CASE / "data" / "ccks_valid.json"
    records = read_jsonl(gold)
    answers = {records[0]["input"]: "", records[1]["input"]: records[1]["output"]}
    out = env / "out" / "ccks_pred.json"
    with FakeOpenAI(h.by_query(answers)) as fake:
        metrics = run_script.main(["task=rte", "language=ch", "zero_shot=False", f"data_path={demos}",
                                   f"input_file={gold}", f"output_file={out}", f"base_url={fake.base_url}",
                                   "model=fake"])
        prompts = [FakeOpenAI.prompt_of(body) for body in fake.requests]
    for rec in records:  # each record is asked with its own instruction (requests arrive in any order)
        [prompt] = [p for p in prompts if p.endswith(rec["input"] + "\n答案：")]
        assert prompt.startswith(rec["instruction"] + "\n")
    # record 0: no answer (2 gold triples missed, Rouge-2 0); record 1: the gold answer (2 of 2, Rouge-2 1)
    # F1 = 2 * 1 * 0.5 / 1.5 = 2/3; Rouge-2 = (0 + 1) / 2; score = (2/3 + 1/2) / 2 = 7/12
    expected = {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "rouge2": 0.5, "score": 7 / 12}
    for name, value in expected.items():
        assert metrics["ccks"][name] == pytest.approx(value)
    assert metrics["triple"]["f1"] == pytest.approx(2 / 3)
    rows = read_jsonl(out)
    assert rows[1]["output"] == records[1]["output"] and rows[1]["kg"] == records[1]["kg"]
    done = subprocess.run([sys.executable, str(h.ROOT / "InstructKGC" / "evaluate.py"), "--gold_file", str(gold),
                           "--pred_file", str(out)], capture_output=True, text=True, cwd=h.ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    scored = json.loads(done.stdout)
    for name, value in expected.items():
        assert scored[name] == pytest.approx(value), name
    h.assert_secret_nowhere(env)
