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
import warnings
from typing import Any

from core.errors import UserError, cli_main


def _graph(input: Any, run: Any, model: Any, no_normalize: bool, casefold: bool, resolve: bool = False,
           decisions: Any = None, merge_log: Any = None, flag: str = "--input"):  # fmt: skip
    from core.kg import open_graph

    if input in (None, "", True):
        raise UserError(f"{flag} is required: parsed record files (JSONL) or a graph file written by build")
    if decisions is True or merge_log is True:
        raise UserError("--decisions and --merge_log take a file path")
    opts = {"run": run, "model": model, "normalize": not no_normalize, "casefold": casefold}
    if resolve or decisions or merge_log:
        opts.update(resolve=bool(resolve), decisions=decisions, merge_log=merge_log)
    return open_graph(input, **opts)


def _print_summary(summary: dict, limit: int = 20) -> None:
    shown = dict(summary)
    for key, total in (("failed", "records_failed"), ("invalid", "invalid_triples"), ("isolated", "isolated_nodes")):
        shown[key] = summary[key][:limit]
        if summary[total] > limit:
            print(f"({key}: listing {limit} of {summary[total]}; --summary_path or the graph file has more)", file=sys.stderr)
    body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())
    print("{\n" + body + "\n}")


def build(input=None, output=None, run=None, model=None, no_normalize=False, casefold=False, summary_path=None,
          resolve=False, decisions=None, merge_log=None):  # fmt: skip
    """Records -> one graph written as JSONL to --output; prints the summary (and writes it to --summary_path).

    Args:
        input: parsed record files (JSONL / JSON array) from any case; several: repeat --input or join with commas
        output: the graph file to write (JSONL; every other command reads it back)
        run: provenance label: which run produced the records (one, or a list with one per input)
        model: provenance label: which model produced the records (one, or a list with one per input)
        no_normalize: keep names exactly as written (no width folding, no whitespace collapsing)
        casefold: also merge names and relations that differ only in case
        summary_path: also write the summary as JSON here
        resolve: entity resolution (one node per entity: acronyms, titles, plurals, spellings, homonyms apart)
        decisions: a decisions file (merge / keep apart / rename) that overrides resolution; implies --resolve
        merge_log: write the merge log (JSONL: every merge with its rule, score, members and provenance) here
    """
    from core.io import write_json
    from core.kg import export

    if not output:
        raise UserError("--output is required (the graph JSONL to write)")
    graph = _graph(input, run, model, no_normalize, casefold, resolve, decisions, merge_log)
    path = export(graph, "jsonl", output)
    summary = graph.summary()
    if summary_path:
        write_json(summary_path, summary)
    _print_summary(summary)
    for line in (summary.get("resolution") or {}).get("decisions_unmatched", [])[:20]:
        print(f"warning: {line}", file=sys.stderr)
    print(f"graph: {path} ({summary['nodes']} nodes, {summary['edges']} edges)", file=sys.stderr)


def export(input=None, format="html", output=None, base_iri=None, max_nodes=2000, title="Knowledge graph",
           run=None, model=None, no_normalize=False, casefold=False, resolve=False, decisions=None):  # fmt: skip
    """Write the graph as jsonl | csv (Neo4j import folder) | cypher | ttl | nt | graphml | html to --output.

    Args:
        input: a graph file written by build, or parsed record files (then built with the build flags)
        format: jsonl, csv, cypher, ttl, nt, graphml or html
        output: the file to write (a folder for csv)
        base_iri: absolute IRI under which ttl/nt name entities, relations and types
        max_nodes: html: draw at most this many nodes (those with the most edges)
        title: html: the page title
        run: build flag (see build)
        model: build flag (see build)
        no_normalize: build flag (see build)
        casefold: build flag (see build)
        resolve: build flag (see build)
        decisions: build flag (see build)
    """
    from core.kg import export as write
    from core.kg import formats

    if format not in formats():
        raise UserError(f"--format must be one of {', '.join(formats())}, got {format!r}")
    if not output:
        raise UserError("--output is required (a file; a folder for --format csv)")
    graph = _graph(input, run, model, no_normalize, casefold, resolve, decisions)
    path = write(graph, format, output, base_iri=base_iri, max_nodes=max_nodes, title=str(title))
    print(path)


def load(input=None, store=None, base_iri=None, replace=False, run=None, model=None, no_normalize=False,
         casefold=False, resolve=False, decisions=None):  # fmt: skip
    """Put the graph into the embedded store at --store (pyoxigraph, on disk); --replace empties it first.

    Args:
        input: a graph file written by build, or parsed record files
        store: the store's folder (created if missing)
        base_iri: absolute IRI for entities, relations and types (a store keeps the one it was first loaded with)
        replace: empty the store first
        run: build flag (see build)
        model: build flag (see build)
        no_normalize: build flag (see build)
        casefold: build flag (see build)
        resolve: build flag (see build)
        decisions: build flag (see build)
    """
    from core.kg.store import load_store

    if not store:
        raise UserError("--store is required (a folder for the embedded store)")
    graph = _graph(input, run, model, no_normalize, casefold, resolve, decisions)
    n = load_store(graph, store, base_iri=base_iri, replace=replace)
    print(f"loaded {n} RDF triples ({len(graph.nodes)} nodes, {len(graph.edges)} edges) into {store}")


