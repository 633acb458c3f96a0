"""Knowledge-graph command line: build, export, load, query, stats.

    python -m core.kg build --input tests/data/kg/records.jsonl --output /tmp/kg/graph.jsonl
    python -m core.kg export --input /tmp/kg/graph.jsonl --format html --output /tmp/kg/graph.html
    python -m core.kg load --input /tmp/kg/graph.jsonl --store /tmp/kg/store --replace
    python -m core.kg query --store /tmp/kg/store "SELECT ?name WHERE { ?e a kg:Entity ; rdfs:label ?name } LIMIT 5"
    python -m core.kg stats --input tests/data/kg/records.jsonl
    python -m core.kg build --input tests/data/resolve/records.jsonl --output /tmp/kg/r.jsonl --resolve --merge_log /tmp/kg/merges.jsonl
    python -m core.kg eval --gold tests/data/resolve/gold.jsonl --pred /tmp/kg/r.jsonl

`--input` takes parsed record files from any case (several: `--input a.jsonl --input b.jsonl`, or `a.jsonl,b.jsonl`)
or one graph file written by `build`. Build switches (wherever records are read): `--run`, `--model` (provenance
labels; one, or a list with one per input), `--no_normalize` (keep names exactly as written), `--casefold`,
`--resolve` (entity resolution, off by default here: see docs/kg.md), `--decisions FILE` (resolution overrides;
implies --resolve). See docs/kg.md.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from core.errors import UserError


@dataclass
class Records:
    """How record files become a graph: every command that reads records takes these."""

    input: list[str] = field(default_factory=list, metadata={
        "help": "parsed record files (JSONL / JSON array) from any case, or one graph file written by build; several: "
                "repeat --input or join with commas", "aliases": ("-i",)})
    run: list[str] = field(default_factory=list, metadata={
        "help": "provenance label: which run produced the records (one, or one per input)"})
    model: list[str] = field(default_factory=list, metadata={
        "help": "provenance label: which model produced the records (one, or one per input)"})
    no_normalize: bool = field(default=False, metadata={
        "help": "keep names exactly as written (no width folding, no whitespace collapsing)"})
    casefold: bool = field(default=False, metadata={"help": "also merge names and relations that differ only in case"})
    resolve: bool = field(default=False, metadata={
        "help": "entity resolution (one node per entity: acronyms, titles, plurals, spellings, homonyms apart)"})
    decisions: str | None = field(default=None, metadata={
        "help": "a decisions file (merge / keep apart / rename) that overrides resolution; implies --resolve"})


@dataclass
class Build:
    output: str | None = field(default=None, metadata={
        "help": "the graph file to write (JSONL; every other command reads it back)", "required": True})
    summary_path: str | None = field(default=None, metadata={"help": "also write the summary as JSON here"})
    merge_log: str | None = field(default=None, metadata={
        "help": "write the merge log (JSONL: every merge with its rule, score, members and provenance) here"})


@dataclass
class Export:
    format: str = field(default="html", metadata={"help": "jsonl, csv, cypher, ttl, nt, graphml or html"})
    output: str | None = field(default=None, metadata={"help": "the file to write (a folder for csv)",
                                                       "required": True})
    base_iri: str | None = field(default=None, metadata={
        "help": "absolute IRI under which ttl/nt name entities, relations and types", "shown_default": "kgllm's"})
    max_nodes: int = field(default=2000, metadata={"help": "html: draw at most this many nodes (most edges first)"})
    title: str = field(default="Knowledge graph", metadata={"help": "html: the page title"})


@dataclass
class Load:
    store: str | None = field(default=None, metadata={"help": "the store's folder (created if missing)",
                                                      "required": True})
    base_iri: str | None = field(default=None, metadata={
        "help": "absolute IRI for entities, relations and types (a store keeps the one it was first loaded with)",
        "shown_default": "kgllm's"})
    replace: bool = field(default=False, metadata={"help": "empty the store first"})


@dataclass
class Query:
    sparql: str | None = field(default=None, metadata={
        "help": "the query, one quoted argument; prefixes rdf rdfs xsd kg ent rel type are declared for you",
        "positional": True, "required": True})
    store: str | None = field(default=None, metadata={"help": "the store's folder (written by load)",
                                                      "required": True})
    format: str = field(default="table", metadata={"help": "how results print", "choices": ("table", "csv", "json")})


@dataclass
class Stats:
    top: int = field(default=10, metadata={"help": "how many top-degree entities to list"})


@dataclass
class Eval:
    gold: str | None = field(default=None, metadata={
        "help": "the gold graph: JSONL of entities (with aliases) and edges, or a graph file (see docs/kg.md)",
        "required": True})
    pred: list[str] = field(default_factory=list, metadata={
        "help": "the graph to score: a graph file written by build, or parsed record files (built with the build "
                "flags)"})
    schema: str | None = field(default=None, metadata={
        "help": "a schema file (core.schema JSON: entity_types, relation_types, relations) for schema conformance"})
    run_report: str | None = field(default=None, metadata={
        "help": "a run report (JSON: requests, tokens or usage) for requests and tokens per correct triple"})
    output: str | None = field(default=None, metadata={"help": "also write every figure as JSON here"})
    format: str = field(default="table", metadata={"help": "what is printed", "choices": ("table", "json")})


def _graph(s: dict[str, Any], paths: Any = None, flag: str = "--input"):
    from core.kg import open_graph

    paths = s["input"] if paths is None else paths
    if not paths:
        raise UserError(f"{flag} is required: parsed record files (JSONL) or a graph file written by build")
    label = {k: (v[0] if len(v) == 1 else v) if v else None for k, v in (("run", s["run"]), ("model", s["model"]))}
    opts = {**label, "normalize": not s["no_normalize"], "casefold": s["casefold"]}
    if s["resolve"] or s["decisions"] or s.get("merge_log"):
        opts.update(resolve=bool(s["resolve"]), decisions=s["decisions"], merge_log=s.get("merge_log"))
    return open_graph(paths, **opts)


def _print_summary(summary: dict, limit: int = 20) -> None:
    shown = dict(summary)
    for key, total in (("failed", "records_failed"), ("invalid", "invalid_triples"), ("isolated", "isolated_nodes")):
        shown[key] = summary[key][:limit]
        if summary[total] > limit:
            print(f"({key}: listing {limit} of {summary[total]}; --summary_path or the graph file has more)", file=sys.stderr)
    body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())
    print("{\n" + body + "\n}")


def build(**s: Any) -> None:
    """Records -> one graph written as JSONL to --output; prints the summary (and writes it to --summary_path)."""
    from core.io import write_json
    from core.kg import export

    graph = _graph(s)
    path = export(graph, "jsonl", s["output"])
    summary = graph.summary()
    if s["summary_path"]:
        write_json(s["summary_path"], summary)
    _print_summary(summary)
    for line in (summary.get("resolution") or {}).get("decisions_unmatched", [])[:20]:
        print(f"warning: {line}", file=sys.stderr)
    print(f"graph: {path} ({summary['nodes']} nodes, {summary['edges']} edges)", file=sys.stderr)


def export(**s: Any) -> None:
    """Write the graph as jsonl | csv (Neo4j import folder) | cypher | ttl | nt | graphml | html to --output."""
    from core.kg import export as write
    from core.kg import formats

    if s["format"] not in formats():
        raise UserError(f"--format must be one of {', '.join(formats())}, got {s['format']!r}")
    path = write(_graph(s), s["format"], s["output"], base_iri=s["base_iri"], max_nodes=s["max_nodes"],
                 title=s["title"])
    print(path)


def load(**s: Any) -> None:
    """Put the graph into the embedded store at --store (pyoxigraph, on disk); --replace empties it first."""
    from core.kg.store import load_store

    graph = _graph(s)
    n = load_store(graph, s["store"], base_iri=s["base_iri"], replace=s["replace"])
    print(f"loaded {n} RDF triples ({len(graph.nodes)} nodes, {len(graph.edges)} edges) into {s['store']}")


def query(sparql: str, store: str, format: str = "table") -> None:
    """Run a SPARQL query on the store; SELECT prints a table (--format csv|json also), ASK true/false."""
    from core.kg.store import render_result, run_query

    print(render_result(run_query(store, sparql), format))


def stats(**s: Any) -> None:
    """Print the summary of the graph built from --input (nothing is written)."""
    _print_summary(_graph(s).summary(top=s["top"]))


def eval_graph(**s: Any) -> None:
    """Score a graph against a gold graph: node and edge P/R/F1 (strict and alias-aware, per relation), duplicates,
    over-merges, grounding, schema conformance, cost per correct triple. Prints a table (or JSON)."""
    from core.io import write_json
    from core.kg.evaluate import evaluate, read_run_report, render_table
    from core.kg.gold import read_gold

    gold_graph = read_gold(s["gold"])
    sch = None
    if s["schema"]:
        from core.schema import Schema

        sch = Schema.load(s["schema"])
    report = read_run_report(s["run_report"]) if s["run_report"] else None
    result = evaluate(gold_graph, _graph(s, s["pred"], flag="--pred"), sch, report)
    if s["output"]:
        write_json(s["output"], result)
    print(json.dumps(result, ensure_ascii=False, indent=1) if s["format"] == "json" else render_table(result))


def _flags(own: type, records: bool = True):
    def make() -> list:
        from core.flags import flags_of

        return [*flags_of(own), *(flags_of(Records, exclude=("input",) if own is Eval else ()) if records else [])]

    return make


def commands() -> list:
    from core.flags import Command

    return [Command("build", build, _flags(Build), "records -> one graph file (JSONL), summary printed"),
            Command("export", export, _flags(Export), "a graph as jsonl, csv, cypher, ttl, nt, graphml or html"),
            Command("load", load, _flags(Load), "a graph into the embedded SPARQL store"),
            Command("query", query, _flags(Query, records=False), "a SPARQL query on the store"),
            Command("stats", stats, _flags(Stats), "the summary of a graph (nothing written)"),
            Command("eval", eval_graph, _flags(Eval), "a graph scored against a gold graph")]


def main(argv: list[str] | None = None) -> Any:
    from core.flags import prog_name, run_commands

    return run_commands(commands(), argv, prog=prog_name("python -m core.kg"), doc=__doc__)


if __name__ == "__main__":
    main()
