"""kgllm extract end to end on our sample corpus (examples/corpus) against a loopback OpenAI-compatible server that
answers per chunk from the gold (core.extract.oracle over core.testing.fake_openai): real openai client, real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.extract import extract
from core.extract.grounding import FUZZY_THRESHOLD, normalise
from core.extract.oracle import GoldOracle, load_facts
from core.extract.readers import read_inputs
from core.kg import read_graph
from core.testing.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "examples" / "corpus"
GOLD = json.loads((CORPUS / "gold.json").read_text(encoding="utf-8"))
SETTINGS = dict(model="fake-model", no_cache=True, chunk_tokens=120, overlap_tokens=40, schema_batch=5, quiet=True)
# what the "model" writes instead of the text's spelling: normalised (case, width) and fuzzy grounding
PERTURB = {"Maria Skłodowska": "MARIA SKŁODOWSKA", "Frédéric Joliot-Curie": "Frederic Joliot-Curie",
           "阿Ｑ正传": "阿Q正传", "仙台医学专门学校": "仙台医学专科学校"}
EXTRA = [  # flagged: a relation outside the schema, a head the chunk does not contain, a type pattern broken
    {"head": "Jordan River", "head_type": "location", "relation": "rises on", "tail": "Mount Hermon",
     "tail_type": "location", "evidence": "The Jordan River rises on the slopes of Mount Hermon.",
     "asked_with": "flows into"},
    {"head": "Albert Einstein", "head_type": "person", "relation": "spouse of", "tail": "Marie Curie",
     "tail_type": "person", "evidence": "Marie Curie died in Passy in 1934, of an illness caused by long exposure to "
                                        "radiation."},
    {"head": "Petra", "head_type": "location", "relation": "born in", "tail": "Jordan", "tail_type": "location",
     "evidence": "Petra, the rose-red city carved into sandstone cliffs, is located in Jordan."},
]


# the sentence before the evidence names both entities closer together ("长江与嘉陵江的交汇处"): grounding takes that
# pair (nearest), a right grounding of the mentions, just not in the gold evidence sentence
NEARER_ELSEWHERE = {("嘉陵江", "流入", "长江"), ("汉江", "流入", "长江")}


def gold_docs(language: str) -> list[dict]:
    return [d for d in GOLD["documents"] if d["language"] == language]


def gold_triples(language: str) -> set[tuple[str, str, str]]:
    return {(t["head"], t["relation"], t["tail"]) for d in gold_docs(language) for t in d["triples"]}


def decisions(language: str) -> str:
    """The gold aliases as a resolver decisions file: merge each entity's names, name it canonically, keep the
    entities apart (the homonym `Jordan` is a country in one document and Michael Jordan in another)."""
    def ref(name: str, typ: str) -> str:
        return json.dumps(name, ensure_ascii=False) + "@" + json.dumps(typ, ensure_ascii=False)

    lines, names = [], []
    for doc in gold_docs(language):
        for e in doc["entities"]:
            refs = [ref(n, e["type"]) for n in [e["name"], *e["aliases"]]]
            if len(refs) > 1:
                lines.append("merge " + " ".join(refs))
            lines += [f"rename {r} -> {json.dumps(e['name'], ensure_ascii=False)}" for r in refs]
            names.append(ref(e["name"], e["type"]))
    head = "# gold.json's aliases as entity-resolution decisions (written by tests/test_extract_e2e.py:decisions)"
    return "\n".join([head, *lines, "keep apart " + " ".join(dict.fromkeys(names))]) + "\n"


@pytest.mark.parametrize("language, folder", [("en", "en"), ("cn", "zh")])
def test_the_shipped_decisions_files_are_the_gold_aliases(language, folder):
    assert (CORPUS / f"decisions.{folder}.txt").read_text(encoding="utf-8") == decisions(language)


def edges_of(folder: Path) -> set[tuple[str, str, str]]:
    g = read_graph(folder / "graph.jsonl")
    return {(g.nodes[e.head].name, e.relation, g.nodes[e.tail].name) for e in g.edges}


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(tmp: Path, language: str, oracle: GoldOracle, name: str = "out", **options) -> tuple[dict, Path, int]:
    folder = "en" if language == "en" else "zh"
    dec = CORPUS / f"decisions.{folder}.txt"
    out = tmp / name
    with FakeOpenAI(oracle) as fake:
        report = extract([CORPUS / folder], CORPUS / GOLD["schemas"][language], out, base_url=fake.base_url,
                         **{**SETTINGS, "decisions": str(dec), **options})
        return report, out, fake.count


@pytest.fixture(scope="module", params=["en", "cn"])
def corpus_run(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"extract_{request.param}")
    report, out, count = run(tmp, request.param, GoldOracle.from_gold(CORPUS / "gold.json", perturb=PERTURB,
                                                                      extra=EXTRA), formats="html,ttl")
    return request.param, report, out, count


def test_graph_edges_equal_the_gold_triples(corpus_run):
    language, report, out, count = corpus_run
    assert edges_of(out) == gold_triples(language)
    assert report["requests"] == count == report["chunks"] * report["schema_batches"]
    assert report["schema_batches"] == 3 and report["failed"] == 0 and report["unreadable"] == []


def test_every_offset_slices_out_the_mention_or_its_match(corpus_run):
    language, _, out, _ = corpus_run
    docs = {d.id: d.text for d in read_inputs([CORPUS / ("en" if language == "en" else "zh")], quiet=True)[0]}
    seen = set()
    for m in jsonl(out / "mentions.jsonl"):
        text = docs[m["document"]]
        s, e = m["sentence_span"] if "sentence_span" in m else (None, None)
        for side in ("head", "tail"):
            status, span = m[f"{side}_grounding"], m.get(f"{side}_span")
            seen.add(status)
            if status == "ungrounded":
                assert span is None
                continue
            got = text[span[0]:span[1]]
            assert s <= span[0] < span[1] <= e and m["sentence"] == text[s:e]
            if status == "exact":
                assert got == m[side]
            elif status == "normalised":
                assert normalise(got) == normalise(m[side]) and got != m[side] and m[f"{side}_text"] == got
            else:
                from rapidfuzz import fuzz

                assert status == "fuzzy" and fuzz.ratio(normalise(got), normalise(m[side])) >= FUZZY_THRESHOLD
                assert m[f"{side}_text"] == got
    assert seen == {"exact", "normalised", "fuzzy", "ungrounded"} if language == "en" else \
        seen == {"exact", "normalised", "fuzzy"}


def test_each_gold_fact_is_a_kept_mention_inside_its_evidence(corpus_run):
    language, _, out, _ = corpus_run
    docs = read_inputs([CORPUS / ("en" if language == "en" else "zh")], quiet=True)[0]
    where = {Path(d.source).name: d for d in docs}
    mentions = jsonl(out / "mentions.jsonl")
    facts = [f for f in load_facts(CORPUS / "gold.json") if f["file"].startswith("en" if language == "en" else "zh")]
    for fact in facts:
        doc = where[Path(fact["file"]).name]
        start = doc.text.index(fact["evidence"])
        end = start + len(fact["evidence"])
        said = (PERTURB.get(fact["head"], fact["head"]), fact["relation"], PERTURB.get(fact["tail"], fact["tail"]))
        hits = [m for m in mentions if m["document"] == doc.id and (m["head"], m["relation"], m["tail"]) == said
                and start <= m["head_span"][0] and m["head_span"][1] <= end
                and start <= m["tail_span"][0] and m["tail_span"][1] <= end]
        if said in NEARER_ELSEWHERE:
            hits = [m for m in mentions if m["document"] == doc.id and (m["head"], m["relation"], m["tail"]) == said]
        assert len(hits) == 1 and hits[0]["kept"] and hits[0]["head_type"] == fact["head_type"], fact


def test_flagged_facts_are_kept_in_records_and_left_out_of_the_graph(corpus_run):
    language, report, out, _ = corpus_run
    mentions = jsonl(out / "mentions.jsonl")
    flagged = {(m["head"], m["relation"], m["tail"]): m["flags"] for m in mentions if not m["kept"]}
    if language == "cn":
        assert flagged == {} and report["triples"]["flagged"] == {}
        return
    assert {k: [f.split(":")[0] for f in v] for k, v in flagged.items()} == {
        ("Jordan River", "rises on", "Mount Hermon"): ["relation"],
        ("Albert Einstein", "spouse of", "Marie Curie"): ["ungrounded"],
        ("Petra", "born in", "Jordan"): ["pattern"]}
    assert report["triples"]["flagged"] == {"relation": 1, "ungrounded": 1, "pattern": 1}
    assert report["triples"]["kept"] == report["triples"]["mentions"] - 3 == report["triples"]["in_graph"]
    einstein = next(m for m in mentions if m["head"] == "Albert Einstein")
    assert "head_span" not in einstein and einstein["head_grounding"] == "ungrounded"
    assert einstein["tail_grounding"] == "exact" and "Marie Curie" in einstein["sentence"]


def test_duplicates_from_the_overlap_are_one_mention(corpus_run):
    language, report, out, _ = corpus_run
    mentions = jsonl(out / "mentions.jsonl")
    keys = [(m["document"], m["head"], m["relation"], m["tail"], tuple(m.get("sentence_span") or ())) for m in mentions]
    assert len(keys) == len(set(keys))
    extractions = jsonl(out / "extractions.jsonl")
    assert report["triples"]["extracted"] == sum(len(r["facts"]) for r in extractions)
    assert report["triples"]["extracted"] == report["triples"]["mentions"] + report["triples"]["dropped"].get(
        "duplicate", 0)
    assert report["triples"]["dropped"]["duplicate"] > 0  # overlap: facts of the shared sentences come twice


def test_every_edge_keeps_document_chunk_span_and_sentence(corpus_run):
    language, _, out, _ = corpus_run
    docs = {d.id: d.text for d in read_inputs([CORPUS / ("en" if language == "en" else "zh")], quiet=True)[0]}
    g = read_graph(out / "graph.jsonl")
    chunks = {c["id"]: c for c in jsonl(out / "chunks.jsonl")}
    for edge in g.edges:
        assert edge.provenance
        for p in edge.provenance:
            text = docs[p["document"]]
            chunk = chunks[f"{p['document']}::{p['chunk']}"]
            assert text[p["span"][0]:p["span"][1]] == p["text"]
            assert chunk["start"] <= p["head_span"][0] and p["tail_span"][1] <= chunk["end"]
            assert p["grounding"] == {"head": p["head_grounding"], "tail": p["tail_grounding"]}
            assert text[p["head_span"][0]:p["head_span"][1]] in (p["head_mention"], g.nodes[edge.head].name) or \
                p["head_grounding"] != "exact"


def test_the_rdf_export_carries_every_edges_evidence(corpus_run):
    import rdflib

    language, _, out, _ = corpus_run
    g = rdflib.Graph()
    g.parse(out / "graph.ttl", format="turtle")
    kg = rdflib.Namespace("http://example.org/kg/vocab#")
    sources = {}
    for source in g.subjects(rdflib.RDF.type, kg.Source):
        props = {str(p).split("#", 1)[1]: o.toPython() for p, o in g.predicate_objects(source) if str(p).startswith(kg)}
        sources[props["record"]] = props
    provs = [p for e in read_graph(out / "graph.jsonl").edges for p in e.provenance]
    assert len(provs) == len(sources) > 10
    for p in provs:
        s = sources[p["record"]]
        assert (s["document"], s["chunk"], s["text"]) == (p["document"], p["chunk"], p["text"])
        for key in ("span", "head_span", "tail_span"):
            assert [s[f"{key}_start"], s[f"{key}_end"]] == p[key]
        for key in ("head_mention", "tail_mention", "head_grounding", "tail_grounding"):
            assert s[key] == p[key]


def test_keep_switches_put_flagged_facts_in_the_graph(tmp_path):
    oracle = GoldOracle.from_gold(CORPUS / "gold.json", extra=EXTRA)
    report, out, _ = run(tmp_path, "en", oracle, keep_ungrounded=True, keep_invalid=True, formats="")
    extra = {(e["head"], e["relation"], e["tail"]) for e in EXTRA}
    assert edges_of(out) == gold_triples("en") | extra
    assert report["triples"]["in_graph"] == report["triples"]["mentions"]
    assert sorted(p.name for p in out.iterdir()) == ["chunks.jsonl", "extractions.jsonl", "graph.jsonl",
                                                     "mentions.jsonl", "merges.jsonl", "raw.jsonl", "report.json"]


def test_without_resolution_nodes_are_the_names_as_written(tmp_path):
    report, out, _ = run(tmp_path, "en", GoldOracle.from_gold(CORPUS / "gold.json"), no_resolve=True, decisions=None)
    said = {(f["head"], f["relation"], f["tail"]) for f in load_facts(CORPUS / "gold.json") if f["file"][:2] == "en"}
    assert edges_of(out) == said and report["resolution"] == "off"
    assert not (out / "merges.jsonl").exists()


class CodeOracle:
    """Answers `--task code` prompts from the gold: the facts whose evidence is in the prompt's docstring (the
    passage) and whose relation the prompt declares as a class (its schema batch), written as CodeKGC's
    `extract = Extract([...])` with the prompt's own entity classes (in a fence on the chat endpoint)."""

    def __init__(self):
        self.gold = GoldOracle.from_gold(CORPUS / "gold.json")
        self.prompts: list[str] = []
        self.declared: list[set[str]] = []

    def __call__(self, body: dict) -> str:
        import ast

        from core.tasks.code_schema import extract_code, schema_from_code

        prompt = FakeOpenAI.prompt_of(body)
        code = prompt[prompt.index("from typing import List"):]
        declared = schema_from_code(code)
        passage = ast.parse(code).body[-1].value.value[1:-1]  # the docstring `""" text """`, read as Python reads it
        facts = [f for f in self.gold.facts_for(passage) if f["relation"] in declared.relations]
        self.prompts.append(prompt)
        self.declared.append(set(declared.relations))
        answer = extract_code(facts, declared)
        return f"```python\n{answer}\n```" if "messages" in body else answer


@pytest.mark.parametrize("chat", [None, False], ids=["chat-endpoint", "completions-endpoint"])
def test_a_document_goes_through_the_code_task(tmp_path, chat):
    from core.schema import Schema

    oracle = CodeOracle()
    report, out, count = run(tmp_path, "en", oracle, task="code", formats="", chat=chat)
    assert edges_of(out) == gold_triples("en")
    assert report["task"] == "code" and report["requests"] == count == report["chunks"] * report["schema_batches"]
    assert report["failed"] == 0 and report["status"] == {"ok": count}  # a one-statement fence is ok too
    batches = [set(b.relation_types) for b in Schema.load(CORPUS / "schema.en.json").batches(SETTINGS["schema_batch"])]
    assert len(batches) == 3 and all(d in batches for d in oracle.declared)  # each prompt declares one batch
    assert all(p.startswith("You are a Python coding assistant.") for p in oracle.prompts) == (chat is False)
    mentions = jsonl(out / "mentions.jsonl")
    assert mentions and all(m["kept"] and m["head_type"] and m["tail_type"] for m in mentions)
