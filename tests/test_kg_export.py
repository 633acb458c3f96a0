"""core.kg export: each format read back with its ecosystem's own reader gives the same nodes, edges and provenance.

Names with quotes, newlines, carriage returns, tabs, commas, angle brackets, backslashes, back-quotes, `%`, `#`,
U+2028, non-Latin scripts and emoji (tests/data/kg/tricky.jsonl, built without normalisation so nothing is folded).
"""

import csv
import json
import re
from pathlib import Path
from urllib.parse import unquote

import networkx as nx
import pyoxigraph as ox
import pytest
import rdflib

from core.errors import UserError
from core.kg import build_graph, export, formats, read_graph, register_exporter

ROOT = Path(__file__).resolve().parents[1]
TRICKY = ROOT / "tests" / "data" / "kg" / "tricky.jsonl"
BASE = "https://kg.example.com/graph/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
KG = BASE + "vocab#"


def fixture_records():
    return [json.loads(line) for line in TRICKY.read_text(encoding="utf-8").splitlines()]


def expected():
    """Hand-derived from the fixture itself, not from our graph: {(h, r, t): sorted [(record, text, line)]}."""
    out = {}
    for line, rec in enumerate(fixture_records(), start=1):
        for t in rec["triples"]:
            out.setdefault((t["head"], t["relation"], t["tail"]), []).append((rec["id"], rec["text"], line))
    return {k: sorted(v) for k, v in out.items()}


def expected_names():
    return {x for rec in fixture_records() for t in rec["triples"] for x in (t["head"], t["tail"])}


@pytest.fixture(scope="module")
def graph():
    return build_graph([TRICKY], normalize=False, run='run "1"', model="m<1>", progress=False)


def provs(items):
    """Comparable provenance: sorted (record, text, line), after checking run/model labels."""
    for p in items:
        assert (p["run"], p["model"], p["file"]) == ('run "1"', "m<1>", "tricky.jsonl")
    return sorted((p["record"], p["text"], int(p["line"])) for p in items)


def test_fixture_is_tricky_enough():
    names = "".join(expected_names())
    for ch in ['"', "'", "\n", "\r", "\t", ",", "<", ">", "\\", "`", "%", "#", "\u2028", "北", "М", "🚀", "\u200d"]:
        assert ch in names
    assert len(expected()) == 8 and expected()[('Say "hi"', 'founded, "by"', "O'Brien & <Sons>")][1][0] == "t8"


def test_jsonl_round_trip_is_identical(graph, tmp_path):
    back = read_graph(export(graph, "jsonl", tmp_path / "g.jsonl"))
    assert back == graph
    assert {n.name for n in back.nodes} == expected_names()


def test_csv_matches_the_neo4j_admin_import_header_layout(graph, tmp_path):
    out = export(graph, "csv", tmp_path / "neo4j")
    with open(out / "nodes.csv", newline="", encoding="utf-8") as fh:
        nodes = list(csv.reader(fh))
    with open(out / "relationships.csv", newline="", encoding="utf-8") as fh:
        rels = list(csv.reader(fh))
    # neo4j-admin database import: a node file needs an :ID column (:LABEL optional, labels split by ';');
    # a relationship file needs :START_ID, :END_ID and :TYPE; typed properties are written name:type.
    assert nodes[0] == [":ID", "name", "aliases", ":LABEL"]
    assert rels[0] == [":START_ID", ":END_ID", ":TYPE", "edge_id", "count:int", "provenance"]
    ids = [row[0] for row in nodes[1:]]
    assert len(ids) == len(set(ids)) == 15
    assert all(row[0] in ids and row[1] in ids for row in rels[1:]), "every relationship endpoint is a node"
    assert all(row[3].split(";")[0] == "Entity" for row in nodes[1:])
    assert all(json.loads(row[2]) == [] for row in nodes[1:])  # no resolution, no case folding: no aliases
    assert all(len(row) == 4 for row in nodes) and all(len(row) == 6 for row in rels)


