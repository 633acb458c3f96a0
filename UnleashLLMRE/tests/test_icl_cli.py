"""gpt3ICL.py end to end: a subprocess talking to a loopback OpenAI-compatible server (core.testing.fake_openai)."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core import pipeline
from core.tasks import get_task, tacred_data
from core.testing.fake_openai import FakeOpenAI

CASE = Path(__file__).resolve().parents[1]
SCRIPT = CASE / "gpt3ICL.py"
DATA = CASE / "data"
SECRET = "sk-test-DUMMY-SECRET-4242"

# test sentence (as it ends the prompt) -> the answer the server gives; FAIL -> HTTP 500
FAIL = object()
ANSWERS = {
    "Sunrise Bakery was founded by": "organization:founded by.",           # org:founded_by, right
    "Eva Brandt set up": "no relation",                                     # org:founded_by -> negative
    "Mark Lee , an engineer": "person:employee of",                         # right
    "Sofia Russo works for": "person:city of birth.",                       # per:employee_of -> wrong positive
    "Ahmed Karim was born": "I think it is the birthplace",                 # unparsed
    "Born in Porto": FAIL,                                                  # failed request
    "Polar Energy ( a power company )": "Organization: Country of Headquarters.\nContext: ...",  # right
    "Paul Green and Mark Lee": "no_relation",                               # right (negative)
    "Sofia Russo read a book": "person:employee of",                        # no_relation -> wrong positive
    "Delta Motors sold cars": "no relation.",                               # right (negative)
}
# hand-computed: correct = 5 of 10; tp = 3 (founded, employee, country); predictions other than the negative label,
# the unparsed and the failed answer included: 7; gold positives: 7
EXPECTED = {"acc": 0.5, "micro_p": 3 / 7, "micro_r": 3 / 7, "micro_f1": 3 / 7, "unparsed": 1, "failed": 1}


def question(body):
    return FakeOpenAI.prompt_of(body).splitlines()[-1]


def responder(body):
    last = question(body)
    answer = next(a for key, a in ANSWERS.items() if last.startswith("Context: " + key))
    return {"status": 500, "error": "boom"} if answer is FAIL else answer


def run(args, tmp_path, check=True, **kw):
    env = dict(os.environ, OPENAI_API_KEY=SECRET, HF_HUB_OFFLINE="1", KGLLM_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, str(SCRIPT), *map(str, args)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, **kw)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def base_args(fake, out, prompt="text_schema", k=1):
    return ["-tp", DATA / "train.json", "-ttp", DATA / "test.json", "-os", out, "-on", out / "nores",
            "--prompt", prompt, "--k", k, "--base_url", fake.base_url, "--model", "fake", "--max_retries", 0]


def printed_metrics(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def assert_expected(metrics):
    assert metrics == pytest.approx(EXPECTED)


def files_under(*folders):
    return [p for folder in folders for p in Path(folder).rglob("*") if p.is_file()]


def test_help_lists_the_seed_flags():
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True).stdout
    for flag in ("--api_key", "-ak", "--train_path", "-tp", "--test_path", "-ttp", "--output_success", "-os",
                 "--output_nores", "-on", "--prompt", "--k", "--seed", "--da_path", "--metrics_file", "--backend",
                 "--base_url", "--model", "--concurrency"):
        assert f" {flag}" in out


def test_printed_metrics_equal_hand_computed_and_outputs_are_written(tmp_path):
    out = tmp_path / "out"
    with FakeOpenAI(responder) as fake:
        proc = run(base_args(fake, out), tmp_path)
    assert_expected(printed_metrics(proc.stdout))
    saved = json.loads((out / "metrics.json").read_text())
    assert_expected({k: saved[k] for k in EXPECTED})
    assert saved["per_relation"]["per:employee_of"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1,
                                                        "n_pred": 2, "n_gold": 2}
    assert saved["status"] == {"ok": 8, "unparsable": 1, "failed": 1}
    parsed = {r["id"]: (r["pr"], r["status"]) for r in map(json.loads, (out / "parsed.jsonl").read_text().splitlines())}
    assert parsed["test-05"] == (None, "unparsable") and parsed["test-06"] == (None, "failed")
    assert parsed["test-07"] == ("org:country_of_headquarters", "ok")
    success = [json.loads(x) for x in (out / "os.json").read_text().splitlines()]
    assert [(r["id"], r["pr"]) for r in success] == [
        ("test-01", "org:founded_by"), ("test-02", "no_relation"), ("test-03", "per:employee_of"),
        ("test-04", "per:city_of_birth"), ("test-07", "org:country_of_headquarters"), ("test-08", "no_relation"),
        ("test-09", "per:employee_of"), ("test-10", "no_relation")]
    assert success[0]["token"][:2] == ["Sunrise", "Bakery"]  # the test record itself, plus pr
    nores = json.loads((out / "nores" / "no.json").read_text())
    assert [(r["id"], r["pr"], "error" in r) for r in nores] == [
        ("test-05", "I think it is the birthplace", False), ("test-06", "", True)]


def test_api_key_never_written(tmp_path):
    out = tmp_path / "out"
    with FakeOpenAI(responder) as fake:
        proc = run([*base_args(fake, out), "-ak", SECRET + "-ak"], tmp_path)
        headers = {k.lower(): v for k, v in fake.headers[0].items()}
        assert headers["authorization"] == f"Bearer {SECRET}-ak"  # used for requests ...
    assert "deprecated" in proc.stderr
    written = files_under(out, tmp_path / "cache")
    assert len(written) >= 5
    for path in written:  # ... but in no file
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in proc.stdout + proc.stderr


def test_kill_and_rerun_resumes_without_asking_again(tmp_path):
    out = tmp_path / "out"
    release = threading.Event()

    def slow_after_four(body):
        if fake.count > 4:
            release.wait(60)
        return responder(body)

    with FakeOpenAI(slow_after_four) as fake:
        args = [*base_args(fake, out), "--concurrency", 1, "--no_cache"]
        env = dict(os.environ, OPENAI_API_KEY=SECRET, KGLLM_CACHE_DIR=str(tmp_path / "cache"))
        proc = subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        raw = out / "raw.jsonl"
        deadline = time.monotonic() + 60
        while not (raw.exists() and len(raw.read_text().splitlines()) >= 4) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.kill()
        proc.wait(10)
        release.set()
        assert len(raw.read_text().splitlines()) == 4
        assert not (out / "os.json").exists()  # nothing half-written
    with FakeOpenAI(responder) as fake:
        proc = run([*base_args(fake, out), "--concurrency", 1, "--no_cache"], tmp_path)
        asked = {question(b) for b in fake.requests}
    assert len(asked) == 6  # only the six unanswered test items
    assert_expected(printed_metrics(proc.stdout))
    assert sorted(json.loads(x)["id"] for x in raw.read_text().splitlines()) == [f"test-{i:02d}" for i in range(1, 11)]


def test_failed_answers_go_to_no_json_and_a_rerun_retries_only_them(tmp_path):
    out = tmp_path / "out"
    with FakeOpenAI(responder) as fake:
        run(base_args(fake, out), tmp_path)
    assert [r["id"] for r in json.loads((out / "nores" / "no.json").read_text())] == ["test-05", "test-06"]
    with FakeOpenAI(lambda body: "person:city of birth") as fake:
        proc = run(base_args(fake, out), tmp_path)
        assert [question(b)[:31] for b in fake.requests] == ["Context: Born in Porto , Rita G"]
    metrics = printed_metrics(proc.stdout)
    assert (metrics["failed"], metrics["unparsed"]) == (0, 1)
    assert [r["id"] for r in json.loads((out / "nores" / "no.json").read_text())] == ["test-05"]


def test_changed_flags_ask_again_every_answer_to_another_prompt_and_say_how_many(tmp_path):
    out = tmp_path / "out"
    with FakeOpenAI(responder) as fake:
        run(base_args(fake, out), tmp_path)
        asked_first = fake.count
        proc = run(base_args(fake, out, k=2), tmp_path)  # other demos: every prompt changed
        assert (asked_first, fake.count - asked_first) == (10, 10)
    # core.llm.run_prompts' rule: 9 answered ids re-asked (the failed one is retried anyway), the count printed
    assert "note: 9 answers in raw.jsonl were to other prompts; asking again" in proc.stderr
    assert_expected(printed_metrics(proc.stdout))
    raw = [json.loads(x) for x in (out / "raw.jsonl").read_text().splitlines()]
    prompts = {r["id"]: r["prompt"] for r in map(json.loads, (out / "prompts.jsonl").read_text().splitlines())}
    assert sorted(r["id"] for r in raw) == sorted(prompts) and all(r["prompt"] == prompts[r["id"]] for r in raw)


def test_parse_only_and_score_only_reproduce_parsed_and_metrics_byte_for_byte(tmp_path):
    out = tmp_path / "out"
    with FakeOpenAI(responder) as fake:
        run(base_args(fake, out), tmp_path)
    files = pipeline.RunFiles(out / "parsed.jsonl", out / "prompts.jsonl", out / "raw.jsonl", out / "metrics.json")
    written = {path: path.read_bytes() for path in (files.parsed, files.metrics)}
    test = tacred_data.load_samples(DATA / "test.json")
    labels, _ = tacred_data.relation_list(tacred_data.load_samples(DATA / "train.json"), test, None)
    records = [tacred_data.as_record(s) for s in test]
    for path in written:
        path.unlink()
    pipeline.parse_only(get_task("tacred"), records, files, labels=labels)
    assert {path: path.read_bytes() for path in written} == written
    files.metrics.unlink()
    pipeline.score_only(get_task("tacred"), records, files, labels=labels)
    assert files.metrics.read_bytes() == written[files.metrics]


def test_ht_layout_with_rel2id_keeps_a_relation_without_demos_and_warns_once(tmp_path):
    data = tmp_path / "fewshot"
    data.mkdir()
    for name in ("train.txt", "test.txt"):
        (data / name).write_text((DATA / "fewshot" / name).read_text())
    rel2id = json.loads((DATA / "fewshot" / "rel2id.json").read_text())
    (data / "rel2id.json").write_text(json.dumps({**rel2id, "per:title": len(rel2id)}))
    out = tmp_path / "out"
    with FakeOpenAI(lambda body: "person:title") as fake:
        args = ["-tp", data / "train.txt", "-ttp", data / "test.txt", "-os", out, "-on", out, "--prompt", "instruct",
                "--k", 5, "--base_url", fake.base_url, "--model", "fake"]
        proc = run(args, tmp_path)
        header = FakeOpenAI.prompt_of(fake.requests[0]).splitlines()[0]
    assert header.endswith("organization:country of headquarters, person:title.")
    assert proc.stderr.count("no demo") == 1 and "per:title" in proc.stderr
    assert proc.stderr.count("fewer than k=5") == 1
    metrics = printed_metrics(proc.stdout)
    assert metrics["acc"] == 0.0 and metrics["micro_p"] == 0.0  # 10 wrong positives


def test_schema_prompt_on_data_without_types_is_a_one_line_error(tmp_path):
    args = ["-tp", DATA / "fewshot" / "train.txt", "-ttp", DATA / "fewshot" / "test.txt", "-os", tmp_path,
            "-on", tmp_path, "--prompt", "text_schema", "--base_url", "http://127.0.0.1:9/v1", "--model", "m"]
    proc = run(args, tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == 'error: train.txt:1: field "subj_type": missing (--prompt text_schema shows ' \
                                  'entity types)'


@pytest.mark.slow
def test_local_hf_backend_runs_offline_and_accounts_for_every_item(tmp_path, toy_llama_path):
    out = tmp_path / "out"
    args = ["-tp", DATA / "train.json", "-ttp", DATA / "test.json", "-os", out, "-on", out, "--prompt", "text",
            "--backend", "hf", "--base_model", toy_llama_path, "--max_tokens", 4, "--no_cache"]
    proc = run(args, tmp_path)
    metrics = printed_metrics(proc.stdout)
    parsed = (out / "os.json").read_text().splitlines()
    unparsed = json.loads((out / "no.json").read_text()) if (out / "no.json").exists() else []
    assert len(parsed) + len(unparsed) == 10 and metrics["unparsed"] == len(unparsed) and metrics["failed"] == 0


def test_backoff_flag_sets_the_wait_before_retrying_a_429(tmp_path):
    arrivals = []

    def once_429(body):
        arrivals.append(time.monotonic())
        return {"status": 429, "error": "slow down"} if len(arrivals) == 1 else "no relation"

    test_file = tmp_path / "test.json"
    first = json.loads((DATA / "test.json").read_text(encoding="utf-8"))[0]
    test_file.write_text(json.dumps(first) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    with FakeOpenAI(once_429) as fake:
        proc = run(["-tp", DATA / "train.json", "-ttp", test_file, "-os", out, "-on", out / "nores", "--prompt", "text",
                    "--k", 1, "--base_url", fake.base_url, "--model", "fake", "--max_retries", 1, "--backoff", 3,
                    "--backoff_max", 4], tmp_path)
    assert len(arrivals) == 2
    # backoff 3 waits 1.5-3 s before the first retry (the default, 1.0, would wait 0.5-1 s)
    assert arrivals[1] - arrivals[0] >= 1.5
    assert "1 retries" in proc.stderr

