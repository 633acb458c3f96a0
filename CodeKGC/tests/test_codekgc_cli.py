"""codekgc.py end to end against FakeOpenAI (a real loopback OpenAI-compatible server answering what the test chooses).

The script runs as a subprocess, as a user runs it; the server counts the requests it receives.
"""

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from core.testing.fake_openai import FakeOpenAI

CASE = Path(__file__).resolve().parents[1]
SCRIPT = CASE / "codekgc.py"
SECRET = f"sk-dummy-{uuid.uuid4().hex}"
PWNED = Path(f"/tmp/pwned_{uuid.uuid4().hex}")

RECORDS = [
    {"id": "r1", "text": "Ann Lee works for Acme Corp .", "triple_list": [["Ann Lee", "Work for", "Acme Corp"]]},
    {"id": "r2", "text": "Bob killed Carl in Oslo , where Dan lives .",
     "triple_list": [["Bob", "Kill", "Carl"], ["Dan", "Live in", "Oslo"]]},
    {"id": "r3", "text": "Rome lies in Italy .", "triple_list": [["Rome", "Located in", "Italy"]]},
    {"id": "r4", "text": "Nothing happened today .", "triple_list": []},
    {"id": "r5", "text": "Zeta Inc , based in Lyon , hired Eve .",
     "triple_list": [["Zeta Inc", "Organization based in", "Lyon"], ["Eve", "Work for", "Zeta Inc"]]},
]
ANSWERS = {
    # correct: tp 1, pred 1
    "Ann Lee works for Acme Corp .":
        "extract = Extract([Triple(person('Ann Lee'), Rel('Work for'), organization('Acme Corp')),])",
    # one right, one wrong relation: tp 1, pred 2
    "Bob killed Carl in Oslo , where Dan lives .":
        "```python\nextract = Extract([Triple(person('Bob'), Rel('Kill'), person('Carl')),\n"
        "                   Triple(person('Dan'), Rel('Work for'), organization('Oslo')),])\n```",
    # hostile: unparsable, pred 0, and the file must never appear
    "Rome lies in Italy .": f"extract = Extract([Triple(location('Rome'), Rel('Located in'), location('Italy'))])\n"
                            f"__import__('os').system('touch {PWNED}')",
    # out of schema: kept, flagged (status invalid), a wrong prediction: pred 1
    "Nothing happened today .": "extract = Extract([Triple(person('X'), Rel('Born in'), city('Y')),])",
    # truncated after one complete triple: tp 1, pred 1
    "Zeta Inc , based in Lyon , hired Eve .":
        "extract = Extract([Triple(organization('Zeta Inc'), Rel('Organization based in'), location('Lyon')),\n"
        "                   Triple(person('Eve'), Rel('Work",
}
# tp = 3, pred = 5, gold = 6 -> P 3/5, R 1/2, F1 = 2 * 0.6 * 0.5 / 1.1 = 6/11


def last_text(body: dict) -> str:
    return re.findall(r'""" (.*?) """', FakeOpenAI.prompt_of(body), re.S)[-1]


def answer(body: dict) -> str:
    return ANSWERS[last_text(body)]