def test_csv_round_trip_through_the_csv_module(graph, tmp_path):
    out = export(graph, "csv", tmp_path / "neo4j")
    with open(out / "nodes.csv", newline="", encoding="utf-8") as fh:
        name_of = {row[":ID"]: row["name"] for row in csv.DictReader(fh)}
    assert set(name_of.values()) == expected_names()
    with open(out / "relationships.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    back = {(name_of[r[":START_ID"]], r[":TYPE"], name_of[r[":END_ID"]]): provs(json.loads(r["provenance"])) for r in rows}
    assert back == expected()
    assert {int(r["count:int"]) for r in rows} == {1, 2}


_LIT = r"'((?:[^'\\]|\\.)*)'"
_ESC = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


def cypher_unescape(body):
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) == 5 else _ESC[m.group(1)], body)


def test_cypher_script_is_one_statement_per_line_and_its_literals_read_back(graph, tmp_path):
    with open(export(graph, "cypher", tmp_path / "g.cypher"), encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\n")
    assert lines[-1] == "" and all(ln.startswith("//") or ln.endswith(";") for ln in lines[:-1])
    node_re = re.compile(rf"^MERGE \(n:Entity \{{key: {_LIT}\}}\) SET n.name = {_LIT}, n.aliases = \[\]"
                         r"((?: SET n:`(?:[^`]|``)+`)*);$")  # fmt: skip
    edge_re = re.compile(
        rf"^MATCH \(h:Entity \{{key: {_LIT}\}}\), \(t:Entity \{{key: {_LIT}\}}\) "
        rf"MERGE \(h\)-\[r:`((?:[^`]|``)+)`\]->\(t\) SET r.count = (\d+), r.provenance = {_LIT};$"
    )
    names, edges = set(), {}
    for ln in lines:
        if m := node_re.match(ln):
            assert m.group(1) == m.group(2), "no homonyms here: the key is the name"
            names.add(cypher_unescape(m.group(2)))
        elif m := edge_re.match(ln):
            key = (cypher_unescape(m.group(1)), m.group(3).replace("``", "`"), cypher_unescape(m.group(2)))
            edges[key] = provs(json.loads(cypher_unescape(m.group(5))))
    assert names == expected_names()
    assert edges == expected()


def rdf_edges(triples):
    """From (s, p, o) with IRIs as str and literals as str/int: ({(h, r, t): provenance}, {entity IRI: label})."""
    by_s = {}
    for s, p, o in triples:
        by_s.setdefault(s, {}).setdefault(p, []).append(o)
    label = {s: props[RDFS + "label"][0] for s, props in by_s.items() if RDFS + "label" in props}
    out, facts = {}, {(s, p, o) for s, p, o in triples}
    for props in by_s.values():
        if RDF + "Statement" not in props.get(RDF + "type", []):
            continue
        h, r, t = props[RDF + "subject"][0], props[RDF + "predicate"][0], props[RDF + "object"][0]
        assert (h, r, t) in facts, "the reified fact is asserted too"
        sources = [{k: by_s[src][KG + k][0] for k in ("record", "text", "line", "run", "model", "file")}
                   for src in props[KG + "source"]]  # fmt: skip
        assert props[KG + "count"] == [len(sources)]
        out[(label[h], label[r], label[t])] = provs(sources)
    entities = {s: label[s] for s, props in by_s.items() if KG + "Entity" in props.get(RDF + "type", [])}
    return out, entities


def check_rdf(triples):
    edges, entities = rdf_edges(triples)
    assert edges == expected()
    assert set(entities.values()) == expected_names()
    for iri, name in entities.items():
        assert iri.startswith(BASE + "entity/") and unquote(iri[len(BASE + "entity/") :]) == name
        assert re.fullmatch(r"[A-Za-z0-9%._~:/-]+", iri), "names are percent-encoded in IRIs"


def rdflib_triples(path, fmt):
    g = rdflib.Graph()
    g.parse(path, format=fmt)
    return [(str(s), str(p), o.toPython() if isinstance(o, rdflib.Literal) else str(o)) for s, p, o in g]


def oxigraph_triples(path, fmt):
    def val(term):
        if isinstance(term, ox.Literal):
            return int(term.value) if term.datatype.value.endswith("#integer") else term.value
        return term.value

    return [(val(t.subject), val(t.predicate), val(t.object)) for t in ox.parse(path=str(path), format=fmt)]


@pytest.mark.parametrize(("fmt", "rdflib_fmt", "ox_fmt"), [("ttl", "turtle", ox.RdfFormat.TURTLE), ("nt", "nt", ox.RdfFormat.N_TRIPLES)])
def test_rdf_round_trip_through_rdflib_and_pyoxigraph(graph, tmp_path, fmt, rdflib_fmt, ox_fmt):
    path = export(graph, fmt, tmp_path / f"g.{fmt}", base_iri=BASE)
    check_rdf(rdflib_triples(path, rdflib_fmt))
    check_rdf(oxigraph_triples(path, ox_fmt))


def test_turtle_and_ntriples_hold_the_same_triples(graph, tmp_path):
    ttl = set(oxigraph_triples(export(graph, "ttl", tmp_path / "g.ttl"), ox.RdfFormat.TURTLE))
    nt = set(oxigraph_triples(export(graph, "nt", tmp_path / "g.nt"), ox.RdfFormat.N_TRIPLES))
    assert ttl == nt and len(nt) > 100


@pytest.mark.parametrize("bad", ["not an iri", "kg/relative/", "http://x.org/a b/", "http://x.org/<a>/"])
def test_a_bad_base_iri_is_a_user_error_and_writes_nothing(graph, tmp_path, bad):
    with pytest.raises(UserError, match="--base_iri"):
        export(graph, "ttl", tmp_path / "g.ttl", base_iri=bad)
    assert list(tmp_path.iterdir()) == []


def test_graphml_round_trip_through_networkx(graph, tmp_path):
    g = nx.read_graphml(export(graph, "graphml", tmp_path / "g.graphml"), force_multigraph=True)
    assert g.is_directed() and g.number_of_nodes() == 15 and g.number_of_edges() == 8
    label = nx.get_node_attributes(g, "label")
    assert set(label.values()) == expected_names()
    back = {(label[u], d["label"], label[v]): provs(json.loads(d["provenance"])) for u, v, d in g.edges(data=True)}
    assert back == expected()
    counts = sorted(d["count"] for _, _, d in g.edges(data=True))
    assert counts == [1] * 7 + [2]


def test_graphml_replaces_only_characters_xml_cannot_hold(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"id": 1, "kg": [["bell\u0007", "r", "ok\r\n"]]}) + "\n", encoding="utf-8")
    g = nx.read_graphml(export(build_graph(path, normalize=False, progress=False), "graphml", tmp_path / "g.graphml"))
    assert set(nx.get_node_attributes(g, "label").values()) == {"bell\ufffd", "ok\r\n"}


