"""gpt3DA.py end to end against a loopback OpenAI-compatible server, then gpt3ICL.py using what it generated."""

import json
import os
import subprocess
import sys
from pathlib import Path

from core.testing.fake_openai import FakeOpenAI

CASE = Path(__file__).resolve().parents[1]
DATA = CASE / "data"
SECRET = "sk-test-DUMMY-SECRET-da"
VALID = {"relation": "org:founded_by", "context": "Clara Ortiz founded Ortiz Designs in Madrid in 2011.",
         "head": "Ortiz Designs", "head_type": "ORGANIZATION", "tail": "Clara Ortiz", "tail_type": "PERSON"}
ANSWER = "\n".join([
    json.dumps(VALID),
    json.dumps({**VALID, "context": "Tom Ruiz founded Ruiz Tools.", "head": "Ruiz Tools Inc", "tail": "Tom Ruiz"}),
    json.dumps(VALID),
    "I hope these samples help!",
])


def da_responder(body):
    return ANSWER if "relation 'org:founded_by'" in FakeOpenAI.prompt_of(body) else "Sorry, no more samples."


def run(script, args, tmp_path):
    env = dict(os.environ, OPENAI_API_KEY=SECRET, HF_HUB_OFFLINE="1", KGLLM_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, str(CASE / script), *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def da_args(fake, out):
    return ["-dp", DATA / "train.json", "--output_dir", out, "--dataset", "tacred", "--k", 2,
            "--num_per_relation", 3, "--base_url", fake.base_url, "--model", "fake"]


def test_help_lists_the_flags():
    out = subprocess.run([sys.executable, str(CASE / "gpt3DA.py"), "--help"], capture_output=True, text=True,
                         check=True).stdout
    for flag in ("--api_key", "-ak", "--demo_path", "-dp", "--output_dir", "--dataset", "--k", "--num_per_relation",
                 "--seed", "--backend", "--base_url", "--model"):
        assert f" {flag}" in out


def test_only_the_valid_sample_is_kept_in_tacred_format_and_icl_uses_it(tmp_path):
    out = tmp_path / "da"
    with FakeOpenAI(da_responder) as fake:
        proc = run("gpt3DA.py", da_args(fake, out), tmp_path)
        prompts = [FakeOpenAI.prompt_of(b) for b in fake.requests]
    assert len(prompts) == 5  # one request per relation of the demo file
    prompt = next(p for p in prompts if "relation 'org:founded_by'" in p).splitlines()
    assert "STATE OR PROVINCE, DURATION, CRIMINAL CHARGE, MISCELLANEOUS. Here are some samples" in prompt[0]
    assert [json.loads(x)["relation"] for x in prompt[1:3]] == ["org:founded_by"] * 2 and len(prompt) == 4
    assert prompt[3].startswith("Generate 3 more samples like above for the relation 'org:founded_by'.")

    (record,) = [json.loads(x) for x in (out / "generated.json").read_text().splitlines()]
    assert {k: v for k, v in record.items() if k != "id"} == {
        "relation": "org:founded_by", "token": ["Clara", "Ortiz", "founded", "Ortiz", "Designs", "in", "Madrid", "in",
                                                "2011", "."],
        "subj_start": 3, "subj_end": 4, "obj_start": 0, "obj_end": 1, "subj_type": "ORGANIZATION",
        "obj_type": "PERSON", "text": VALID["context"], "subj": "Ortiz Designs", "obj": "Clara Ortiz"}
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["kept"] == 1 and report["relations"]["org:founded_by"]["kept"] == 1
    # the prose line of the JSON-lines answer, and the four other relations' answers without any sample
    assert report["dropped"] == {"head not in text": 1, "duplicate": 1, "not an object": 1, "unreadable answer": 4}
    assert json.loads((out / "da_report.json").read_text()) == report

    icl_out = tmp_path / "icl"
    with FakeOpenAI(lambda body: "no relation") as fake:
        run("gpt3ICL.py", ["-tp", DATA / "train.json", "-ttp", DATA / "test.json", "-os", icl_out, "-on", icl_out,
                           "--prompt", "text_schema", "--k", 10, "--da_path", out / "generated.json",
                           "--base_url", fake.base_url, "--model", "fake"], tmp_path)
        first = FakeOpenAI.prompt_of(fake.requests[0]).splitlines()
    assert ("Context: Clara Ortiz founded Ortiz Designs in Madrid in 2011 . The relation between organization "
            "'Ortiz Designs' and person 'Clara Ortiz' in the context is organization:founded by.") in first
    assert sum(line.endswith(" is organization:founded by.") for line in first) == 4  # 3 from train + the new one

    for path in [*out.rglob("*"), *icl_out.rglob("*"), *(tmp_path / "cache").rglob("*")]:
        assert not path.is_file() or SECRET.encode() not in path.read_bytes(), path


def test_rerun_does_not_duplicate(tmp_path):
    out = tmp_path / "da"
    with FakeOpenAI(da_responder) as fake:
        run("gpt3DA.py", da_args(fake, out), tmp_path)
        first = (out / "generated.json").read_text()
        proc = run("gpt3DA.py", da_args(fake, out), tmp_path)
        assert fake.count == 5  # the rerun found every answer in generated.raw.jsonl
    assert (out / "generated.json").read_text() == first
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (report["kept"], report["dropped"]["duplicate"], report["total_in_file"]) == (0, 2, 1)


def test_per_type_pairs_one_request_each_and_the_sample_kept_for_its_pair(tmp_path):
    out = tmp_path / "da"
    with FakeOpenAI(lambda body: json.dumps(VALID)) as fake:
        proc = run("gpt3DA.py", [*da_args(fake, out), "--per", "types"], tmp_path)
        prompts = [FakeOpenAI.prompt_of(b).splitlines() for b in fake.requests]
    assert len(prompts) == 5  # five (head type, tail type) pairs in train.json
    first = next(p for p in prompts if "whose head entity is of type ORGANIZATION and whose tail entity is of type "
                                       "PERSON" in p[0])
    assert first[-1].startswith("Generate 3 more samples like above, each with a head entity of type ORGANIZATION, "
                                "a tail entity of type PERSON and one of the relations org:founded_by.")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["kept"] == 1 and report["types"]["ORGANIZATION -> PERSON"]["kept"] == 1
    assert report["dropped"] == {"other relation": 4}  # the same answer to the four other pairs
    (record,) = [json.loads(x) for x in (out / "generated.json").read_text().splitlines()]
    assert (record["relation"], record["subj_type"], record["obj_type"]) == ("org:founded_by", "ORGANIZATION",
                                                                              "PERSON")


def test_demos_without_entity_types_are_a_one_line_error(tmp_path):
    env = dict(os.environ, OPENAI_API_KEY=SECRET)
    proc = subprocess.run([sys.executable, str(CASE / "gpt3DA.py"), "-dp", DATA / "fewshot" / "train.txt",
                           "--output_dir", tmp_path, "--dataset", "tacred", "--base_url", "http://127.0.0.1:9/v1"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == 'error: train.txt:1: field "subj_type": missing (the DA prompt shows entity types)'
