"""Every export keeps a node's aliases, and they read back with each ecosystem's own reader; homonyms stay two nodes.

The graph: tests/data/resolve/records.jsonl resolved (9 nodes with aliases, two homonym pairs: Apple ORG / FRUIT,
小米 ORG / CROP), plus one node whose aliases hold quotes, a comma, a semicolon, a line break and a back-quote.
"""

import csv
import json
import re
from pathlib import Path

import networkx as nx
import pytest
import rdflib

from core.kg import Node, build_graph, export, read_graph
from core.kg.export_html import view_data
from core.kg.store import load_store, run_query

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "tests" / "data" / "resolve" / "records.jsonl"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
KG_ENTITY = "http://example.org/kg/vocab#Entity"
TRICKY = ['say "HI"', "a, b; c", "line\nbreak", "back`quote", "O'Brien"]


@pytest.fixture(scope="module")
def graph():
    g = build_graph([RECORDS], resolve=True, progress=False)
    g.nodes.append(Node(f"n{len(g.nodes)}", 'Say "hi"', ["THING"], list(TRICKY)))
    return g


def expected(graph):
    """{(name, first type): aliases} straight from the graph object (names repeat for homonyms; types tell them)."""
    return {(n.name, n.types[0] if n.types else None): n.aliases for n in graph.nodes}


def test_the_graph_has_aliases_and_homonyms_to_export(graph):
    exp = expected(graph)
    assert exp[("北京大学", "ORG")] == ["北大"] and exp[("Ada Lovelace", "PER")] == ["Dr. Ada Lovelace", "Ada Lovelase"]
    assert ("Apple", "ORG") in exp and ("Apple", "FRUIT") in exp and len(exp) == len(graph.nodes) == 30
    assert graph.keys().count("Apple (ORG)") == 1 and "Apple (FRUIT)" in graph.keys()


def test_jsonl_round_trip_keeps_aliases(graph, tmp_path):
    assert read_graph(export(graph, "jsonl", tmp_path / "g.jsonl")) == graph


def test_csv_aliases_column_reads_back_with_the_csv_module(graph, tmp_path):
    out = export(graph, "csv", tmp_path / "neo4j")
    with open(out / "nodes.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    back = {(r["name"], r[":LABEL"].split(";")[1] if ";" in r[":LABEL"] else None): json.loads(r["aliases"]) for r in rows}
    assert back == expected(graph)


def test_rdf_rdfs_label_and_skos_altlabel_read_back_with_rdflib(graph, tmp_path):
    for fmt, parser in (("ttl", "turtle"), ("nt", "nt")):
        g = rdflib.Graph()
        g.parse(export(graph, fmt, tmp_path / f"g.{fmt}"), format=parser)
        entities = set(g.subjects(rdflib.RDF.type, rdflib.URIRef(KG_ENTITY)))
        assert len(entities) == len(graph.nodes)  # homonyms are two entities, not one
        back = {}
        for e in entities:
            (label,) = g.objects(e, rdflib.URIRef(RDFS + "label"))
            types = [str(t) for t in g.objects(e, rdflib.RDF.type) if str(t) != KG_ENTITY]
            alt = sorted(str(a) for a in g.objects(e, rdflib.URIRef(SKOS + "altLabel")))
            back[(str(label), types[0].rsplit("/", 1)[1] if types else None)] = alt
        assert back == {k: sorted(v) for k, v in expected(graph).items()}


def test_graphml_aliases_read_back_with_networkx(graph, tmp_path):
    g = nx.read_graphml(export(graph, "graphml", tmp_path / "g.graphml"), force_multigraph=True)
    back = {(d["label"], (json.loads(d["types"]) or [None])[0]): json.loads(d["aliases"]) for _, d in g.nodes(data=True)}
    assert back == expected(graph)


_LIT = r"'((?:[^'\\]|\\.)*)'"
_ESC = {"n": "\n", "r": "\r", "t": "\t", "'": "'", '"': '"', "\\": "\\"}


def unescape(body):
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) == 5 else _ESC[m.group(1)], body)


def test_cypher_sets_aliases_as_a_list_and_merges_homonyms_on_distinct_keys(graph, tmp_path):
    text = export(graph, "cypher", tmp_path / "g.cypher").read_text(encoding="utf-8")
    node_re = re.compile(rf"^MERGE \(n:Entity \{{key: {_LIT}\}}\) SET n.name = {_LIT}, n.aliases = \[(.*)\]"
                         r"((?: SET n:`(?:[^`]|``)+`)*);$", re.M)  # fmt: skip
    back, keys = {}, []
    for m in node_re.finditer(text):
        aliases = [unescape(a) for a in re.findall(_LIT, m.group(3))]
        first_type = re.findall(r"SET n:`((?:[^`]|``)+)`", m.group(4))
        back[(unescape(m.group(2)), first_type[0] if first_type else None)] = aliases
        keys.append(unescape(m.group(1)))
    assert back == expected(graph) and len(keys) == len(set(keys)) == len(graph.nodes)
    assert "REQUIRE n.key IS UNIQUE" in text


def test_html_view_data_and_the_store_keep_aliases(graph, tmp_path):
    data = view_data(graph)
    assert {(n["name"], (n["types"] or [None])[0]): n["aliases"] for n in data["nodes"]} == expected(graph)
    load_store(graph, tmp_path / "store")
    _, rows = run_query(tmp_path / "store", 'SELECT ?a WHERE { ?e rdfs:label "北京大学" ; skos:altLabel ?a }')
    assert [r[0].value for r in rows] == ["北大"]
