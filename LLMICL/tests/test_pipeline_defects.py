"""Defects of the split stacks, each fixed by the one pipeline (issue 12: 5, 6, 8), and the pipeline's re-runs."""

from __future__ import annotations

import json

import pytest

from core.testing.fake_openai import FakeOpenAI

DATA = "LLMICL/data"


def _run(run_script, fake, out, *argv):
    return run_script.main([*argv, f"base_url={fake.base_url}", "model=fake", f"output_file={out}", "max_retries=0"])


def test_every_request_carries_the_prompt_files_stop_sequence(run_script, h, env, monkeypatch):
    # defect 5: no stop sequence, so answers ran on into an invented next demo
    monkeypatch.chdir(h.ROOT)
    answer = '[{"E": "PER", "W": "Leo Brandt"}]\n\nPassage: Ann met Bob.\nAnswer: [{"E": "PER", "W": "Ann"}]'
    with FakeOpenAI(lambda body: answer) as fake:
        _run(run_script, fake, env / "ner.jsonl", "task=ner", "language=en", f"input_file={DATA}/ner_en_input.jsonl")
        stops = {json.dumps(body.get("stop")) for body in fake.requests}
    assert stops == {json.dumps(["\nPassage:"])}


def test_re_label_outside_the_demos_labels_is_invalid_without_labels(run_script, h, env, monkeypatch):
    # defect 6: with no `labels`, an answer naming a relation no demo shows was "repaired", as if it were fine
    monkeypatch.chdir(h.ROOT)
    with FakeOpenAI(lambda body: "per:favourite_colour") as fake:
        _run(run_script, fake, env / "re.jsonl", "task=re", "language=en", "zero_shot=False", "k=2",
             f"input_file={DATA}/re_en_input.jsonl")
    rows = [json.loads(x) for x in (env / "re.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["status"] for r in rows} == {"invalid"}
    assert all("not allowed" in r["issues"][0] for r in rows)


def test_ccks_run_reports_one_precision(run_script, h, env, monkeypatch):
    # defect 8: the triple block and the CCKS block of one run gave two precisions for the same file
    monkeypatch.chdir(h.ROOT)
    with FakeOpenAI(lambda body: "(a,b,c)(没有") as fake:
        metrics = _run(run_script, fake, env / "ccks.jsonl", "task=rte", "language=cn",
                       f"input_file={DATA}/ccks_valid.json")
    assert metrics["triple"]["precision"] == metrics["ccks"]["precision"]
    assert metrics["triple"]["recall"] == metrics["ccks"]["recall"]


def test_parse_only_and_score_only_rewrite_byte_identical_files_without_a_model(run_script, m, h, env, monkeypatch):
    from core import pipeline
    from core.tasks import get_task

    monkeypatch.chdir(h.ROOT)
    answers = {"Leo Brandt": '[{"E": "PER", "W": "Leo Brandt"}]', "Bluefin": "Sure: [{\"E\": \"ORG\", \"W\": \"Bluefin",
               "Nadia": "no"}
    out = env / "ner.jsonl"
    with FakeOpenAI(h.by_query(answers)) as fake:
        _run(run_script, fake, out, "task=ner", "language=en", f"input_file={DATA}/ner_en_input.jsonl",
             "labels=[PER, ORG, LOC, EVENT]")
    files = pipeline.RunFiles.beside(out)
    before = {p: p.read_bytes() for p in (files.parsed, files.metrics, files.prompts, files.raw)}
    task = get_task("ner")
    records = task.read(f"{DATA}/ner_en_input.jsonl")
    files.parsed.unlink()
    files.metrics.unlink()
    pipeline.parse_only(task, records, files, labels=["PER", "ORG", "LOC", "EVENT"], language="en")
    assert files.parsed.read_bytes() == before[files.parsed]
    assert files.metrics.read_bytes() == before[files.metrics]
    files.metrics.unlink()
    pipeline.score_only(task, records, files, labels=["PER", "ORG", "LOC", "EVENT"], language="en")
    assert files.metrics.read_bytes() == before[files.metrics]
    entity = json.loads(before[files.metrics])["entity"]
    assert (entity["correct"], entity["pred"]) == (1, 3)  # Leo Brandt; + the repaired "Bluefin" + 1 unreadable


def test_a_changed_prompt_is_asked_again_and_counted(run_script, h, env, monkeypatch, capsys):
    monkeypatch.chdir(h.ROOT)
    out = env / "ner.jsonl"
    args = ["task=ner", "language=en", f"input_file={DATA}/ner_en_input.jsonl"]
    with FakeOpenAI(lambda body: "[]") as fake:
        _run(run_script, fake, out, *args)
        _run(run_script, fake, out, *args)
        assert fake.count == 3  # the rerun asked nothing
        _run(run_script, fake, out, *args, "domain=sport")
        assert fake.count == 6  # every prompt changed: each id asked again, once
    assert "3 answers in ner.raw.jsonl were to other prompts; asking again" in capsys.readouterr().err
    raw = [json.loads(x) for x in out.with_name("ner.raw.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(raw) == 3 and all("sport" in r["prompt"] for r in raw)


@pytest.mark.parametrize("language", ["en", "cn"])
def test_every_prompt_file_declares_its_stop_sequence(language):
    from core.prompts import stop_sequences

    for task in ("ner", "re", "ee", "rte"):
        assert stop_sequences(f"{task}.{language}"), task
