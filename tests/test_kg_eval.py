"""`core.kg eval` on a hand-made gold / prediction pair: every printed figure against its hand computation.

Gold: 5 entities (Marie Curie with aliases Curie and Maria Skłodowska, Pierre Curie, Warsaw, Paris, Sorbonne with
alias University of Paris), 4 edges. Prediction (7 nodes, 6 edges), built to hold one of everything:

    n0 Maria Skłodowska PER   alias-matches Marie Curie only        -> with n1: a duplicate of Marie Curie
    n1 Marie Curie PER        matches Marie Curie (strict too)
    n2 Curie PER, alias Pierre Curie   matches Marie (alias Curie) and Pierre -> an over-merge
    n3 Warsaw LOC, n4 Paris LOC        match (strict too)
    n5 Sorbonne LOC           gold Sorbonne is ORG: incompatible types, no match
    n6 Berlin CAPITAL         not in the gold

    e0 n1 born in n3   exact/exact            strict ok, alias ok
    e1 n0 born in n3   fuzzy/exact            alias would match the edge e0 already took: wrong (one to one)
    e2 n2 born in n4   [ungrounded/exact, exact/fuzzy]  alias ok (Pierre born in Paris)
    e3 n1 spouse n2    no grounding status    alias ok (Marie spouse Pierre)
    e4 n1 worked at n5 exact/ungrounded       wrong (n5 matches nothing)
    e5 n1 visited n6   exact/exact            wrong
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.io import DataError
from core.kg import Edge, Graph, Node, export
from core.kg.evaluate import evaluate, read_run_report, render_table
from core.kg.gold import read_gold
from core.schema import Schema

ROOT = Path(__file__).resolve().parents[1]
GOLD = [
    {"entity": "Marie Curie", "aliases": ["Curie", "Maria Skłodowska"], "type": "PER"},
    {"entity": "Pierre Curie", "type": "PER"},
    {"entity": "Warsaw", "type": "LOC"},
    {"entity": "Paris", "type": "LOC"},
    {"entity": "Sorbonne", "aliases": ["University of Paris"], "type": "ORG"},
    {"head": "Marie Curie", "relation": "born in", "tail": "Warsaw"},
    {"head": "Pierre Curie", "relation": "born in", "tail": "Paris"},
    {"head": "Curie", "relation": "spouse", "tail": "Pierre Curie"},  # an alias names the entity too
    {"head": "Marie Curie", "relation": "worked at", "tail": "University of Paris"},
]
SCHEMA = {"entity_types": ["PER", "LOC", "ORG"], "relation_types": ["born in", "spouse", "worked at"],
          "relations": {"born in": ["PER", "LOC"], "worked at": ["PER", "ORG"]}}  # fmt: skip
REPORT = {"requests": 12, "usage": {"prompt_tokens": 3000, "completion_tokens": 600}}


def g(head, tail):
    return {"record": "r", "grounding": {"head": head, "tail": tail}}


def pred_graph():
    nodes = [Node("n0", "Maria Skłodowska", ["PER"]), Node("n1", "Marie Curie", ["PER"]),
             Node("n2", "Curie", ["PER"], ["Pierre Curie"]), Node("n3", "Warsaw", ["LOC"]), Node("n4", "Paris", ["LOC"]),
             Node("n5", "Sorbonne", ["LOC"]), Node("n6", "Berlin", ["CAPITAL"])]  # fmt: skip
    edges = [Edge("e0", 1, "born in", 3, [g("exact", "exact")], 1),
             Edge("e1", 0, "born in", 3, [g("fuzzy", "exact")], 1),
             Edge("e2", 2, "born in", 4, [g("ungrounded", "exact"), g("exact", "fuzzy")], 2),
             Edge("e3", 1, "spouse", 2, [{"record": "r"}], 1),
             Edge("e4", 1, "worked at", 5, [g("exact", "ungrounded")], 1),
             Edge("e5", 1, "visited", 6, [g("exact", "exact")], 1)]  # fmt: skip
    return Graph(nodes, edges, {})


@pytest.fixture
def files(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in GOLD), encoding="utf-8")
    schema, report = tmp_path / "schema.json", tmp_path / "report.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    report.write_text(json.dumps(REPORT), encoding="utf-8")
    pred = export(pred_graph(), "jsonl", tmp_path / "pred.jsonl")
    return gold, pred, schema, report


def scores(precision, recall, correct, pred, gold):
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": pytest.approx(precision), "recall": pytest.approx(recall), "f1": pytest.approx(f1),
            "correct": correct, "pred": pred, "gold": gold}  # fmt: skip


def test_every_figure_is_the_hand_computed_one(files):
    gold, pred, schema, report = files
    r = evaluate(read_gold(gold), pred_graph(), Schema.load(schema), read_run_report(report))
    assert r["gold"] == {"entities": 5, "edges": 4} and r["pred"] == {"nodes": 7, "edges": 6}
    assert r["nodes"]["strict"] == scores(3 / 7, 3 / 5, 3, 7, 5)  # n1, n3, n4
    assert r["nodes"]["strict"]["f1"] == pytest.approx(0.5)
    assert r["nodes"]["alias"] == scores(4 / 7, 4 / 5, 4, 7, 5)  # + n2 -> Pierre (n0/n1 share Marie)
    assert r["nodes"]["alias"]["f1"] == pytest.approx(2 / 3)
    assert r["edges"]["strict"] == scores(1 / 6, 1 / 4, 1, 6, 4)  # e0
    assert r["edges"]["strict"]["f1"] == pytest.approx(0.2)
    assert r["edges"]["alias"] == scores(3 / 6, 3 / 4, 3, 6, 4)  # e0 (or e1), e2, e3
    assert r["edges"]["alias"]["f1"] == pytest.approx(0.6)
    assert r["relations"] == {
        "born in": {"strict": scores(1 / 3, 1 / 2, 1, 3, 2), "alias": scores(2 / 3, 1, 2, 3, 2)},
        "spouse": {"strict": scores(0, 0, 0, 1, 1), "alias": scores(1, 1, 1, 1, 1)},
        "visited": {"strict": scores(0, 0, 0, 1, 0), "alias": scores(0, 0, 0, 1, 0)},
        "worked at": {"strict": scores(0, 0, 0, 1, 1), "alias": scores(0, 0, 0, 1, 1)},
    }
    assert r["duplicates"] == {"rate": 0.25, "entities_split": 1, "entities_found": 4, "pairs": 3,
                               "examples": [["Maria Skłodowska", "Marie Curie", "Curie"]]}  # fmt: skip
    assert r["over_merges"] == {"rate": 0.2, "nodes": 1, "nodes_matched": 5,
                                "examples": [{"node": "Curie", "gold": ["Marie Curie (PER)", "Pierre Curie (PER)"]}]}
    assert r["grounding"] == {"edges": 5, "exact": 0.4, "fuzzy": 0.4, "ungrounded": 0.2, "exact_edges": 2,
                              "fuzzy_edges": 2, "ungrounded_edges": 1, "without_status": 1}  # e0 e5 / e1 e2 / e4 / e3
    assert r["schema"] == {"edges": pytest.approx(4 / 6), "edges_conforming": 4, "edges_total": 6,
                           "node_types": pytest.approx(6 / 7), "nodes_conforming": 6, "nodes_typed": 7}  # e4 e5; n6
    assert r["cost"] == {"requests": 12, "tokens": 3600, "correct_triples": 3, "requests_per_correct_triple": 4.0,
                         "tokens_per_correct_triple": 1200.0}  # fmt: skip


def test_the_table_prints_the_same_figures_and_says_n_a_when_an_input_is_missing(files):
    gold, pred, schema, report = files
    table = render_table(evaluate(read_gold(gold), pred_graph(), Schema.load(schema), read_run_report(report)))
    lines = table.splitlines()
    assert lines[1].split() == ["nodes", "(strict)", "0.4286", "0.6000", "0.5000", "3", "7", "5"]
    assert lines[4].split() == ["edges", "(alias)", "0.5000", "0.7500", "0.6000", "3", "6", "4"]
    assert "grounding: exact 0.4000 (2), fuzzy 0.4000 (2), ungrounded 0.2000 (1) of 5 edges" in table
    assert "schema: edges 0.6667 (4/6), node types 0.8571 (6/7)" in table
    assert "4.0000 requests and 1200.0000 tokens per correct triple" in table
    assert "duplicates: 1 of 4 gold entities found" in table and "over-merges: 1 of 5 matched nodes" in table
    bare = Graph([Node("n0", "Warsaw", ["LOC"])], [], {})
    plain = render_table(evaluate(read_gold(gold), bare))
    assert "grounding: n/a" in plain and "schema: n/a" in plain and "cost: n/a" in plain


def test_cli_eval_prints_json_writes_output_and_kgllm_dispatches_to_it(files, tmp_path):
    gold, pred, schema, report = files
    out = tmp_path / "eval.json"
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    args = ["eval", "--gold", str(gold), "--pred", str(pred), "--schema", str(schema), "--run_report", str(report),
            "--format", "json", "--output", str(out)]  # fmt: skip
    res = subprocess.run([sys.executable, "-m", "core.kg", *args], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    printed = json.loads(res.stdout)
    assert printed == json.loads(out.read_text(encoding="utf-8"))
    assert printed["edges"]["alias"]["correct"] == 3 and printed["cost"]["tokens"] == 3600
    res = subprocess.run([sys.executable, "-m", "core.cli", "kg", *args[:5]], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[2].split()[-3:] == ["4", "7", "5"]  # `kgllm kg eval` -> the same command


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"entity": "A"}', '{"entity": "A"}'], "gold.jsonl:2: entity 'A' is listed twice"),
        (['{"entity": "A", "type": "X"}', '{"entity": "A", "type": "Y"}', '{"head": "A", "relation": "r", "tail": "B"}'],
         'gold.jsonl:3: field "head": \'A\' names 2 entities: give head_id or head_type'),
        (['{"head_id": "nope", "relation": "r", "tail": "B"}'], 'gold.jsonl:1: field "head_id": no entity with id'),
        (['{"head": "A", "tail": "B"}'], "gold.jsonl:1: expected an entity"),
        (['{"entity": "A", "aliases": "B C"}', '{"entity": "B", "aliases": [1]}'], 'gold.jsonl:2: field "aliases"'),
    ],
)
def test_bad_gold_files_are_one_line_errors(tmp_path, lines, message):
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_gold(path)
    assert str(err.value).startswith(message)


def test_homonyms_in_the_gold_are_told_apart_by_type_and_id_and_a_graph_file_is_a_gold_too(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in [
        {"entity": "Apple", "type": "ORG", "id": "a1"}, {"entity": "Apple", "type": "FRUIT", "id": "a2"},
        {"head": "Apple", "head_type": "ORG", "relation": "makes", "tail": "iPhone"},
        {"head_id": "a2", "relation": "grows on", "tail": "tree"}]) + "\n", encoding="utf-8")  # fmt: skip
    gold = read_gold(path)
    assert [(e.id, e.name) for e in gold.entities] == [("a1", "Apple"), ("a2", "Apple"), ("iPhone", "iPhone"),
                                                       ("tree", "tree")]  # fmt: skip
    assert gold.edges == [(0, "makes", 2), (1, "grows on", 3)]
    as_graph = export(pred_graph(), "jsonl", tmp_path / "g.jsonl")
    r = evaluate(read_gold(as_graph), pred_graph())  # a graph scored against itself
    assert r["nodes"]["strict"]["f1"] == r["edges"]["strict"]["f1"] == 1.0


def test_run_report_fields(tmp_path):
    path = tmp_path / "r.json"
    for data, want in [({"requests": 3, "tokens": 90}, (3, 90)), ({"requests": 2, "total_tokens": 5}, (2, 5)),
                       ({"usage": {"prompt_tokens": 4}}, (None, 4))]:  # fmt: skip
        path.write_text(json.dumps(data), encoding="utf-8")
        assert tuple(read_run_report(path).values()) == want
    path.write_text(json.dumps({"requests": -1}), encoding="utf-8")
    with pytest.raises(DataError, match='field "requests": expected a whole number'):
        read_run_report(path)
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(DataError, match="needs requests and/or tokens"):
        read_run_report(path)
