"""Entity resolution on a records-level corpus of our own (English and Chinese, gold aliases, two homonym pairs).

tests/data/resolve/records.jsonl: 21 records, 24 statements, 48 mentions; gold.jsonl: 29 entities with aliases, 24
edges. Every figure below is derived by hand from those two files (see the comments), never from the code under test.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.io import DataError
from core.kg import build_graph
from core.kg.evaluate import evaluate
from core.kg.gold import read_gold

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "resolve"
RECORDS, GOLD = DATA / "records.jsonl", DATA / "gold.jsonl"

# Every union between two different (name, type) forms, with the rule that made it (11; hand-listed from records.jsonl)
EXPECTED_MERGES = {
    ("stated", ("International Business Machines", "ORG"), ("IBM", "ORG")),  # en-1: "... Machines (IBM) ..."
    ("acronym", ("National Aeronautics and Space Administration", "ORG"), ("NASA", "ORG")),  # en-3 / en-4
    ("title", ("Dr. Ada Lovelace", "PER"), ("Ada Lovelace", "PER")),  # en-5 / en-6
    ("exact", ("Ada Lovelace", "PER"), ("Ada Lovelace", None)),  # ikgc-1 has no types: one class for the name
    ("fuzzy", ("Ada Lovelace", "PER"), ("Ada Lovelase", "PER")),  # en-9, ratio 22/24
    ("contained", ("Charles Babbage", "PER"), ("Babbage", "PER")),  # en-7, same document
    ("plural", ("computers", "PRODUCT"), ("computer", "PRODUCT")),  # en-2 / en-8
    ("case", ("London", "LOC"), ("LONDON", "LOC")),  # en-6 / en-10
    ("stated", ("北京大学", "ORG"), ("北大", "ORG")),  # zh-1 states 简称北大; 北大 is mentioned in zh-2
    ("title", ("李明教授", "PER"), ("李明", "PER")),  # zh-3 / zh-4
    ("contained", ("清华大学", "ORG"), ("清华", "ORG")),  # zh-5, same document
}


def merges_of(log):
    out = set()
    for line in log:
        for m in line.get("merges", []) if line["kind"] == "merge" else []:
            out.add((m["rule"], (m["a"], m["a_type"]), (m["b"], m["b_type"])))
    return out


def nodes_named(graph, name):
    return [n for n in graph.nodes if n.name == name]


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    log = tmp_path_factory.mktemp("log") / "merges.jsonl"
    graph = build_graph([RECORDS], resolve=True, merge_log=log, progress=False)
    return graph, [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]


def test_after_resolution_alias_aware_f1_is_one_and_strict_f1_is_the_hand_computed_one(resolved):
    graph, _ = resolved
    r = evaluate(read_gold(GOLD), graph)
    assert (r["nodes"]["alias"]["f1"], r["edges"]["alias"]["f1"]) == (1.0, 1.0)
    # strict: the gold names IBM and 北大 where the resolver keeps the full names (International Business Machines,
    # 北京大学): 27 of 29 nodes; the 4 edges at IBM (en-1 x2, en-2, zh-8) and the 3 at 北大 (zh-1, zh-2, zh-3) miss
    assert (r["nodes"]["strict"]["correct"], r["nodes"]["strict"]["pred"], r["nodes"]["strict"]["gold"]) == (27, 29, 29)
    assert r["nodes"]["strict"]["f1"] == pytest.approx(27 / 29)
    assert (r["edges"]["strict"]["correct"], r["edges"]["strict"]["pred"], r["edges"]["strict"]["gold"]) == (17, 24, 24)
    assert r["edges"]["strict"]["f1"] == pytest.approx(17 / 24)
    assert r["duplicates"]["entities_split"] == 0 and r["over_merges"]["nodes"] == 0


def test_without_resolution_the_same_corpus_has_duplicates_and_merged_homonyms():
    r = evaluate(read_gold(GOLD), build_graph([RECORDS], progress=False))
    # 37 nodes: 29 entities + 10 extra surface forms - 2 homonym pairs folded into one node each
    assert r["pred"]["nodes"] == 37 and r["duplicates"]["entities_split"] == 9 and r["duplicates"]["pairs"] == 11
    assert r["over_merges"]["nodes"] == 2  # Apple (ORG+FRUIT), 小米 (ORG+CROP)
    assert r["nodes"]["alias"]["correct"] == 27 and r["edges"]["alias"]["f1"] == 1.0


def test_homonyms_stay_apart_and_the_log_says_why(resolved):
    graph, log = resolved
    assert sorted(n.types[0] for n in nodes_named(graph, "Apple")) == ["FRUIT", "ORG"]
    assert sorted(n.types[0] for n in nodes_named(graph, "小米")) == ["CROP", "ORG"]
    apart = {(line["name"], tuple(line["types"])) for line in log if line["kind"] == "apart"}
    assert apart == {("Apple", ("FRUIT", "ORG")), ("小米", ("CROP", "ORG"))}


def test_the_merge_log_lists_every_merge_with_its_rule(resolved):
    graph, log = resolved
    assert merges_of(log) == EXPECTED_MERGES
    merged = {line["canonical"]: line for line in log if line["kind"] == "merge"}
    assert set(merged) == {"International Business Machines", "National Aeronautics and Space Administration",
                           "Ada Lovelace", "Charles Babbage", "computer", "London", "北京大学", "李明", "清华大学"}
    ibm = {m["name"]: m for m in merged["International Business Machines"]["members"]}
    assert ibm["IBM"]["mentions"] == 3  # en-1, en-2 and the full-width ＩＢＭ of zh-8, folded by normalisation
    assert [(p["surface"], p["record"], p["line"]) for p in ibm["IBM"]["provenance"]] == [
        ("IBM", "en-1", 1), ("IBM", "en-2", 2), ("ＩＢＭ", "zh-8", 20)]  # fmt: skip
    fuzzy = [m for m in merged["Ada Lovelace"]["merges"] if m["rule"] == "fuzzy"]
    assert fuzzy[0]["score"] == pytest.approx(22 / 24, abs=1e-4)
    stats = log[-1]
    assert stats["kind"] == "stats" and stats["merges"] == 11 and stats["mentions"] == 48
    assert stats["pairs_compared"] < stats["all_pairs"]
    assert graph.meta["resolution"]["clusters"] == 29 == len(graph.nodes)


def test_nodes_keep_every_surface_form_as_an_alias(resolved):
    graph, _ = resolved
    aliases = {n.name: n.aliases for n in graph.nodes if n.aliases}
    assert aliases == {
        "International Business Machines": ["IBM"], "computer": ["computers"],
        "National Aeronautics and Space Administration": ["NASA"],
        "Ada Lovelace": ["Dr. Ada Lovelace", "Ada Lovelase"], "London": ["LONDON"], "Charles Babbage": ["Babbage"],
        "北京大学": ["北大"], "李明": ["李明教授"], "清华大学": ["清华"],
    }  # fmt: skip


DECISIONS = """# flip one merge, one keep-apart, and rename a node
keep apart "Ada Lovelace" "Ada Lovelase"
merge 小米@ORG 小米@CROP
rename 北大 -> "Peking University"
"""


def test_a_decisions_file_flips_one_merge_and_one_keep_apart(tmp_path):
    dec = tmp_path / "decisions.txt"
    dec.write_text(DECISIONS, encoding="utf-8")
    log_path = tmp_path / "merges.jsonl"
    graph = build_graph([RECORDS], decisions=dec, merge_log=log_path, progress=False)
    log = [json.loads(x) for x in log_path.read_text(encoding="utf-8").splitlines()]
    ada = nodes_named(graph, "Ada Lovelace")[0]
    assert ada.aliases == ["Dr. Ada Lovelace"] and len(nodes_named(graph, "Ada Lovelase")) == 1
    (xiaomi,) = nodes_named(graph, "小米")
    assert xiaomi.types == ["ORG", "CROP"]
    (pku,) = nodes_named(graph, "Peking University")
    assert pku.aliases == ["北京大学", "北大"]
    assert len(graph.nodes) == 29  # one split, one joined
    assert ("decision", ("小米", "ORG"), ("小米", "CROP")) in merges_of(log)
    assert not any(m[0] == "fuzzy" for m in merges_of(log))
    assert [line["rule"] for line in log if line["kind"] == "refused"] == ["fuzzy"]
    assert next(line for line in log if line.get("canonical") == "Peking University")["renamed"] == {
        "from": "北京大学", "decision": "decisions.txt:4"}  # fmt: skip
    r = evaluate(read_gold(GOLD), graph)  # the decided graph, scored: one duplicate, one over-merge
    assert r["duplicates"]["examples"] == [["Ada Lovelace", "Ada Lovelase"]]
    assert r["over_merges"]["examples"] == [{"node": "小米", "gold": ["xiaomi-company", "xiaomi-millet"]}]


def run_cli(*args):
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "core.kg", *args], capture_output=True, text=True, env=env, cwd=ROOT)


def test_cli_rerun_with_decisions_asks_no_model_and_writes_graph_and_log(tmp_path):
    dec = tmp_path / "decisions.txt"
    dec.write_text(DECISIONS + "merge nobody@PER someone\n", encoding="utf-8")
    out, log = tmp_path / "g.jsonl", tmp_path / "merges.jsonl"
    code = ("import sys, runpy; sys.argv = ['core.kg'] + sys.argv[1:]; "
            "from core.kg.__main__ import main; main(); "
            "print('llm modules:', sorted(m for m in sys.modules if m.startswith(('core.llm', 'openai', 'torch'))))")  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code, "build", "--input", str(RECORDS), "--output", str(out),
                          "--decisions", str(dec), "--merge_log", str(log)], capture_output=True, text=True, env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "llm modules: []" in res.stdout  # no model client was even imported: zero model requests
    assert 'warning: decisions.txt:5: no mention named "nobody"@PER' in res.stderr
    nodes = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if '"type": "node"' in x]
    assert {"name": "Peking University", "aliases": ["北京大学", "北大"]}.items() <= next(
        n for n in nodes if n["name"] == "Peking University").items()
    assert log.exists()


def test_cli_merge_log_needs_resolve_and_a_bad_decisions_file_is_one_line_exit_2(tmp_path):
    out = tmp_path / "g.jsonl"
    res = run_cli("build", "--input", str(RECORDS), "--output", str(out), "--merge_log", str(tmp_path / "m.jsonl"))
    assert res.returncode == 2 and res.stderr.strip() == "error: --merge_log needs entity resolution: add --resolve"
    bad = tmp_path / "decisions.txt"
    bad.write_text("merge A B\nsplit A B\n", encoding="utf-8")
    res = run_cli("build", "--input", str(RECORDS), "--output", str(out), "--decisions", str(bad))
    assert res.returncode == 2
    assert res.stderr.strip() == "error: decisions.txt:2: unknown decision 'split': expected merge, keep apart or rename"
    assert not out.exists()


def test_resolution_is_off_by_default_for_core_kg_build():
    graph = build_graph([RECORDS], progress=False)
    assert graph.meta.get("resolution") is None and len(nodes_named(graph, "Apple")) == 1


def test_a_missing_decisions_file_names_it(tmp_path):
    with pytest.raises(DataError, match="nope.txt: no such file"):
        build_graph([RECORDS], decisions=tmp_path / "nope.txt", progress=False)


CHUNKS = [
    {"id": "c1", "doc_id": "D", "text": "Marie Curie was born in Warsaw.", "triples": [
        {"head": "Marie Curie", "head_type": "PER", "relation": "born in", "tail": "Warsaw", "tail_type": "LOC",
         "head_grounding": "exact", "tail_grounding": "exact"}]},
    {"id": "c2", "doc_id": "D", "text": "Curie moved to Paris.", "triples": [
        {"head": "Curie", "head_type": "PER", "relation": "moved to", "tail": "Paris", "tail_type": "LOC",
         "head_grounding": "fuzzy", "tail_grounding": "exact"}]},
    {"id": "c3", "doc_id": "E", "text": "Curie won.", "triples": [
        {"head": "Curie", "head_type": "PER", "relation": "won", "tail": "Nobel Prize", "tail_type": "AWARD",
         "grounding": "ungrounded"}]},
]  # fmt: skip


def test_chunks_of_one_document_resolve_together_and_grounding_reaches_the_edges(tmp_path):
    path = tmp_path / "chunks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in CHUNKS), encoding="utf-8")
    graph = build_graph(path, resolve=True, progress=False)
    # c2's Curie is in Marie Curie's document D (another chunk): contained; c3's Curie (document E) then joins the
    # one node its name already belongs to
    assert [(n.name, n.aliases) for n in graph.nodes] == [("Marie Curie", ["Curie"]), ("Warsaw", []), ("Paris", []),
                                                          ("Nobel Prize", [])]  # fmt: skip
    assert [e.provenance[0]["grounding"] for e in graph.edges] == [
        {"head": "exact", "tail": "exact"}, {"head": "fuzzy", "tail": "exact"},
        {"head": "ungrounded", "tail": "ungrounded"}]  # fmt: skip
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"entity": "Marie Curie", "aliases": ["Curie"], "type": "PER"}\n', encoding="utf-8")
    g = evaluate(read_gold(gold), graph)["grounding"]
    assert (g["exact_edges"], g["fuzzy_edges"], g["ungrounded_edges"], g["without_status"]) == (1, 1, 1, 0)
    for rec in CHUNKS:  # without the document id every chunk is its own document: Curie stays apart from Marie
        rec.pop("doc_id")
    path.write_text("".join(json.dumps(r) + "\n" for r in CHUNKS), encoding="utf-8")
    names = [n.name for n in build_graph(path, resolve=True, progress=False).nodes]
    assert names == ["Marie Curie", "Warsaw", "Curie", "Paris", "Nobel Prize"]
