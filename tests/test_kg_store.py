"""core.kg load/query: the embedded pyoxigraph store answers SPARQL queries whose answers we know."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import UserError
from core.kg import build_graph
from core.kg.store import format_table, load_store, render_result, run_query, with_prefixes

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "tests" / "data" / "kg" / "records.jsonl"
TRICKY = ROOT / "tests" / "data" / "kg" / "tricky.jsonl"

FACTS = """SELECT ?h ?r ?t ?n WHERE {
  ?s a rdf:Statement ; rdf:subject/rdfs:label ?h ; rdf:predicate/rdfs:label ?r ; rdf:object/rdfs:label ?t ; kg:count ?n
} ORDER BY ?h ?r ?t"""


def cli(*args):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "core.kg", *args], capture_output=True, text=True, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("kg") / "store"
    load_store(build_graph([RECORDS], run="r1", progress=False), path)
    return path


def values(result):
    names, rows = result
    return [tuple(t.value for t in row) for row in rows]


def test_sparql_lists_the_known_facts_with_counts(store):
    assert values(run_query(store, FACTS)) == [
        ("Ada Lovelace", "born in", "London", "2"),
        ("Ada Lovelace", "worked with", "Charles Babbage", "1"),
        ("Charles Babbage", "born in", "London", "1"),
        ("London", "located in", "England", "1"),
        ("Paul Green", "Work for", "Sunrise Bakery", "1"),
        ("Sunrise Bakery", "org:founded_by", "Paul Green", "1"),
    ]


def test_sparql_finds_who_was_born_in_london_and_the_sentences_that_say_so(store):
    q = "SELECT ?who WHERE { ?p rel:born%20in ent:London ; rdfs:label ?who } ORDER BY ?who"
    assert values(run_query(store, q)) == [("Ada Lovelace",), ("Charles Babbage",)]
    q = """SELECT ?text ?record ?run WHERE { ?s rdf:subject ent:Ada%20Lovelace ; rdf:object ent:London ;
             kg:source [ kg:text ?text ; kg:record ?record ; kg:run ?run ] } ORDER BY ?record"""
    assert values(run_query(store, q)) == [
        ("Ada Lovelace was born in London.", "ikgc-1", "r1"),
        ("Lovelace (born in London) wrote notes.", "ikgc-4", "r1"),
    ]


def test_ask_types_and_failed_records(store):
    assert run_query(store, "ASK { ent:Kurt%20G%C3%B6del a type:PER }") is True
    assert run_query(store, 'ASK { ?e rdfs:label "Ghost" }') is False  # a failed record is never loaded


def test_the_store_persists_and_a_second_load_adds_without_duplicating(store, tmp_path):
    res = cli("query", "--store", str(store), "--format", "json", "SELECT (COUNT(*) AS ?n) WHERE { ?s a kg:Entity }")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == [{"n": "10"}]
    load_store(build_graph([RECORDS], run="r1", progress=False), store)  # the same triples again: a set, no change
    assert values(run_query(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s a rdf:Statement }")) == [("6",)]


def test_tricky_names_come_back_from_the_store_unchanged(tmp_path):
    graph = build_graph([TRICKY], normalize=False, progress=False)
    load_store(graph, tmp_path / "s", base_iri="urn:kg:")
    got = {v[0] for v in values(run_query(tmp_path / "s", "SELECT ?n WHERE { ?e a kg:Entity ; rdfs:label ?n }"))}
    assert got == {n.name for n in graph.nodes} and len(got) == 15


def test_a_different_base_iri_needs_replace(store, tmp_path):
    with pytest.raises(UserError, match="--base_iri"):
        load_store(build_graph([RECORDS], progress=False), store, base_iri="urn:other:")


def test_cli_query_prints_an_aligned_table(store):
    res = cli("query", "--store", str(store), "SELECT ?who WHERE { ?p rel:born%20in ent:London ; rdfs:label ?who } ORDER BY ?who")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["who", "---------------", "Ada Lovelace", "Charles Babbage", "(2 rows)"]


def test_cli_load_then_query_and_errors_are_one_line(tmp_path):
    res = cli("load", "--input", str(RECORDS), "--store", str(tmp_path / "s"))
    assert res.returncode == 0 and "10 nodes, 6 edges" in res.stdout
    res = cli("query", "--store", str(tmp_path / "s"), "SELEC nothing")
    assert res.returncode == 2 and res.stderr.startswith("error: SPARQL syntax error: error at 1:")
    res = cli("query", "--store", str(tmp_path / "nowhere"), "SELECT * {}")
    assert res.returncode == 2 and "no store at" in res.stderr and "Traceback" not in res.stderr


def test_table_keeps_rows_on_one_line_and_aligns_wide_characters():
    text = format_table(["a", "b"], [["北京", "x\ny"], ["ab", "z"]])
    assert text.splitlines() == ["a    | b", "-----+-----", "北京 | x\\ny", "ab   | z", "(2 rows)"]
    assert render_result(True) == "true"


def test_declared_prefixes_are_not_redeclared():
    q = with_prefixes("PREFIX kg: <urn:mine#> SELECT * {}", "http://e.org/")
    assert "PREFIX kg: <http://e.org/vocab#>" not in q and "PREFIX ent: <http://e.org/entity/>" in q