def test_every_format_is_registered_and_the_registry_refuses_duplicates():
    assert formats() == ["jsonl", "csv", "cypher", "ttl", "nt", "graphml", "html"]
    with pytest.raises(ValueError, match="already registered"):
        register_exporter("csv", lambda g, p: p, ".csv", "dup")
    with pytest.raises(UserError, match="--format must be one of"):
        export(None, "parquet", "x")


def test_exports_get_normal_permissions_not_the_temp_files_0600(graph, tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        for fmt in ("html", "nt"):
            assert export(graph, fmt, tmp_path / f"g.{fmt}").stat().st_mode & 0o777 == 0o644
        assert (export(graph, "csv", tmp_path / "neo4j") / "nodes.csv").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(mask)


def test_an_empty_graph_exports_in_every_format(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": 1, "status": "failed"}\n', encoding="utf-8")
    empty = build_graph(path, progress=False)
    assert (len(empty.nodes), len(empty.edges), empty.summary()["records_failed"]) == (0, 0, 1)
    for fmt in formats():
        assert export(empty, fmt, tmp_path / f"out-{fmt}").exists()
    assert read_graph(tmp_path / "out-jsonl") == empty


def test_output_kind_mismatches_and_bad_caps_are_user_errors(graph, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(UserError, match="is a folder"):
        export(graph, "ttl", tmp_path)
    with pytest.raises(UserError, match="is a file"):
        export(graph, "csv", tmp_path / "file.txt")
    with pytest.raises(UserError, match="--max_nodes"):
        export(graph, "html", tmp_path / "g.html", max_nodes="many")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


# Two documents as the documents pipeline (core.extract) sees them, and one grounded mention each; offsets by hand.
EN_DOC = "Ada Lovelace was born in London. She wrote notes."
ZH_DOC = "前言。鲁迅出生于绍兴。"
EVIDENCE_MENTIONS = [
    {"id": "en.txt::0::0::1::0", "document": "en.txt", "chunk": 0, "head": "Ada Lovelace", "relation": "born in",
     "tail": "London", "head_type": "person", "tail_type": "location", "head_span": [0, 12], "tail_span": [25, 31],
     "head_grounding": "exact", "tail_grounding": "exact", "sentence": "Ada Lovelace was born in London.",
     "sentence_span": [0, 32], "__line__": 1},
    {"id": "zh.txt::1::0::1::0", "document": "zh.txt", "chunk": 1, "head": "魯迅", "head_text": "鲁迅",
     "relation": "出生地", "tail": "绍兴市", "tail_text": "绍兴", "head_type": "人物", "tail_type": "地点",
     "head_span": [3, 5], "tail_span": [8, 10], "head_grounding": "normalised", "tail_grounding": "fuzzy",
     "sentence": "鲁迅出生于绍兴。", "sentence_span": [3, 11], "__line__": 2},
]


@pytest.mark.parametrize("fmt, rdflib_fmt", [("ttl", "turtle"), ("nt", "nt")])
def test_rdf_sources_carry_the_whole_evidence_and_read_back_with_rdflib(tmp_path, fmt, rdflib_fmt):
    from core.extract.graph import build

    docs = {"en.txt": EN_DOC, "zh.txt": ZH_DOC}
    for m in EVIDENCE_MENTIONS:  # the hand offsets are right
        text = docs[m["document"]]
        assert text[slice(*m["sentence_span"])] == m["sentence"]
        assert text[slice(*m["head_span"])] == m.get("head_text", m["head"])
        assert text[slice(*m["tail_span"])] == m.get("tail_text", m["tail"])
    path = export(build(EVIDENCE_MENTIONS, "mentions.jsonl", resolve=False), fmt, tmp_path / f"g.{fmt}",
                  base_iri=BASE)
    g = rdflib.Graph()
    g.parse(path, format=rdflib_fmt)
    kg = rdflib.Namespace(KG)
    found = {}
    for stmt in g.subjects(rdflib.RDF.type, rdflib.RDF.Statement):
        (source,) = list(g.objects(stmt, kg.source))
        props = {}
        for p, o in g.predicate_objects(source):
            if str(p).startswith(KG):
                assert str(p)[len(KG):] not in props, "one value per property"
                props[str(p)[len(KG):]] = o.toPython()
        found[str(g.value(g.value(stmt, rdflib.RDF.subject), rdflib.RDFS.label))] = props
    assert found == {
        "Ada Lovelace": {"record": "en.txt::0::0::1::0", "file": "mentions.jsonl", "line": 1,
                         "text": "Ada Lovelace was born in London.", "document": "en.txt", "chunk": 0,
                         "span_start": 0, "span_end": 32, "head_span_start": 0, "head_span_end": 12,
                         "tail_span_start": 25, "tail_span_end": 31, "head_mention": "Ada Lovelace",
                         "tail_mention": "London", "head_grounding": "exact", "tail_grounding": "exact"},
        "鲁迅": {"record": "zh.txt::1::0::1::0", "file": "mentions.jsonl", "line": 2, "text": "鲁迅出生于绍兴。",
               "document": "zh.txt", "chunk": 1, "span_start": 3, "span_end": 11, "head_span_start": 3,
               "head_span_end": 5, "tail_span_start": 8, "tail_span_end": 10, "head_mention": "魯迅",
               "tail_mention": "绍兴市", "head_grounding": "normalised", "tail_grounding": "fuzzy"}}
    for head, props in found.items():  # read back, the offsets still slice the evidence and the head node out
        text = docs[props["document"]]
        assert text[props["span_start"]:props["span_end"]] == props["text"]
        assert text[props["head_span_start"]:props["head_span_end"]] == head
