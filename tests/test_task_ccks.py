"""The `ccks` task: InstructKGC records through the one pipeline give the same triples and scores as convert.py +
evaluate.py (one CCKS parser, one CCKS scorer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import pipeline
from core.llm import Completion
from core.metrics.ccks import ccks_scores
from core.tasks import get_task

VALID = Path(__file__).resolve().parents[1] / "InstructKGC" / "data" / "valid.json"


def test_comma_inside_a_name_is_resolved_with_the_instructions_relations():
    task = get_task("ccks")
    rec = task.check({"id": 1, "instruction": "从输入中抽取关系三元组，关系候选：['出生于']", "input": "Smith, Jr.出生于USA。"},
                     "x", 1)
    parsed = task.parse("(Smith, Jr.,出生于,USA)", rec, None)
    assert parsed.pred == [["Smith, Jr.", "出生于", "USA"]] and parsed.status == "repaired"


def test_pipeline_scores_equal_the_ccks_scorer_on_the_same_answers(tmp_path):
    task = get_task("ccks")
    records = task.read(VALID)
    pipeline.check_ids(records)
    # answer each record with its gold output for even ids, with a broken answer for odd ones
    answers = {r["id"]: [Completion(r["output"] if i % 2 == 0 else "(没有,答案")] for i, r in enumerate(records)}
    result = pipeline.parse_answers(task, records, answers, None)
    metrics = pipeline.score(task, result, labels=None, language="cn")
    expected = ccks_scores(records, [{"id": r["id"], "output": answers[r["id"]][0].text} for r in records])
    assert metrics["ccks"]["f1"] == pytest.approx(expected["f1"])
    assert metrics["ccks"]["score"] == pytest.approx(expected["score"])
    assert 0 < metrics["ccks"]["f1"] < 1
    rows = result.rows
    assert rows[0]["output"] == records[0]["output"] and rows[0]["kg"]
    assert json.loads(json.dumps(rows[1]))["status"] in ("invalid", "unparsable")