def query(sparql=None, store=None, format="table"):
    """Run a SPARQL query on the store; SELECT prints a table (--format csv|json also), ASK true/false.

    Args:
        sparql: the query, one quoted argument; prefixes rdf rdfs xsd kg ent rel type are declared for you
        store: the store's folder (written by load)
        format: table, csv or json
    """
    from core.kg.store import render_result, run_query

    if not store:
        raise UserError("--store is required")
    if not sparql or not isinstance(sparql, str):
        raise UserError('give the SPARQL query as one quoted argument: query --store DIR "SELECT ..."')
    print(render_result(run_query(store, sparql), format))


def stats(input=None, run=None, model=None, no_normalize=False, casefold=False, top=10, resolve=False, decisions=None):
    """Print the summary of the graph built from --input (nothing is written).

    Args:
        input: a graph file written by build, or parsed record files
        run: build flag (see build)
        model: build flag (see build)
        no_normalize: build flag (see build)
        casefold: build flag (see build)
        top: how many top-degree entities to list
        resolve: build flag (see build)
        decisions: build flag (see build)
    """
    graph = _graph(input, run, model, no_normalize, casefold, resolve, decisions)
    _print_summary(graph.summary(top=int(top)))


def eval_graph(gold=None, pred=None, schema=None, run_report=None, output=None, format="table", run=None, model=None,
         no_normalize=False, casefold=False, resolve=False, decisions=None):  # fmt: skip
    """Score a graph against a gold graph: node and edge P/R/F1 (strict and alias-aware, per relation), duplicates,
    over-merges, grounding, schema conformance, cost per correct triple. Prints a table (or JSON).

    Args:
        gold: the gold graph: JSONL of entities (with aliases) and edges, or a graph file (see docs/kg.md)
        pred: the graph to score: a graph file written by build, or parsed record files (built with the build flags)
        schema: a schema file (core.schema JSON: entity_types, relation_types, relations) for schema conformance
        run_report: a run report (JSON: requests, tokens or usage) for requests and tokens per correct triple
        output: also write every figure as JSON here
        format: table or json (what is printed)
        run: build flag (see build)
        model: build flag (see build)
        no_normalize: build flag (see build)
        casefold: build flag (see build)
        resolve: build flag (see build)
        decisions: build flag (see build)
    """
    from core.io import write_json
    from core.kg.evaluate import evaluate, read_run_report, render_table
    from core.kg.gold import read_gold

    if format not in ("table", "json"):
        raise UserError(f"--format must be table or json, got {format!r}")
    if gold in (None, "", True):
        raise UserError("--gold is required: the gold graph (JSONL of entities and edges, see docs/kg.md)")
    gold_graph = read_gold(str(gold))
    sch = None
    if schema not in (None, ""):
        from core.schema import Schema

        sch = Schema.load(str(schema))
    report = read_run_report(str(run_report)) if run_report not in (None, "") else None
    graph = _graph(pred, run, model, no_normalize, casefold, resolve, decisions, flag="--pred")
    result = evaluate(gold_graph, graph, sch, report)
    if output:
        write_json(output, result)
    print(json.dumps(result, ensure_ascii=False, indent=1) if format == "json" else render_table(result))


COMMANDS = {"build": build, "export": export, "load": load, "query": query, "stats": stats, "eval": eval_graph}


def _merge_repeated(argv: list[str], flags: tuple[str, ...] = ("--input", "-i")) -> list[str]:
    """`--input a --input b` (fire keeps only the last) -> `--input=["a","b"]`."""
    values, rest, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in flags and i + 1 < len(argv):
            values.append(argv[i + 1])
            i += 2
            continue
        flag = next((f for f in flags if arg.startswith(f + "=")), None)
        if flag:
            values.append(arg[len(flag) + 1 :])
        else:
            rest.append(arg)
        i += 1
    if len(values) <= 1:
        return argv
    return [*rest, f"--input={json.dumps(values, ensure_ascii=False)}"]


def main(argv: list[str] | None = None) -> Any:
    argv = list(sys.argv[1:] if argv is None else argv)
    warnings.filterwarnings("ignore", category=SyntaxWarning)  # fire tries each argument as a Python literal
    return cli_main(COMMANDS, argv=_merge_repeated(argv), name="core.kg")


if __name__ == "__main__":
    main()
