"""Scoring (micro and per-relation P/R/F1 through core.metrics.micro_prf, parse failures) and the self-consistency
vote, against hand-computed values; codescore.py re-scores an output file without a model."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.pipeline import Result, score
from core.records import Parsed
from core.tasks.code import CodeTask, combine, summary_lines, vote

CASE = Path(__file__).resolve().parents[1]


def t(h, r, tl, ht="person", tt="person", **extra):
    return {"head": h, "head_type": ht, "relation": r, "tail": tl, "tail_type": tt, **extra}


ROWS = [
    {"id": 1, "text": "a", "status": "ok", "triples": [t("A", "Kill", "B"), t("A", "Live in", "X")],
     "triple_list": [["A", "Kill", "B"], ["C", "Kill", "D"]]},
    {"id": 2, "text": "b", "status": "invalid",
     "triples": [t(" A ", "Kill", "B"), t("Q", "Born in", "Z", flags=["relation_not_in_schema"])],
     "triple_list": [["A", "Kill", "B"]]},
    {"id": 3, "text": "c", "status": "unparsable", "triples": [], "triple_list": [["E", "Live in", "F"]]},
    {"id": 4, "text": "d", "status": "unparsable", "triples": [], "triple_list": []},
    {"id": 5, "text": "e", "status": "failed", "triples": [], "triple_list": [["G", "Kill", "H"]]},
    {"id": 6, "text": "f", "status": "ok", "triples": [t("U", "Kill", "V")]},  # no gold: not scored
]


def metrics_of(rows, tmp_path):
    path = tmp_path / "pred.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    task = CodeTask()
    return score(task, Result([], task.rows_to_pairs([{**r, "__line__": k} for k, r in enumerate(rows, 1)], path),
                              {}), labels=None, language="en")


def test_micro_and_per_relation_scores_match_hand_computed_values(tmp_path):
    m = metrics_of(ROWS, tmp_path)
    # tp: 1 + 1 = 2; pred: 2 + 2 = 4; gold: 2 + 1 + 1 + 0 + 1 = 5
    assert m["micro"] == {"precision": 0.5, "recall": 0.4, "f1": pytest.approx(4 / 9), "tp": 2, "pred": 4, "gold": 5}
    assert m["per_relation"]["Kill"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                         "tp": 2, "pred": 2, "gold": 4}
    assert m["per_relation"]["Live in"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "pred": 1, "gold": 1}
    assert m["per_relation"]["Born in"]["pred"] == 1
    assert (m["records"], m["scored"], m["parse_failures"], m["request_failures"], m["out_of_schema"]) == (6, 5, 2, 1, 1)
    assert m["status"] == {"ok": 2, "invalid": 1, "unparsable": 2, "failed": 1}


def test_no_predictions_and_no_gold_give_zero_not_a_crash(tmp_path):
    m = metrics_of([{"id": 0, "text": "a", "status": "ok", "triples": [], "triple_list": []}], tmp_path)
    assert m["micro"]["f1"] == 0.0 and m["per_relation"] == {}


def test_a_status_outside_the_one_vocabulary_is_a_one_line_error(tmp_path):
    path = tmp_path / "pred.jsonl"
    path.write_text(json.dumps({"text": "a", "status": "truncated", "triples": []}) + "\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(CASE / "codescore.py"), str(path)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith('error: pred.jsonl:1: field "status": expected one of ok, repaired')


def test_codescore_cli_prints_the_summary_of_an_output_file(tmp_path):
    path = tmp_path / "pred.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    out = subprocess.run([sys.executable, str(CASE / "codescore.py"), str(path)], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    lines = out.stdout.splitlines()
    assert lines[0] == ("records 6 (failed 1, invalid 1, ok 2, unparsable 2); parse failures 2, request failures 1, "
                        "out-of-schema triples 1")
    assert lines[1] == "micro    P 0.5000  R 0.4000  F1 0.4444  (tp 2, pred 4, gold 5)"


def test_vote_keeps_triples_in_at_least_threshold_of_samples():
    a, b, c = t("A", "Kill", "B"), t("C", "Kill", "D"), t("E", "Kill", "F")
    samples = [[a, b], [a, c, a], [b, a], []]  # a: 3 votes (duplicates count once), b: 2, c: 1; n = 5
    assert vote(samples, n=5, threshold=0.5) == [{**a, "votes": 3}]
    assert vote(samples, n=5, threshold=0.4) == [{**a, "votes": 3}, {**b, "votes": 2}]
    assert vote(samples, n=5, threshold=0.2) == [{**a, "votes": 3}, {**b, "votes": 2}, {**c, "votes": 1}]


def test_vote_keeps_the_typed_form_most_samples_used():
    odd = t("A", "Work for", "B", tt="location")
    usual = t("A", "Work for", "B", tt="organization")
    assert vote([[odd], [usual], [usual]], n=3, threshold=0.5) == [{**usual, "votes": 3}]


def test_single_sample_is_kept_as_it_is():
    a = t("A", "Kill", "B")
    assert vote([[a]], n=1, threshold=0.5) == [a]


def test_combine_gives_one_envelope_with_the_best_status_and_every_samples_issues():
    a = t("A", "Kill", "B")
    samples = [Parsed([a], "invalid", ["element 2: not a Triple(...)"], raw="one"),
               Parsed([a], "ok", raw="two"), Parsed([], "unparsable", ["empty answer"], raw="")]
    parsed = combine(samples, n=3, threshold=0.5)
    assert (parsed.pred, parsed.status, parsed.raw) == ([{**a, "votes": 2}], "ok", "one")
    assert parsed.issues == ["sample 1: element 2: not a Triple(...)", "sample 3: empty answer"]
    failed = Parsed([], "failed", ["request failed: HTTP 400"])
    assert combine([failed], n=3, threshold=0.5) is failed


def test_summary_lines_show_micro_and_each_relation(tmp_path):
    m = metrics_of([{"id": 0, "text": "a", "status": "ok", "triples": [t("A", "Kill", "B")],
                     "triple_list": [["A", "Kill", "B"]]}], tmp_path)
    lines = summary_lines(m)
    assert lines[0].startswith("records 1 (ok 1); parse failures 0")
    assert lines[1] == "micro  P 1.0000  R 1.0000  F1 1.0000  (tp 1, pred 1, gold 1)"
    assert lines[2] == "Kill   P 1.0000  R 1.0000  F1 1.0000  (tp 1, pred 1, gold 1)"
