"""Whole runs against a loopback OpenAI-compatible server whose answers the test picks; metrics computed by hand."""

from __future__ import annotations

import json

import pytest

from core.testing.fake_openai import FakeOpenAI

DATA = "LLMICL/data"


def run(run_script, h, fake, tmp_path, *argv):
    out = tmp_path / "out" / "pred.jsonl"
    metrics = run_script.main([*argv, f"base_url={fake.base_url}", "model=fake", f"output_file={out}",
                               "max_retries=0"])
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return metrics, rows, out


def test_ner_en_metrics_equal_hand_computed_values(run_script, h, env, monkeypatch):
    monkeypatch.chdir(h.ROOT)
    answers = {
        "Leo Brandt": '[{"E": "PER", "W": "Leo Brandt"}, {"E": "LOC", "W": "Vienna"}]',
        "Bluefin": 'Sure! [{"E": "ORG", "W": "Bluefin Systems"}, {"E": "LOC", "W": "Coastal Chess Open"}',
        "Nadia": "I cannot help with that.",
    }
    with FakeOpenAI(h.by_query(answers)) as fake:
        metrics, rows, out = run(run_script, h, fake, env, "task=ner", "language=en", "zero_shot=False", "k=2",
                                 f"input_file={DATA}/ner_en_input.jsonl", "labels=[PER, ORG, LOC, EVENT]")
        assert fake.count == 3
    # tp 2 + 1 + 0 = 3; pred 2 + 2 + 1 (unreadable answer) = 5; gold 2 + 2 + 3 = 7 -> P 3/5, R 3/7, F1 6/12
    entity = metrics["entity"]
    assert (entity["correct"], entity["pred"], entity["gold"]) == (3, 5, 7)
    assert entity["precision"] == pytest.approx(0.6) and entity["recall"] == pytest.approx(3 / 7)
    assert entity["f1"] == pytest.approx(0.5)
    assert [r["status"] for r in rows] == ["ok", "repaired", "unparsable"]
    assert rows[2]["raw"] == "I cannot help with that." and rows[2]["pred"] == []
    assert json.loads(out.with_name("pred.metrics.json").read_text()) == metrics
    raw = [json.loads(x) for x in out.with_name("pred.raw.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in raw) == ["ner-en-1", "ner-en-2", "ner-en-3"]
    assert h.assert_secret_nowhere(env) >= 4


def test_re_en_accuracy_and_micro_f1(run_script, h, env, monkeypatch):
    monkeypatch.chdir(h.ROOT)
    answers = {
        "Orchid Bank with two partners": '{"relation": "org:founded_by"}',
        "born in Vienna": "per:city_of_birth",
        "hired Ana Silva": '{"relation": "org:founded_by"}',
        "head office": "no idea, sorry",
    }
    labels = "labels=[org:founded_by, per:city_of_birth, org:city_of_headquarters, no_relation]"
    with FakeOpenAI(h.by_query(answers)) as fake:
        metrics, rows, _ = run(run_script, h, fake, env, "task=re", "language=en",
                               f"input_file={DATA}/re_en_input.jsonl", labels)
    rel = metrics["relation"]
    # correct: 1, 2 of 4; tp 2; predicted positives 1, 2, 3 and the unreadable 4 = 4; gold positives 1, 2, 4 = 3
    assert rel["accuracy"] == pytest.approx(0.5)
    assert (rel["correct"], rel["pred"], rel["gold"]) == (2, 4, 3)
    assert rel["f1"] == pytest.approx(4 / 7)
    assert [r["pred"] for r in rows] == ["org:founded_by", "per:city_of_birth", "org:founded_by", None]
    assert metrics["status"] == {"ok": 2, "repaired": 1, "unparsable": 1}


def test_ee_en_trigger_and_argument_f1_then_a_rerun_retries_only_the_failed_request(run_script, h, env, monkeypatch):
    monkeypatch.chdir(h.ROOT)
    answers = {
        "Orchid Bank acquired": '[{"event_type": "Acquisition", "trigger": "acquired", "arguments": ['
                                '{"role": "Buyer", "argument": "Orchid Bank"}, {"role": "Target", "argument": '
                                '"Bluefin Systems"}, {"role": "Time", "argument": "May"}]}]',
        "Nadia Karim married": '[{"event_type": "Marriage", "trigger": "married", "arguments": ['
                               '{"role": "Person", "argument": "Nadia Karim"}, {"role": "Place", "argument": '
                               '"Paris"}, {"role": "Person"}]}]',
        "Ines Duarte": {"status": 500, "error": "server fell over"},
    }
    with FakeOpenAI(h.by_query(answers)) as fake:
        metrics, rows, _ = run(run_script, h, fake, env, "task=ee", "language=en",
                               f"input_file={DATA}/ee_en_input.jsonl")
        # triggers: tp 2, pred 1 + 1 + 1 (failed request), gold 3
        assert (metrics["trigger"]["correct"], metrics["trigger"]["pred"], metrics["trigger"]["gold"]) == (2, 3, 3)
        # arguments: tp 3 + 1, pred 3 + 2 + 1 malformed + 1 failed = 7, gold 3 + 3 + 2 = 8 -> F1 8/15
        arg = metrics["argument"]
        assert (arg["correct"], arg["pred"], arg["gold"]) == (4, 7, 8)
        assert arg["f1"] == pytest.approx(8 / 15)
        assert rows[2]["status"] == "failed" and rows[2]["issues"][0].startswith("request failed")

        answers["Ines Duarte"] = ('[{"event_type": "Election", "trigger": "elected", "arguments": ['
                                  '{"role": "Person", "argument": "Ines Duarte"}, {"role": "Position", '
                                  '"argument": "chair"}]}]')
        before = fake.count
        metrics, rows, _ = run(run_script, h, fake, env, "task=ee", "language=en",
                               f"input_file={DATA}/ee_en_input.jsonl", "no_cache=True")
        assert fake.count == before + 1  # the two answered records come from the raw file
    assert (metrics["trigger"]["correct"], metrics["trigger"]["pred"]) == (3, 3)
    assert (metrics["argument"]["correct"], metrics["argument"]["pred"]) == (6, 8)
    assert [r["status"] for r in rows] == ["ok", "invalid", "ok"]


def test_rte_cn_triple_f1(run_script, h, env, monkeypatch):
    monkeypatch.chdir(h.ROOT)
    answers = {
        "星河足球俱乐部": '[["星河足球俱乐部", "创始人", "赵磊"], ["星河足球俱乐部", "位于", "成都"], '
                   '["星河足球俱乐部", "位于", "成都"]]',
        "周敏出生于厦门": "(周敏,出生地,厦门)(周敏,国籍,中国)",
    }
    with FakeOpenAI(h.by_query(answers)) as fake:
        metrics, rows, _ = run(run_script, h, fake, env, "task=rte", "language=cn", "zero_shot=False",
                               f"input_file={DATA}/rte_cn_input.jsonl")
    # tp 2 + 1; pred 2 (duplicate once) + 2; gold 2 + 1 -> P 3/4, R 1, F1 6/7
    triple = metrics["triple"]
    assert (triple["correct"], triple["pred"], triple["gold"]) == (3, 4, 3)
    assert triple["f1"] == pytest.approx(6 / 7)
    assert rows[1]["kg"] == [["周敏", "出生地", "厦门"], ["周敏", "国籍", "中国"]]
    assert rows[1]["status"] == "invalid" and "tail '中国' not in the text" in rows[1]["issues"][0]


def test_a_changed_prompt_is_asked_again_not_answered_from_the_old_raw_file(run_script, h, env, monkeypatch):
    monkeypatch.chdir(h.ROOT)
    with FakeOpenAI(lambda body: "[]") as fake:
        run(run_script, h, fake, env, "task=ner", f"input_file={DATA}/ner_en_input.jsonl", "zero_shot=True")
        run(run_script, h, fake, env, "task=ner", f"input_file={DATA}/ner_en_input.jsonl", "zero_shot=True")
        assert fake.count == 3
        run(run_script, h, fake, env, "task=ner", f"input_file={DATA}/ner_en_input.jsonl", "zero_shot=False",
            "no_cache=True")
        assert fake.count == 6


def test_bad_input_record_is_a_one_line_error_and_writes_nothing(h, env, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "Ann met Bob."}\n{"txt": "oops"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = h.run_cli("task=ner", f"input_file={source}", f"output_file={out}", "base_url=http://127.0.0.1:9/v1")
    assert done.returncode == 2
    assert done.stderr.strip() == 'error: in.jsonl:2: field "text": missing'
    assert not out.exists()


def test_single_text_prints_the_entities_like_the_seed_readme(h, tmp_path):
    text = "Japan began the defence of their Asian Cup title with a lucky 2-1 win against Syria."
    answer = ('[{"E": "Country", "W": "Japan"}, {"E": "Competition", "W": "Asian Cup"}, '
              '{"E": "Country", "W": "Syria"}]')
    with FakeOpenAI(lambda body: answer) as fake:
        done = h.run_cli("task=ner", "language=en", f"text_input={text}", f"base_url={fake.base_url}", "model=fake",
                         env_extra={"OPENAI_API_KEY": h.SECRET, "KGLLM_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(answer)
    assert text in FakeOpenAI.prompt_of(fake.requests[0])
    h.assert_secret_nowhere(tmp_path)


def test_deprecated_api_key_setting_is_used_for_requests_and_written_nowhere(h, tmp_path):
    key = "sk-from-the-command-line-4242"
    with FakeOpenAI(lambda body: '{"relation": "org:founded_by"}') as fake:
        done = h.run_cli("task=re", "text_input=Ann founded Acme.", "head_entity=Acme", "tail_entity=Ann",
                         f"api_key={key}", f"base_url={fake.base_url}", "model=fake",
                         f"output_file={tmp_path / 'out' / 're.jsonl'}",
                         env_extra={"OPENAI_API_KEY": "", "KGLLM_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "org:founded_by"
    assert fake.headers[0].get("Authorization", fake.headers[0].get("authorization")) == f"Bearer {key}"
    assert "deprecated" in done.stderr and key not in done.stderr + done.stdout
    assert h.assert_secret_nowhere(tmp_path, key) >= 2


def test_hf_backend_runs_a_local_model_and_keeps_its_answer_verbatim(run_script, env, toy_llama_path):
    out = env / "out" / "hf.jsonl"
    run_script.main(["task=rte", "language=cn", "text_input=李明出生于武汉。", "backend=hf",
                     f"base_model={toy_llama_path}", "max_tokens=8", f"output_file={out}"])
    [row] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    [raw] = [json.loads(line) for line in out.with_name("hf.raw.jsonl").read_text(encoding="utf-8").splitlines()]
    assert raw["backend"] == "hf" and "李明出生于武汉。" in raw["prompt"]
    assert row["raw"] == raw["completions"][0]["text"] and row["raw"]
    assert row["status"] in ("ok", "repaired", "invalid", "unparsable")
