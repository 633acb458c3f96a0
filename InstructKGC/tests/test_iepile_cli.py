"""InstructKGC/iepile_convert.py and iepile_predict.py as users run them: the documented commands, the CCKS2023 sample
to IEPile RE records and back, OneKE's template over a real OpenAI-compatible server, one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.modload import load_module
from core.parsing.ccks_instruction import relations_from_instruction
from core.testing.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "InstructKGC"
DATA = CASE / "data"
# `python` in a documented command is the project's interpreter (the one running the tests)
ENV = {**os.environ, "HF_HUB_OFFLINE": "1",
       "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
ONEKE_HEAD = "[INST] <<SYS>>\nYou are a helpful assistant. 你是一个乐于助人的助手。\n<</SYS>>\n\n"


def convert():
    return load_module(CASE / "iepile_convert.py", "_instructkgc_iepile_convert")


def predict():
    return load_module(CASE / "iepile_predict.py", "_instructkgc_iepile_predict")


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def docstring_command(script):
    text = (CASE / script).read_text(encoding="utf-8")
    return next(line.strip() for line in text.splitlines() if line.strip().startswith("python "))


@pytest.mark.parametrize("script", ["iepile_convert.py", "iepile_predict.py"])
def test_docstring_commands_run_as_written(script, tmp_path):
    command = docstring_command(script)
    done = subprocess.run(command, shell=True, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    if script == "iepile_convert.py":
        out = read_jsonl("/tmp/iepile_ner_train.json")
        assert len(out) == 4  # 4 inputs, 7 entity types: one batch each (a remainder of 1 < 6 // 2 joins it)
        first = json.loads(out[0]["instruction"])
        assert first["schema"] == ["date", "event", "location", "organization", "person", "product", "work"]
        assert json.loads(out[0]["output"])["person"] == ["Marie Curie"] and out[0]["source"] == "data"
    else:
        metrics = json.loads(done.stdout)
        # tests/data/iepile_answered.json: RE leaves out 1 of 5 triples; NER adds 1 wrong entity to 7 right ones
        assert metrics["RE"]["triple"]["recall"] == 0.8 and metrics["RE"]["triple"]["precision"] == 1.0
        assert metrics["NER"]["entity"]["precision"] == 7 / 8 and metrics["NER"]["entity"]["recall"] == 1.0
        assert metrics["NER"]["by_source"]["sample_ner_zh"]["entity"]["f1"] == pytest.approx(2 * 7 / 8 / (1 + 7 / 8))
        records = read_jsonl("/tmp/iepile_records.jsonl")
        assert len(records) == 8 and records[1]["triples"] == [
            {"head": "University of Paris", "relation": "located in", "tail": "Paris"}]


@pytest.mark.parametrize("name", ["train.json", "valid.json"])
def test_ccks2023_sample_converts_to_iepile_re_records_and_back_without_losing_a_triple(name, tmp_path):
    ccks = read_jsonl(DATA / name)
    train, back = tmp_path / "iepile.json", tmp_path / "back.json"
    convert().cli(["--src_path", str(DATA / name), "--tgt_path", str(train), "--task", "RE",
                              "--language", "zh", "--split", "train", "--random_sort", "--seed", "7"])
    iepile = read_jsonl(train)
    for rec in iepile:  # each CCKS record's candidate relations are its schema: no other relation is asked
        ins = json.loads(rec["instruction"])
        src = next(c for c in ccks if c["input"] == ins["input"])
        assert sorted(ins["schema"]) == sorted(relations_from_instruction(src["instruction"]))
    convert().cli(["--src_path", str(train), "--tgt_path", str(back), "--split", "back"])
    got = {r["text"]: sorted((t["head"], t["relation"], t["tail"]) for t in r["triples"]) for r in read_jsonl(back)}
    want = {c["input"]: sorted(map(tuple, c["kg"])) for c in ccks}
    assert got == want and sum(map(len, want.values())) > len(ccks)


def test_oneke_template_over_an_openai_compatible_server_merges_scores_and_resumes(tmp_path):
    test = tmp_path / "test.json"
    convert().cli(["--src_path", str(DATA / "iepile_re_en.json"), "--tgt_path", str(test),
                              "--schema_path", str(DATA / "iepile_re_en_schema.json"), "--language", "en",
                              "--task", "RE", "--split", "test"])
    gold = {json.loads(r["instruction"])["input"]: json.loads(r["label"]) for r in read_jsonl(test)}
    assert len(read_jsonl(test)) == 8  # 4 inputs x 2 batches of 4 relations

    def oracle(body):
        prompt = FakeOpenAI.prompt_of(body)
        assert prompt.startswith(ONEKE_HEAD) and prompt.endswith("[/INST]")
        ins = json.loads(prompt[len(ONEKE_HEAD):-len("[/INST]")])
        if ins["input"].startswith("Paris"):
            return "Sorry, I do not know."
        return json.dumps({r: [{"subject": t["head"], "object": t["tail"]} for t in gold[ins["input"]]
                               if t["relation"] == r] for r in ins["schema"]})

    out = tmp_path / "pred.jsonl"
    flags = ["--input_file", str(test), "--output_file", str(out), "--backend", "openai", "--model", "oneke",
             "--prompt_template_name", "oneke", "--cache_dir", str(tmp_path / "cache"), "--records_out",
             str(tmp_path / "records.jsonl")]
    with FakeOpenAI(oracle) as fake:
        predict().cli([*flags, "--base_url", fake.base_url])
        assert fake.count == 8 and all("/v1/completions" in p for p in fake.paths if "completions" in p)
        predict().cli([*flags, "--base_url", fake.base_url])  # a rerun asks nothing again
        assert fake.count == 8
    metrics = json.loads((tmp_path / "pred.metrics.json").read_text())["RE"]["triple"]
    # 5 gold triples; "Paris is the capital of France." unreadable in both batches: 4 right + 2 wrong predictions
    assert (metrics["gold"], metrics["pred"], metrics["correct"]) == (5, 6, 4)
    assert metrics["f1"] == pytest.approx(2 * (4 / 6) * (4 / 5) / (4 / 6 + 4 / 5))
    rows = {r["id"]: r for r in read_jsonl(out)}
    assert rows["re-en-3"]["status"] == "unparsable" and len(rows["re-en-3"]["raw"]) == 2
    assert rows["re-en-2"]["status"] == "ok" and len(rows["re-en-2"]["pred"]) == 2
    assert len(read_jsonl(tmp_path / "pred.prompts.jsonl")) == 8


def _one_line_error(capsys, cli, argv, *parts):
    with pytest.raises(SystemExit) as exc:
        cli(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(p in err[0] for p in parts), err


def test_bad_input_is_a_one_line_error_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"text": "Ann", "entity": [{"entity": "Ann", "entity_type": "person"}]}\n'
                   '{"text": "Bob", "entity": [{"entity": "Bob"}]}\n', encoding="utf-8")
    out = tmp_path / "out.json"
    main = convert().cli
    _one_line_error(capsys, main, ["--src_path", str(bad), "--tgt_path", str(out), "--task", "NER"],
                    "bad.json:2", "entity[0].entity_type")
    _one_line_error(capsys, main, ["--src_path", str(bad), "--tgt_path", str(out), "--split", "dev"], "--split")
    _one_line_error(capsys, main, ["--src_path", str(bad), "--tgt_path", str(out), "--task", "SPO"], "--task")
    _one_line_error(capsys, main, ["--src_path", str(bad), "--tgt_path", str(out), "--cluster_mode"],
                    "--hard_negative_path")
    assert not out.exists()
    test = tmp_path / "test.json"
    test.write_text(json.dumps({"task": "NER", "instruction": "{}"}) + "\n", encoding="utf-8")
    _one_line_error(capsys, predict().cli, ["--input_file", str(test), "--output_file", str(out),
                                             "--answer_field", "output"], "test.json:1", "instruction")
    assert not out.exists()


@pytest.mark.parametrize("script, flag", [("iepile_convert.py", "--split_num"), ("iepile_predict.py", "--answer_field")])
def test_scripts_show_help(script, flag):
    done = subprocess.run([sys.executable, str(CASE / script), "--help"], env={**ENV, "PAGER": "cat"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert flag in done.stdout + done.stderr
