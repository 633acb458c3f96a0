"""kgllm extract runs against the loopback gold oracle: chunk overlap, gleaning, other tasks, unreadable files, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.extract import extract
from core.extract.oracle import GoldOracle, load_facts
from core.kg import read_graph
from core.testing.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "examples" / "corpus"
EN = dict(model="fake-model", no_cache=True, schema_batch=0, no_resolve=True, formats="", quiet=True)
SAID_EN = {(f["head"], f["relation"], f["tail"]) for f in load_facts(CORPUS / "gold.json") if f["file"][:3] == "en/"}



def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def said(folder: Path) -> set[tuple[str, str, str]]:
    return {(m["head"], m["relation"], m["tail"]) for m in jsonl(folder / "mentions.jsonl") if m["kept"]}


def edges(folder: Path) -> set[tuple[str, str, str]]:
    g = read_graph(folder / "graph.jsonl")
    return {(g.nodes[e.head].name, e.relation, g.nodes[e.tail].name) for e in g.edges}


@pytest.mark.parametrize("folder, schema", [("en", "schema.en.json"), ("zh", "schema.zh.json")])
def test_facts_across_a_chunk_boundary_are_found_with_overlap_and_lost_without(tmp_path, folder, schema):
    facts = [f for f in load_facts(CORPUS / "gold.json") if f["file"].startswith(folder + "/")]
    every = {(f["head"], f["relation"], f["tail"]) for f in facts}
    oracle = GoldOracle.from_gold(CORPUS / "gold.json")
    with FakeOpenAI(oracle) as fake:
        for name, overlap in (("no", 0), ("yes", 30)):
            extract([CORPUS / folder], CORPUS / schema, tmp_path / name, base_url=fake.base_url, chunk_tokens=90,
                    overlap_tokens=overlap, **EN)
    chunks = jsonl(tmp_path / "no" / "chunks.jsonl")
    across = {(f["head"], f["relation"], f["tail"]) for f in facts
              if not any(f["evidence"] in c["text"] for c in chunks if c["document"] == Path(f["file"]).name)}
    assert len(across) == 2  # stated over two sentences that a chunk boundary splits when chunks do not overlap
    assert said(tmp_path / "no") == every - across
    assert said(tmp_path / "yes") == every
    # without overlap the chunks tile each document; with it, each chunk starts inside the one before
    for name, tiled in (("no", True), ("yes", False)):
        rows = jsonl(tmp_path / name / "chunks.jsonl")
        for doc in {c["document"] for c in rows}:
            spans = [(c["start"], c["end"]) for c in rows if c["document"] == doc]
            assert all((a[1] <= b[0]) == tiled for a, b in zip(spans, spans[1:], strict=False))


def _gleaning_corpus(tmp: Path) -> tuple[Path, Path]:
    text = ("Ann Lee was born in Oslo. Ann Lee died in Bergen. Ann Lee played for the Oslo Lions.\n\n"
            "Nothing else happened that year, and the weather was mild.")
    (tmp / "docs").mkdir()
    (tmp / "docs" / "ann.txt").write_text(text, encoding="utf-8")
    (tmp / "docs" / "quiet.txt").write_text("The weather was mild. The harbour was calm all summer.", encoding="utf-8")
    gold = {"documents": [{"file": "docs/ann.txt", "language": "en", "entities": [
        {"name": "Ann Lee", "type": "person", "aliases": []}, {"name": "Oslo", "type": "location", "aliases": []},
        {"name": "Bergen", "type": "location", "aliases": []},
        {"name": "Oslo Lions", "type": "organization", "aliases": []}], "triples": [
        {"head": "Ann Lee", "relation": "born in", "tail": "Oslo", "evidence": "Ann Lee was born in Oslo."},
        {"head": "Ann Lee", "relation": "died in", "tail": "Bergen", "evidence": "Ann Lee died in Bergen."},
        {"head": "Ann Lee", "relation": "played for", "tail": "Oslo Lions",
         "evidence": "Ann Lee played for the Oslo Lions."}]}]}
    (tmp / "gold.json").write_text(json.dumps(gold), encoding="utf-8")
    return tmp / "docs", tmp / "gold.json"


@pytest.mark.parametrize("per_pass, passes, requests, added", [
    (2, 5, [2, 1, 1], [2, 1, 0]),  # pass 2 adds the third fact, pass 3 adds nothing: the loop stops
    (1, 2, [2, 1], [1, 1]),  # at most 2 passes: the third fact is never asked for
    (3, 4, [2, 1], [3, 0]),  # everything in pass 1: one gleaning pass finds nothing more
])
def test_gleaning_adds_what_a_pass_found_and_stops_when_a_pass_adds_nothing(tmp_path, per_pass, passes, requests,
                                                                           added):
    docs, gold = _gleaning_corpus(tmp_path)
    oracle = GoldOracle.from_gold(gold, per_pass=per_pass)
    with FakeOpenAI(oracle) as fake:
        report = extract([docs], CORPUS / "schema.en.json", tmp_path / "out", base_url=fake.base_url, passes=passes,
                         chunk_tokens=200, overlap_tokens=0, **EN)
        assert fake.count == sum(requests)
    assert [p["requests"] for p in report["passes"]] == requests
    assert [p["added"] for p in report["passes"]] == added
    assert len(edges(tmp_path / "out")) == sum(added)
    glean = [p for p in oracle.prompts if "already extracted" in p]
    assert len(glean) == sum(requests[1:])
    if glean:  # a gleaning prompt lists what earlier passes found
        assert '{"head": "Ann Lee", "relation": "born in", "tail": "Oslo"' in glean[0]
    rows = jsonl(tmp_path / "out" / "extractions.jsonl")
    assert [r["id"] for r in rows][: 2] == ["ann.txt::0::0::1", "quiet.txt::0::0::1"]
    assert sum(r["new"] for r in rows) == sum(added)


@pytest.mark.parametrize("task", ["rte", "ccks"])
def test_other_tasks_extract_from_documents_by_name(tmp_path, task):
    oracle = GoldOracle.from_gold(CORPUS / "gold.json", style=task)
    with FakeOpenAI(oracle) as fake:
        report = extract([CORPUS / "en"], CORPUS / "schema.en.json", tmp_path / "out", base_url=fake.base_url,
                         task=task, chunk_tokens=120, overlap_tokens=40, **{**EN, "schema_batch": 5})
        assert fake.count == report["requests"] == report["chunks"] * 3
    assert edges(tmp_path / "out") == SAID_EN
    if task == "ccks":
        start = "Given the candidate relation list: ['born in', 'died in', 'educated at', 'spouse of', 'child of'], "
        assert sum(p.startswith(start) for p in oracle.prompts) == report["chunks"]
    else:
        clause = "only these relations: born in, died in, educated at, spouse of, child of."
        assert sum(clause in p for p in oracle.prompts) == report["chunks"]


def test_unreadable_files_are_named_and_the_others_go_on(tmp_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("Ann Lee was born in Oslo.", encoding="utf-8")
    (docs / "bad.json").write_text('{"text": "x"}\n{"text": oops}\n', encoding="utf-8")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (docs / "notes.xyz").write_text("ignored: not a known document type", encoding="utf-8")
    with FakeOpenAI(lambda body: "") as fake:
        report = extract([docs], CORPUS / "schema.en.json", tmp_path / "out", base_url=fake.base_url,
                         **{**EN, "quiet": False})
    err = capsys.readouterr().err
    assert report["documents"] == 1 and report["chunks"] == 1
    names = ("bad.json", "broken.pdf", "latin1.txt")
    assert [u["file"] for u in report["unreadable"]] == [str(docs / n) for n in names]
    assert report["unreadable"][0]["error"] == "bad.json:2: not valid JSON (Expecting value at column 10)"
    assert "skipped bad.json:2: not valid JSON" in err and "skipped latin1.txt: not UTF-8 text" in err


def test_cli_help_and_one_line_errors(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "core.extract", "--help"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "--chunk_tokens INT" in out.stdout and "--keep_ungrounded" in out.stdout
    assert out.stdout.startswith("Documents in, a grounded knowledge graph out.")
    bad = subprocess.run([sys.executable, "-m", "core.cli", "extract", "--input", str(CORPUS / "en"), "--output",
                          str(tmp_path / "o")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: required: --schema"
    assert not (tmp_path / "o").exists()
    typo = subprocess.run([sys.executable, "-m", "core.extract", "--chunk_token", "5"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert typo.returncode == 2 and "unknown flag --chunk_token (did you mean --chunk_tokens?)" in typo.stderr


@pytest.mark.parametrize("task", ["kg", "ccks"])  # a JSON answer and the (h,r,t) text; rte is JSON like kg
def test_decoding_schema_on_a_local_model_reads_every_answer_with_batch_relations_and_copied_names(tmp_path, task,
                                                                                                   toy_llama_path):
    """--decoding schema on the random toy model: every request's answer parses (free decoding: hardly any), every
    fact's relation is one of its schema batch, heads and tails are copied from the chunk."""
    doc = tmp_path / "docs" / "curie.txt"
    doc.parent.mkdir()
    doc.write_text((CORPUS / "en" / "curie.txt").read_text(encoding="utf-8")[:400], encoding="utf-8")
    relations = set(json.loads((CORPUS / "schema.en.json").read_text(encoding="utf-8"))["relation_types"])
    runs = {}
    for mode in ("free", "schema"):
        out = tmp_path / mode
        extract([doc.parent], CORPUS / "schema.en.json", out, backend="hf", base_model=str(toy_llama_path),
                decoding=mode, task=task, max_tokens=48, chunk_tokens=200, overlap_tokens=0, no_resolve=True,
                formats="", quiet=True, schema_batch=0)
        runs[mode] = jsonl(out / "extractions.jsonl")
        chunks = {c["id"]: c["text"] for c in jsonl(out / "chunks.jsonl")}
    assert sum(r["status"] == "ok" and bool(r["facts"]) for r in runs["free"]) == 0
    assert runs["schema"] and all(r["status"] in ("ok", "repaired") for r in runs["schema"]), runs["schema"]
    for row in runs["schema"]:
        text = chunks["::".join(row["id"].split("::")[:2])]
        for fact in row["facts"]:
            assert fact["relation"] in relations and fact["head"] in text and fact["tail"] in text, fact