def run(args, tmp_path, env_extra=None, cwd=None, key=SECRET):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(HF_HUB_OFFLINE="1", KGLLM_CACHE_DIR=str(tmp_path / "cache"), **(env_extra or {}))
    if key:
        env["OPENAI_API_KEY"] = key
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=cwd or tmp_path, timeout=120)


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    return path


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_run_scores_the_hand_computed_f1_and_a_rerun_sends_no_requests(tmp_path, data):
    out = tmp_path / "out" / "pred.jsonl"
    with FakeOpenAI(answer) as fake:
        args = ["--base_url", fake.base_url, "--input_file", data, "--output_file", out]
        first = run(args, tmp_path)
        assert first.returncode == 0, first.stderr
        assert fake.count == 5
        metrics = json.loads((tmp_path / "out" / "pred.metrics.json").read_text())
        assert metrics["micro"]["tp"] == 3 and metrics["micro"]["pred"] == 5 and metrics["micro"]["gold"] == 6
        assert metrics["micro"]["precision"] == pytest.approx(0.6)
        assert metrics["micro"]["recall"] == pytest.approx(0.5)
        assert metrics["micro"]["f1"] == pytest.approx(6 / 11)
        assert metrics["per_relation"]["Work for"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5,
                                                       "tp": 1, "pred": 2, "gold": 2}
        assert metrics["parse_failures"] == 1 and metrics["out_of_schema"] == 1
        assert "micro  " in first.stdout and "F1 0.5455" in first.stdout

        recs = read_jsonl(out)
        assert [r["id"] for r in recs] == ["r1", "r2", "r3", "r4", "r5"]
        assert [r["status"] for r in recs] == ["ok", "ok", "unparsable", "invalid", "repaired"]
        assert [r["completions"] for r in recs] == [[ANSWERS[r["text"]]] for r in RECORDS]  # verbatim
        assert [r["raw"] for r in recs] == [ANSWERS[r["text"]] for r in RECORDS]
        assert [r["triple_list"] for r in recs] == [r["triple_list"] for r in RECORDS]
        assert recs[0]["triples"] == [{"head": "Ann Lee", "head_type": "person", "relation": "Work for",
                                       "tail": "Acme Corp", "tail_type": "organization"}]
        assert recs[3]["triples"][0]["flags"] == ["relation_not_in_schema", "tail_type_not_in_schema"]
        assert recs[2]["issues"][0].startswith("rejected: ")
        assert recs[3]["issues"] == ["element 1: relation not in schema, tail type not in schema"]
        prompts = read_jsonl(tmp_path / "out" / "pred.prompts.jsonl")  # what was asked, one line per id
        assert [p["id"] for p in prompts] == ["r1", "r2", "r3", "r4", "r5"]
        assert metrics["run"]["prompts_file"] == str(tmp_path / "out" / "pred.prompts.jsonl")
        assert not PWNED.exists()

        before = out.read_bytes()
        again = run(args, tmp_path)  # resumed from the raw file
        assert again.returncode == 0, again.stderr
        assert fake.count == 5
        assert "5 already in pred.raw.jsonl" in again.stderr and "0 requests sent" in again.stderr
        assert out.read_bytes() == before

        (tmp_path / "out" / "pred.raw.jsonl").unlink()
        cached = run(args, tmp_path)  # raw file gone: answers come from the response cache
        assert cached.returncode == 0, cached.stderr
        assert fake.count == 5
        assert out.read_bytes() == before
        sent_auth = {h.get("Authorization") or h.get("authorization") for h in fake.headers}
        assert sent_auth == {f"Bearer {SECRET}"}  # the key was used ...
    for path in tmp_path.rglob("*"):  # ... and never written anywhere
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_completion_model_gets_the_raw_code_prompt_and_stop_sequences(tmp_path, data):
    schema = (CASE / "data" / "schema_prompt").read_text()
    expected = f"{schema}\n{(CASE / 'data' / 'ICL_prompt').read_text()}\n\"\"\" {RECORDS[0]['text']} \"\"\"\n"
    with FakeOpenAI(answer, models=("my-codegen",)) as fake:
        result = run(["--base_url", fake.base_url, "--chat", "false", "--input_file", data,
                      "--output_file", tmp_path / "pred.jsonl"], tmp_path)
        assert result.returncode == 0, result.stderr
        assert set(fake.paths) == {"GET /v1/models", "POST /v1/completions"}
        body = next(b for b in fake.requests if last_text(b) == RECORDS[0]["text"])
    assert body["prompt"] == expected and body["model"] == "my-codegen"
    assert body["stop"] == ['\n"""', "\nextract"] and body["max_tokens"] == 512


def test_self_consistency_keeps_triples_most_samples_agree_on(tmp_path, data):
    a = "Triple(person('Ann Lee'), Rel('Work for'), organization('Acme Corp'))"
    b = "Triple(person('Ann Lee'), Rel('Live in'), location('Acme Corp'))"
    samples = [f"extract = Extract([{a}, {b}])", f"extract = Extract([{a}])", "no idea"]
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(RECORDS[0]) + "\n", encoding="utf-8")
    with FakeOpenAI(lambda body: samples[: body["n"]]) as fake:
        result = run(["--base_url", fake.base_url, "--model", "m", "--n", 3, "--temperature", 0.7,
                      "--input_file", one, "--output_file", tmp_path / "pred.jsonl"], tmp_path)
        assert result.returncode == 0, result.stderr
        assert fake.count == 1 and fake.requests[0]["n"] == 3
    rec = read_jsonl(tmp_path / "pred.jsonl")[0]
    assert rec["completions"] == samples
    assert [(t["relation"], t["votes"]) for t in rec["triples"]] == [("Work for", 2)]
    assert rec["sample_status"] == ["ok", "ok", "unparsable"] and rec["status"] == "ok"
    assert rec["issues"] == ["sample 3: no Extract([...]) or Triple(...) list found"] and rec["raw"] == samples[0]
    metrics = json.loads((tmp_path / "pred.metrics.json").read_text())
    assert metrics["micro"]["f1"] == 1.0


