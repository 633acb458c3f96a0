"""Knowledge-graph command line: build, export, load, query, stats.

    python -m core.kg build --input tests/data/kg/records.jsonl --output /tmp/kg/graph.jsonl
    python -m core.kg export --input /tmp/kg/graph.jsonl --format html --output /tmp/kg/graph.html
    python -m core.kg load --input /tmp/kg/graph.jsonl --store /tmp/kg/store --replace
    python -m core.kg query --store /tmp/kg/store "SELECT ?name WHERE { ?e a kg:Entity ; rdfs:label ?name } LIMIT 5"
    python -m core.kg stats --input tests/data/kg/records.jsonl

`--input` takes parsed record files from any case (several: `--input a.jsonl --input b.jsonl`, or `a.jsonl,b.jsonl`)
or one graph file written by `build`. Build switches (wherever records are read): `--run`, `--model` (provenance
labels; one, or a list with one per input), `--no_normalize` (keep names exactly as written), `--casefold`.
See docs/kg.md.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

from core.errors import UserError, cli_main


def _graph(input: Any, run: Any, model: Any, no_normalize: bool, casefold: bool):
    from core.kg import open_graph

    if input in (None, "", True):
        raise UserError("--input is required: parsed record files (JSONL) or a graph file written by build")
    return open_graph(input, run=run, model=model, normalize=not no_normalize, casefold=casefold)


def _print_summary(summary: dict, limit: int = 20) -> None:
    shown = dict(summary)
    for key, total in (("failed", "records_failed"), ("invalid", "invalid_triples"), ("isolated", "isolated_nodes")):
        shown[key] = summary[key][:limit]
        if summary[total] > limit:
            print(f"({key}: listing {limit} of {summary[total]}; --summary_path or the graph file has more)", file=sys.stderr)
    body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())
    print("{\n" + body + "\n}")


def build(input=None, output=None, run=None, model=None, no_normalize=False, casefold=False, summary_path=None):
    """Records -> one graph written as JSONL to --output; prints the summary (and writes it to --summary_path).

    Args:
        input: parsed record files (JSONL / JSON array) from any case; several: repeat --input or join with commas
        output: the graph file to write (JSONL; every other command reads it back)
        run: provenance label: which run produced the records (one, or a list with one per input)
        model: provenance label: which model produced the records (one, or a list with one per input)
        no_normalize: keep names exactly as written (no width folding, no whitespace collapsing)
        casefold: also merge names and relations that differ only in case
        summary_path: also write the summary as JSON here
    """
    from core.io import write_json
    from core.kg import export

    if not output:
        raise UserError("--output is required (the graph JSONL to write)")
    graph = _graph(input, run, model, no_normalize, casefold)
    path = export(graph, "jsonl", output)
    summary = graph.summary()
    if summary_path:
        write_json(summary_path, summary)
    _print_summary(summary)
    print(f"graph: {path} ({summary['nodes']} nodes, {summary['edges']} edges)", file=sys.stderr)


def export(input=None, format="html", output=None, base_iri=None, max_nodes=2000, title="Knowledge graph",
           run=None, model=None, no_normalize=False, casefold=False):  # fmt: skip
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
    """
    from core.kg import export as write
    from core.kg import formats

    if format not in formats():
        raise UserError(f"--format must be one of {', '.join(formats())}, got {format!r}")
    if not output:
        raise UserError("--output is required (a file; a folder for --format csv)")
    graph = _graph(input, run, model, no_normalize, casefold)
    path = write(graph, format, output, base_iri=base_iri, max_nodes=max_nodes, title=str(title))
    print(path)


def load(input=None, store=None, base_iri=None, replace=False, run=None, model=None, no_normalize=False,
         casefold=False):  # fmt: skip
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
    """
    from core.kg.store import load_store

    if not store:
        raise UserError("--store is required (a folder for the embedded store)")
    graph = _graph(input, run, model, no_normalize, casefold)
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


def stats(input=None, run=None, model=None, no_normalize=False, casefold=False, top=10):
    """Print the summary of the graph built from --input (nothing is written).

    Args:
        input: a graph file written by build, or parsed record files
        run: build flag (see build)
        model: build flag (see build)
        no_normalize: build flag (see build)
        casefold: build flag (see build)
        top: how many top-degree entities to list
    """
    graph = _graph(input, run, model, no_normalize, casefold)
    _print_summary(graph.summary(top=int(top)))


COMMANDS = {"build": build, "export": export, "load": load, "query": query, "stats": stats}


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
