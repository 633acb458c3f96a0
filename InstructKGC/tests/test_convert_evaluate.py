"""InstructKGC/convert.py and evaluate.py, run as users run them (subprocesses), on small hand-checked files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CASE = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
GOLD, RAW = DATA / "gold.json", DATA / "raw_outputs.json"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def run(script, *args):
    return subprocess.run(
        [sys.executable, str(CASE / script), *map(str, args)], capture_output=True, text=True, env=ENV, timeout=120
    )


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def assert_one_line_error(proc, *parts):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for part in parts:
        assert part in lines[0]


def test_convert_writes_triples_status_and_keeps_fields(tmp_path):
    out = tmp_path / "converted.json"
    proc = run("convert.py", "--pred_path", RAW, "--tgt_path", out)
    assert proc.returncode == 0, proc.stderr
    assert "converted 5 records" in proc.stdout and "ok 1, repaired 3, invalid 0, unparsable 1" in proc.stdout
    recs, raw = read_jsonl(out), read_jsonl(RAW)
    assert [r["status"] for r in recs] == ["repaired", "repaired", "repaired", "unparsable", "ok"]
    for rec, src in zip(recs, raw, strict=True):
        assert {k: rec[k] for k in src} == src  # every input field kept, answer untouched
        assert rec["raw"] == src["output"]
        assert rec["triples"] == [{"head": h, "relation": r, "tail": t} for h, r, t in rec["kg"]]
    assert recs[0]["kg"] == [["弗雷泽", "获奖", "铜牌"], ["弗雷泽", "国家", "澳大利亚"]]
    assert recs[0]["repairs"] == ["lead-in text stripped", "full-width punctuation", "duplicate removed"]
    assert recs[1]["kg"] == [["北京大学(PKU)", "位于", "北京"], ["北京大学(PKU)", "简称", "北大"]]
    assert recs[1]["repairs"] == ["missing closing bracket"]
    # the comma in "Smith, Jr." is resolved with the input text and the instruction's relation list
    assert recs[2]["kg"] == [["Smith, Jr.", "出生地", "美国纽约"]]
    assert (recs[3]["kg"], recs[3]["failed"]) == ([], ["(苹果公司,创始人,"])
    assert (recs[4]["kg"], recs[4]["repairs"]) == ([["长江", "流经", "武汉"]], [])


def test_convert_accepts_input_file_output_file_aliases(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("convert.py", "--pred_path", RAW, "--tgt_path", a).returncode == 0
    assert run("convert.py", "--input_file", RAW, "--output_file", b).returncode == 0
    assert a.read_bytes() == b.read_bytes()


def test_convert_bad_line_is_one_line_error_and_no_output(tmp_path):
    src = tmp_path / "raw.json"
    src.write_text('{"id": 0, "output": "(a,b,c)"}\n{"id": 1, "output": \n', encoding="utf-8")
    out = tmp_path / "out.json"
    assert_one_line_error(run("convert.py", "--pred_path", src, "--tgt_path", out), "raw.json:2:", "not valid JSON")
    assert not out.exists()


def test_convert_record_without_output_is_a_field_error(tmp_path):
    src = write_jsonl(tmp_path / "raw.json", [{"id": 0, "output": "(a,b,c)"}, {"id": 1, "input": "x"}])
    out = tmp_path / "out.json"
    assert_one_line_error(run("convert.py", "--pred_path", src, "--tgt_path", out), 'raw.json:2: field "output"')
    assert not out.exists()


def test_convert_without_paths_says_which_flag(tmp_path):
    assert_one_line_error(run("convert.py", "--tgt_path", tmp_path / "o.json"), "--pred_path")


def evaluate(*args):
    proc = run("evaluate.py", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_evaluate_raw_outputs_by_hand():
    # gold 8 triples; parsed predictions 6, all correct (record 3 was truncated) -> P 1, R 3/4, F1 6/7
    metrics, err = evaluate("--gold_file", GOLD, "--pred_file", RAW)
    assert (metrics["gold_triples"], metrics["pred_triples"], metrics["correct"]) == (8, 6, 6)
    assert metrics["precision"] == 1.0 and metrics["recall"] == 0.75
    assert metrics["f1"] == pytest.approx(6 / 7)
    assert metrics["score"] == pytest.approx(0.5 * 6 / 7 + 0.5 * metrics["rouge2"])
    assert (metrics["n_gold_records"], metrics["n_pred_records"], metrics["missing_pred"]) == (5, 5, 0)
    assert "parsed from `output` with core.parsing" in err


def test_evaluate_normal_mode_counts_the_repeated_triple():
    # record 0 repeats (弗雷泽,国家,澳大利亚): pred 7, correct 6 -> P 6/7, R 3/4, F1 4/5
    metrics, _ = evaluate("--gold_file", GOLD, "--pred_file", RAW, "--match", "normal")
    assert (metrics["pred_triples"], metrics["correct"]) == (7, 6)
    assert metrics["f1"] == pytest.approx(0.8)


def test_evaluate_converted_equals_raw_and_writes_the_printed_json(tmp_path):
    converted, out = tmp_path / "converted.json", tmp_path / "metrics.json"
    assert run("convert.py", "--pred_path", RAW, "--tgt_path", converted).returncode == 0
    from_raw, _ = evaluate("--gold_file", GOLD, "--pred_file", RAW)
    from_converted, err = evaluate("--gold_file", GOLD, "--pred_file", converted, "--output_file", out)
    for key in ("precision", "recall", "f1", "rouge2", "score", "correct", "pred_fragments_unparsed"):
        assert from_converted[key] == from_raw[key]
    assert from_converted["pred_parsed_from_text"] == 0 and "parsed" not in err
    assert json.loads(out.read_text(encoding="utf-8")) == from_converted


def test_gold_answers_as_predictions_score_f1_one():
    metrics, _ = evaluate("--gold_file", GOLD, "--pred_file", GOLD)
    assert metrics["f1"] == 1.0 and metrics["correct"] == 8


def test_evaluate_missing_ids_are_empty_predictions(tmp_path):
    gold = write_jsonl(tmp_path / "gold.json", [
        {"id": "a", "output": "(Wewak Airport,located in,Wewak)"},
        {"id": "b", "output": "(Wewak,located in,Papua New Guinea)"},
    ])
    pred = write_jsonl(tmp_path / "pred.json", [{"id": "a", "output": "(Wewak Airport,located in,Wewak)"}])
    metrics, err = evaluate("--gold_file", gold, "--pred_file", pred, "--lang", "en")
    assert metrics["missing_pred"] == 1 and "1 gold ids have no prediction" in err
    # P 1/1, R 1/2 -> F1 2/3; Rouge-2: record a identical (F = 2/(2+1e-8)), record b empty (0)
    assert metrics["f1"] == pytest.approx(2 / 3)
    assert metrics["rouge2"] == pytest.approx((2 / (2 + 1e-8)) / 2, abs=1e-12)


@pytest.mark.parametrize(
    ("gold_lines", "pred_lines", "parts"),
    [
        (['{"id": 0, "output": "(a,b,c)"}'], ['{"id": 0, "output": "(a,b,c)"}', "{not json"],
         ["pred.json:2:", "not valid JSON"]),
        (['{"id": 0, "output": "(a,b,c)"}'], ['{"id": 0, "output": ""}', '{"id": 5, "output": ""}'],
         ['pred.json:2: field "id"', "not in the gold file"]),
        (['{"id": 0, "output": "(a,b,c)"}', '{"id": 1, "input": "x"}'], ['{"id": 0, "output": ""}'],
         ['gold.json:2: field "output": missing']),
    ],
    ids=["pred-not-json", "pred-id-not-in-gold", "gold-without-output"],
)
def test_evaluate_bad_input_is_one_line_error_and_no_metrics_file(tmp_path, gold_lines, pred_lines, parts):
    gold, pred, out = tmp_path / "gold.json", tmp_path / "pred.json", tmp_path / "metrics.json"
    gold.write_text("\n".join(gold_lines) + "\n", encoding="utf-8")
    pred.write_text("\n".join(pred_lines) + "\n", encoding="utf-8")
    proc = run("evaluate.py", "--gold_file", gold, "--pred_file", pred, "--output_file", out)
    assert_one_line_error(proc, *parts)
    assert proc.stdout == ""
    assert not out.exists()


def test_evaluate_unknown_lang_is_one_line_error():
    assert_one_line_error(run("evaluate.py", "--gold_file", GOLD, "--pred_file", RAW, "--lang", "fr"), "--lang")


@pytest.mark.parametrize(("script", "flag"), [("convert.py", "--pred_path"), ("evaluate.py", "--match")])
def test_help_lists_the_flags(script, flag):
    proc = run(script, "--help")
    assert proc.returncode == 0
    assert flag in proc.stdout + proc.stderr