def test_no_key_and_no_server_says_what_to_set_in_one_line(tmp_path, data):
    result = run(["--input_file", data, "--output_file", tmp_path / "pred.jsonl"], tmp_path, key=None)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: set OPENAI_API_KEY, or --base_url for an OpenAI-compatible "
                                                  "server"]
    assert not (tmp_path / "pred.jsonl").exists()


def test_bad_input_record_names_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok ."}\n{"txt": "typo ."}\n', encoding="utf-8")
    result = run(["--base_url", "http://127.0.0.1:9/v1", "--input_file", bad, "--output_file",
                  tmp_path / "pred.jsonl"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == 'error: bad.jsonl:2: field "text": missing'


def test_failed_request_is_marked_and_only_it_is_resent_on_rerun(tmp_path, data):
    def flaky(body):
        if last_text(body) == RECORDS[1]["text"] and not state["healed"]:
            return {"status": 400, "error": "bad request"}
        return answer(body)

    state = {"healed": False}
    out = tmp_path / "pred.jsonl"
    with FakeOpenAI(flaky) as fake:
        args = ["--base_url", fake.base_url, "--input_file", data, "--output_file", out, "--max_retries", 0]
        assert run(args, tmp_path).returncode == 0
        recs = read_jsonl(out)
        assert recs[1]["status"] == "failed" and "HTTP 400" in recs[1]["issues"][0]
        assert recs[1]["triples"] == [] and recs[1]["completions"] == [""]
        state["healed"] = True
        assert run(args, tmp_path).returncode == 0
        assert fake.count == 6
    assert read_jsonl(out)[1]["status"] == "ok"


def test_answers_made_for_another_prompt_are_asked_again_and_counted(tmp_path, data):
    out = tmp_path / "pred.jsonl"
    demos = tmp_path / "demos.jsonl"
    demos.write_text(json.dumps(RECORDS[0]) + "\n", encoding="utf-8")
    with FakeOpenAI(answer) as fake:
        assert run(["--base_url", fake.base_url, "--input_file", data, "--output_file", out], tmp_path).returncode == 0
        changed = run(["--base_url", fake.base_url, "--input_file", data, "--output_file", out, "--demos", demos],
                      tmp_path)
        assert changed.returncode == 0, changed.stderr
        assert fake.count == 10  # the five changed prompts were asked again
        assert "note: 5 answers in pred.raw.jsonl were to other prompts; asking again" in changed.stderr
        assert "Entity('Ann Lee')" in FakeOpenAI.prompt_of(fake.requests[-1])
    raw = read_jsonl(tmp_path / "pred.raw.jsonl")
    assert sorted(r["id"] for r in raw) == ["r1", "r2", "r3", "r4", "r5"]  # every id once, for the new prompt
    assert all("Entity('Ann Lee')" in json.dumps(r["prompt"]) for r in raw)


def test_defaults_come_from_config_json_beside_the_script_from_any_directory(tmp_path):
    seed_answer = ("extract = Extract([Triple(person('Nadia Fontaine'), Rel('Work for'), organization('Veridian Health')),"
                   "\n                   Triple(location('Rennes'), Rel('Located in'), location('France')),])")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with FakeOpenAI(lambda body: seed_answer) as fake:
        result = run(["--base_url", fake.base_url, "--output_file", tmp_path / "pred.jsonl"], tmp_path, cwd=elsewhere)
        assert result.returncode == 0, result.stderr
        assert fake.count == 1
    rec = read_jsonl(tmp_path / "pred.jsonl")[0]  # the seed's single-object data/example.json
    assert rec["id"] == 0 and rec["text"].startswith("Nadia Fontaine")
    assert json.loads((tmp_path / "pred.metrics.json").read_text())["micro"]["f1"] == 1.0


def test_help_lists_every_flag(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True,
                            env={**os.environ, "PAGER": "cat"}, cwd=tmp_path, timeout=60)
    assert result.returncode == 0
    for flag in ("schema_path", "ICL_path", "example_path", "openai_key", "engine", "temperature", "max_tokens", "n",
                 "backend", "base_url", "model", "base_model", "lora_weights", "input_file", "output_file",
                 "metrics_file", "concurrency", "vote_threshold", "schema", "demos", "chat", "no_cache"):
        assert f"--{flag}" in result.stdout + result.stderr, flag


def test_a_key_in_config_json_is_used_but_never_written(tmp_path, data):
    config = tmp_path / "my_config.json"
    config.write_text(json.dumps({"openai_key": SECRET, "ICL_path": "demos.json", "max_tokens": 64,
                                  "schema": str(CASE / "data" / "schema.json")}), encoding="utf-8")
    (tmp_path / "demos.json").write_text(json.dumps(RECORDS[0]) + "\n", encoding="utf-8")
    with FakeOpenAI(answer) as fake:
        result = run(["--config", config, "--base_url", fake.base_url, "--input_file", data,
                      "--output_file", tmp_path / "out" / "pred.jsonl"], tmp_path, key=None)
        assert result.returncode == 0, result.stderr
        assert "openai_key is deprecated" in result.stderr and "Entity(" not in result.stderr
        assert {h.get("Authorization") or h.get("authorization") for h in fake.headers} == {f"Bearer {SECRET}"}
        assert fake.requests[0]["max_tokens"] == 64
        assert '""" Ann Lee works for Acme Corp . """\nextract = Extract([Triple(person' in \
            FakeOpenAI.prompt_of(fake.requests[0])  # ICL_path resolved beside the config, read as records
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != config]
    assert written and all(SECRET.encode() not in p.read_bytes() for p in written)


def test_unknown_config_key_is_one_line_error(tmp_path):
    config = tmp_path / "c.json"
    config.write_text('{"engnie": "gpt-4o"}', encoding="utf-8")
    result = run(["--config", config], tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: c.json: unknown key(s) engnie (known: ") and result.stderr.count("\n") == 1


def test_untyped_demos_without_relation_signatures_warn(tmp_path, data):
    demos = tmp_path / "demos.jsonl"
    demos.write_text(json.dumps(RECORDS[0]) + "\n", encoding="utf-8")
    with FakeOpenAI(answer) as fake:
        result = run(["--base_url", fake.base_url, "--demos", demos, "--input_file", data,
                      "--output_file", tmp_path / "pred.jsonl"], tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Entity('Ann Lee')" in FakeOpenAI.prompt_of(fake.requests[0])
    assert "warning: 2 entities in the examples have no type" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--n", "abc"], "error: --n 'abc': expected an integer"),
    (["--n", "0"], "error: --n and --max_tokens must be >= 1 and --vote_threshold in (0, 1], got 0, 512 and 0.5"),
    (["--vote_threshold", "1.5"], "error: --n and --max_tokens must be >= 1 and --vote_threshold in (0, 1], got 1, "
                                  "512 and 1.5"),
])
def test_bad_numbers_are_one_line_errors(tmp_path, args, message):
    result = run([*args, "--base_url", "http://127.0.0.1:9/v1", "--output_file", tmp_path / "p.jsonl"], tmp_path)
    assert (result.returncode, result.stderr.strip()) == (2, message)


def test_decoding_schema_on_a_task_without_answer_schema_warns_and_reports_the_free_parse_rate(tmp_path, data):
    """The `code` task has no answer schema: --decoding schema says once that it answers free, and the run prints its
    parse rate per decoding mode like every core.pipeline run (4 of 5 answers read: r3 is unparsable)."""
    out = tmp_path / "out" / "pred.jsonl"
    with FakeOpenAI(answer) as fake:
        done = run(["--base_url", fake.base_url, "--input_file", data, "--output_file", out, "--decoding", "schema"],
                   tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning: --decoding schema: these prompts have no answer schema" in done.stderr
    assert "decoding: free: 4/5 answers parsed (80.0%), 3 valid" in done.stderr
