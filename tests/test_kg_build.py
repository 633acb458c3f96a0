"""core.kg build: every case's record shape, normalisation switches, duplicates, failed records, summary, CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.io import DataError
from core.kg import build_graph, normalize_name, register_shape
from core.kg.readers import SHAPES, read_record

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "kg"
RECORDS = DATA / "records.jsonl"


def edges_of(graph):
    return {(graph.nodes[e.head].name, e.relation, graph.nodes[e.tail].name): e for e in graph.edges}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_every_case_shape_gives_the_hand_computed_edges():
    graph = build_graph([RECORDS], progress=False)
    assert set(edges_of(graph)) == {
        ("Ada Lovelace", "born in", "London"),  # InstructKGC `triples` (ikgc-1) + ikgc-4
        ("Ada Lovelace", "worked with", "Charles Babbage"),  # InstructKGC `kg`, full-width + whitespace folded
        ("Paul Green", "Work for", "Sunrise Bakery"),  # CodeKGC
        ("London", "located in", "England"),  # LLMICL RTE pred.triples
        ("Charles Babbage", "born in", "London"),  # LLMICL RE
        ("Sunrise Bakery", "org:founded_by", "Paul Green"),  # UnleashLLMRE TACRED + pr
    }
    s = graph.summary()
    assert s["shapes"] == {"triples": 7, "re_pair": 2, "tacred": 2}
    assert (s["nodes"], s["edges"], s["mentions"]) == (10, 6, 7)


def test_failed_records_are_counted_listed_and_never_become_nodes_or_edges():
    graph = build_graph([RECORDS], progress=False)
    s = graph.summary()
    assert s["records"] == 11 and s["records_used"] == 9 and s["records_failed"] == 2
    assert [(f["id"], f["line"], f["status"]) for f in s["failed"]] == [("ikgc-3", 3, "failed"), ("code-2", 5, "unparsable")]
    names = {n.name for n in graph.nodes}
    assert "Ghost" not in names and "Castle" not in names


def test_a_fact_stated_by_two_records_is_one_edge_with_count_two_and_both_provenances():
    graph = build_graph([RECORDS], run="r1", model="m1", progress=False)
    edge = edges_of(graph)[("Ada Lovelace", "born in", "London")]
    assert edge.count == 2
    assert [(p["record"], p["line"], p["text"], p["run"], p["model"]) for p in edge.provenance] == [
        ("ikgc-1", 1, "Ada Lovelace was born in London.", "r1", "m1"),
        ("ikgc-4", 11, "Lovelace (born in London) wrote notes.", "r1", "m1"),
    ]


def test_summary_histogram_isolated_nodes_and_top_degree():
    s = build_graph([RECORDS], progress=False).summary(top=2)
    assert s["relations"] == {"born in": 2, "Work for": 1, "located in": 1, "org:founded_by": 1, "worked with": 1}
    # negative RE / TACRED records contribute their typed entities but no edge
    assert s["isolated_nodes"] == 4
    assert set(s["isolated"]) == {"Alan Turing", "Kurt Gödel", "Grace Hopper", "Jean Sammet"}
    assert s["records_negative"] == 2
    assert s["top_degree"] == [["London", 3], ["Ada Lovelace", 2]]


def test_types_come_from_the_case_that_knows_them():
    graph = build_graph([RECORDS], progress=False)
    types = {n.name: n.types for n in graph.nodes}
    assert types["Paul Green"] == ["person", "PERSON"]  # CodeKGC then TACRED
    assert types["Ada Lovelace"] == []
    assert types["Kurt Gödel"] == ["PER"]


def test_normalisation_folds_width_and_whitespace_only_inside_the_fullwidth_block():
    assert normalize_name("Ａｄａ　Ｌｏｖｅｌａｃｅ") == "Ada Lovelace"
    assert normalize_name("  Charles \n\t Babbage ") == "Charles Babbage"
    assert normalize_name("（北京）") == "(北京)"
    assert normalize_name("ｶﾀｶﾅ") == "カタカナ"  # half-width katakana -> full width
    assert normalize_name("①ﬁ²") == "①ﬁ²"  # NFKC would change these; width folding leaves them alone
    assert normalize_name("Ａ  b", normalize=False) == "Ａ  b"
    assert normalize_name("Straße", casefold=True) == "strasse"


def test_no_normalize_keeps_names_exactly(tmp_path):
    graph = build_graph([RECORDS], normalize=False, progress=False)
    names = {n.name for n in graph.nodes}
    assert "Ａｄａ　Ｌｏｖｅｌａｃｅ" in names and "Charles \n Babbage" in names and "Ada Lovelace" in names
    assert graph.summary()["nodes"] == 12


def test_casefold_merges_spellings_and_keeps_the_first_one(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [
        {"id": 1, "text": "a", "kg": [["Paris", "Capital Of", "France"]]},
        {"id": 2, "text": "b", "kg": [["PARIS", "capital of", "france"]]},
    ])  # fmt: skip
    assert len(build_graph(path, progress=False).edges) == 2
    graph = build_graph(path, casefold=True, progress=False)
    assert [(graph.nodes[e.head].name, e.relation, graph.nodes[e.tail].name, e.count) for e in graph.edges] == [
        ("Paris", "capital of", "France", 2)
    ]


def test_the_same_record_twice_counts_once_but_two_runs_count_twice(tmp_path):
    rec = {"id": "x", "text": "t", "kg": [["A", "r", "B"], ["A", "r", "B"]]}
    path = write_jsonl(tmp_path / "r.jsonl", [rec, rec])
    assert build_graph(path, progress=False).edges[0].count == 1
    graph = build_graph([path, path], run=["run1", "run2"], progress=False)
    assert [p["run"] for p in graph.edges[0].provenance] == ["run1", "run2"]


def test_empty_names_are_counted_as_invalid_not_turned_into_edges(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{"id": 7, "kg": [[" ", "r", "B"], ["A", "r", "B"]]}])
    graph = build_graph(path, progress=False)
    s = graph.summary()
    assert s["edges"] == 1 and s["invalid_triples"] == 1 and s["invalid"] == [{"file": "r.jsonl", "line": 1, "id": "7", "triple": 0}]


def test_raw_inference_output_is_parsed_not_its_gold_kg(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [
        {"id": 1, "input": "甲属于乙", "output": "(甲,属于,乙)", "kg": [["GOLD", "gold", "GOLD"]]},
    ])  # fmt: skip
    assert set(edges_of(build_graph(path, progress=False))) == {("甲", "属于", "乙")}


def test_llmicl_pred_status_failed_is_skipped_and_pred_list_is_read():
    _, read = read_record({"id": 1, "text": "t", "pred": {"status": "failed", "triples": []}})
    assert read.status == "failed"
    _, read = read_record({"id": 1, "text": "t", "pred": [["A", "r", "B"]]})
    assert [(m.head, m.relation, m.tail) for m in read.mentions] == [("A", "r", "B")]


def test_tacred_spans_are_inclusive_token_indices():
    rec = {"token": ["Rita", "Gomes", "was", "born", "in", "Porto"], "subj_start": 0, "subj_end": 1,
           "obj_start": 5, "obj_end": 5, "subj_type": "PERSON", "obj_type": "CITY", "relation": "per:city_of_birth"}  # fmt: skip
    shape, read = read_record(rec)
    assert shape == "tacred" and read.text == "Rita Gomes was born in Porto"
    assert [(m.head, m.relation, m.tail, m.head_type, m.tail_type) for m in read.mentions] == [
        ("Rita Gomes", "per:city_of_birth", "Porto", "PERSON", "CITY")
    ]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": 1, "text": "no triples here"}, "no triples found"),
        ({"id": 1, "kg": "A,r,B"}, 'field "kg": expected a list of triples'),
        ({"id": 1, "kg": [["A", "r"]]}, 'field "kg[0]": a triple must be [head, relation, tail]'),
        ({"id": 1, "triples": [{"head": "A", "relation": "r"}]}, 'field "triples[0].tail": missing'),
        ({"token": ["a"], "subj_start": 0, "subj_end": 3, "obj_start": 0, "obj_end": 0, "pr": "r"}, "outside"),
        ({"head_entity": "A", "tail_entity": "B"}, 'field "pred": missing'),
    ],
)
def test_bad_records_raise_one_line_errors_naming_file_line_and_field(tmp_path, record, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"id": 0, "kg": []}, record])
    with pytest.raises(DataError) as err:
        build_graph(path, progress=False)
    assert str(err.value).startswith("bad.jsonl:2: ") and message in str(err.value)


def test_shape_registry_refuses_duplicates_and_a_new_shape_is_used(tmp_path):
    with pytest.raises(ValueError, match="already registered"):
        register_shape("tacred", lambda r: False, lambda r, w: None)
    from core.kg.readers import Mention, Read

    register_shape("test_spo", lambda r: "spo" in r, lambda r, w: Read([Mention(*r["spo"])], text=r.get("s")))
    try:
        path = write_jsonl(tmp_path / "r.jsonl", [{"id": 1, "spo": ["A", "r", "B"], "s": "A r B"}])
        graph = build_graph(path, progress=False)
        assert set(edges_of(graph)) == {("A", "r", "B")} and graph.edges[0].provenance[0]["text"] == "A r B"
    finally:
        SHAPES.pop("test_spo")


def run_cli(*args, cwd=ROOT):
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "core.kg", *args], capture_output=True, text=True, env=env, cwd=cwd)


def test_cli_build_writes_the_graph_and_prints_the_summary(tmp_path):
    out = tmp_path / "g.jsonl"
    res = run_cli("build", "--input", str(RECORDS), "--input", str(RECORDS), "--output", str(out), "--run", "[a,b]")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["records"] == 22 and summary["edges"] == 6 and summary["mentions"] == 14
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["format"] == "kgllm-graph" and sum(x["type"] == "edge" for x in lines) == 6


def test_cli_bad_input_is_one_line_exit_2_and_no_output_file(tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": 1, "kg": [["A", "r", "B"]]}, {"id": 2, "kg": [["A"]]}])
    out = tmp_path / "g.jsonl"
    res = run_cli("build", "--input", str(bad), "--output", str(out))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == ['error: bad.jsonl:2: field "kg[0]": a triple must be [head, relation, tail] of strings']
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
    res = run_cli("stats", "--input", str(tmp_path / "missing.jsonl"))
    assert res.returncode == 2 and res.stderr.startswith("error: missing.jsonl: no such file")


def test_a_failed_record_is_skipped_whatever_else_it_holds(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [
        {"id": 1, "status": "failed", "raw": "garbage"},  # no triple field at all
        {"id": 2, "status": "Error", "triples": "not a list"},
        {"id": 3, "kg": [["A", "r", "B"]]},
    ])  # fmt: skip
    s = build_graph(path, progress=False).summary()
    assert (s["records_failed"], s["edges"]) == (2, 1)
    assert [f["id"] for f in s["failed"]] == ["1", "2"]


def test_a_null_prediction_never_falls_back_to_the_gold_relation():
    rec = {"id": 1, "text": "t", "head_entity": "A", "tail_entity": "B", "relation": "gold_rel", "pred": None,
           "status": "repaired"}  # fmt: skip
    _, read = read_record(rec)
    assert read.mentions == [] and read.negative and read.entities == [("A", None), ("B", None)]
    _, read = read_record({**rec, "pred": "pred_rel"})
    assert [m.relation for m in read.mentions] == ["pred_rel"]
    gold_only = {k: v for k, v in rec.items() if k != "pred"}  # gold data: no prediction field at all
    assert [m.relation for m in read_record(gold_only)[1].mentions] == ["gold_rel"]


def test_cli_help_lists_every_command_and_repeated_inputs_merge(tmp_path):
    res = run_cli("--help")
    assert res.returncode == 0 and all(c in res.stdout + res.stderr for c in ("build", "export", "load", "query", "stats"))
    from core.flags import parse
    from core.kg.__main__ import commands

    flags = next(c for c in commands() if c.name == "stats").flags()
    assert parse(flags, ["-i", "a b.jsonl", "--input=c.jsonl,d.jsonl"], "kg")["input"] == ["a b.jsonl", "c.jsonl", "d.jsonl"]
    assert parse(flags, ["--input", "a.jsonl", "b.jsonl", "--top", "3"], "kg")["input"] == ["a.jsonl", "b.jsonl"]
    assert parse(flags, ["--input", "a.jsonl"], "kg")["input"] == ["a.jsonl"]


def test_lone_surrogates_from_json_become_replacement_characters_and_every_format_writes(tmp_path):
    from core.kg import export, formats

    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "x\\ud800", "text": "t\\udfff", "kg": [["A\\ud800", "r", "B"]]}\n', encoding="utf-8")
    graph = build_graph(path, progress=False)
    assert set(edges_of(graph)) == {("A\ufffd", "r", "B")}
    assert graph.edges[0].provenance[0]["record"] == "x\ufffd" and graph.edges[0].provenance[0]["text"] == "t\ufffd"
    for fmt in formats():
        export(graph, fmt, tmp_path / f"out-{fmt}")
