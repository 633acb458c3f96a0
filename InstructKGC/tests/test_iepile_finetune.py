"""End to end on the toy LLaMA: LoRA (core.train, the code path of InstructKGC/finetune.py) memorises IEPile training
records of NER, RE and EE; a FRESH process answers the IEPile test records with core.llm's hf backend
(InstructKGC/iepile_predict.py), merges every input's batches and scores F1 = 1.0 for each task."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.iepile.batches import Schema
from core.iepile.convert import to_test_records, to_train_records
from core.iepile.records import sample_of
from core.testing.adapters import memorised_adapter

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "InstructKGC"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}

# One input per task, two schema batches each (short answers: the memorisation check reads 48 new tokens).
SETS = [
    ("NER", "en", Schema(["date", "location", "person", "work"]), 2,
     {"id": "n1", "text": "Ann met Bob in Oslo.", "entity": [
         {"entity": "Ann", "entity_type": "person"}, {"entity": "Bob", "entity_type": "person"},
         {"entity": "Oslo", "entity_type": "location"}]}),
    ("RE", "zh", Schema(["作者", "出生地", "总部"]), 2,
     {"id": "r1", "text": "鲁迅出生于绍兴。", "relation": [{"head": "鲁迅", "relation": "出生地", "tail": "绍兴"}]}),
    ("EE", "en", Schema(["die", "marry"], {"die": ["victim"], "marry": ["person"]}), 1,
     {"id": "e1", "text": "Ann wed Bob.", "event": [{"event_type": "marry", "event_trigger": "wed", "arguments": [
         {"argument": "Ann", "role": "person"}, {"argument": "Bob", "role": "person"}]}]}),
]


def _records():
    train, test = [], []
    for task, lang, schema, split_num, rec in SETS:
        samples = [sample_of(rec, task)]
        train += to_train_records(samples, task, lang, schema, split_num=split_num)
        test += to_test_records(samples, task, lang, schema, split_num=split_num, source=f"{task.lower()}-{lang}")
    return train, test


@pytest.fixture(scope="module")
def adapter():
    train, _ = _records()
    assert all(r["input"] == "" for r in train)  # our converter writes an empty input: finetune.py reads it
    return memorised_adapter("llama", "lora", records=train)


def test_training_and_test_batches_are_the_same_instructions():
    train, test = _records()
    assert len(train) == len(test) == 6
    assert [r["instruction"] for r in train] == [r["instruction"] for r in test]


@pytest.mark.slow
def test_fresh_process_inference_merge_and_score_give_f1_one_for_ner_re_ee(adapter, tmp_path):
    _, test = _records()
    test_file = tmp_path / "test.jsonl"
    test_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in test), encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    done = subprocess.run(
        [sys.executable, str(CASE / "iepile_predict.py"), "--input_file", str(test_file), "--output_file", str(out),
         "--backend", "hf", "--lora_weights", str(adapter), "--no_cache", "--max_new_tokens", "64",
         "--records_out", str(tmp_path / "records.jsonl")],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "pred.metrics.json").read_text(encoding="utf-8"))
    scores = {(task, unit): metrics[task][unit]
              for task, units in (("NER", ["entity"]), ("RE", ["triple"]), ("EE", ["trigger", "argument"]))
              for unit in units}
    assert {k: v["f1"] for k, v in scores.items()} == dict.fromkeys(scores, 1.0), scores
    assert [(v["gold"], v["correct"]) for v in scores.values()] == [(3, 3), (1, 1), (1, 1), (2, 2)]
    assert len((tmp_path / "pred.prompts.jsonl").read_text().splitlines()) == 6
    records = {r["id"]: r for r in map(json.loads, (tmp_path / "records.jsonl").read_text().splitlines())}
    assert records["r1"]["triples"] == [{"head": "鲁迅", "relation": "出生地", "tail": "绍兴"}]
    assert records["e1"]["event_list"][0]["trigger"] == "wed"


def test_finetune_reads_iepile_records_as_published(tmp_path):
    from core.train.data import read_instruction_records

    train = [{k: v for k, v in r.items() if k != "input"} for r in _records()[0]]
    path = tmp_path / "iepile.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train), encoding="utf-8")
    assert len(read_instruction_records(path)) == 6
