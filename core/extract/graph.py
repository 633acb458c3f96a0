"""Grounded mentions -> entity resolution -> one core.kg graph whose every edge keeps its evidence.

    python -c "from core.extract.graph import resolver_available; print(resolver_available())"

The graph is built by core.kg, one record per mention (id = the mention id, `doc_id` = its document, text = its
evidence sentence, the triple with its types and groundings; names as the document writes them: `head_text` /
`tail_text` where grounding found another spelling), so names are normalised and facts merged exactly as
for every case. Entity resolution sits between grounding and the graph: with `resolve` (the default of `kgllm
extract`), core.kg's ResolvingBuilder sends every mention through `core.extract.resolve` (rules, homonyms kept apart
by type, a `--decisions` file of a person's overrides) and each resolved entity is one node, its other surface forms
its `aliases`; the merge log goes to merges.jsonl. Without it, one node per normalised name.

Each edge's provenance entry (core.kg: record, file, line, text, grounding) also gets the mention's `document`,
`chunk`, `span` (the evidence sentence's character span in the document), `head_mention` / `tail_mention` (as
written), `head_span` / `tail_span` (character spans in the document) and `head_grounding` / `tail_grounding`. The
JSONL, CSV, Cypher and GraphML exports write the provenance entries whole.
"""

from __future__ import annotations

import importlib.util
from typing import Any

EVIDENCE_KEYS = ("document", "chunk", "head_span", "tail_span", "head_grounding", "tail_grounding")


def resolver_available() -> bool:
    """True when core.extract.resolve (and core.kg's resolving builder) are there."""
    return all(importlib.util.find_spec(m) is not None for m in ("core.extract.resolve", "core.kg.resolved"))


def build(mentions: list[dict], source: str, resolve: bool = True, decisions: Any = None,
          merge_log: Any = None) -> Any:
    """The graph of `mentions`; `source` names the mentions file, each mention's `__line__` its line there."""
    from core.kg.graph import GraphBuilder

    if resolve:
        from core.kg.resolved import ResolvingBuilder

        builder = ResolvingBuilder(decisions=decisions)
    else:
        builder = GraphBuilder()
    builder.graph.meta["inputs"].append(source)
    by_id = {}
    for m in mentions:
        by_id[m["id"]] = m
        fact = {k: m[k] for k in ("relation", "head_type", "tail_type", "head_grounding", "tail_grounding") if m.get(k)}
        fact["head"], fact["tail"] = m.get("head_text") or m["head"], m.get("tail_text") or m["tail"]
        builder.add({"id": m["id"], "doc_id": m["document"], "text": m.get("sentence"), "triples": [fact]}, source,
                    m.get("__line__"))
    graph = builder.finish()
    if resolve and merge_log is not None:
        builder.resolution.write_log(merge_log)
    for edge in graph.edges:
        for prov in edge.provenance:
            m = by_id.get(prov.get("record"))
            if m is None:
                continue
            prov.update({k: m[k] for k in EVIDENCE_KEYS if m.get(k) is not None})
            prov["head_mention"], prov["tail_mention"] = m["head"], m["tail"]
            if m.get("sentence_span") is not None:
                prov["span"] = m["sentence_span"]
    return graph


def export_all(graph: Any, folder: Any, formats: str) -> dict[str, str]:
    """graph.jsonl always, and each of `formats` (comma-separated core.kg format names) as graph.<suffix>."""
    from pathlib import Path

    from core.kg import export
    from core.kg.exporters import get_exporter

    folder = Path(folder)
    written = {"jsonl": str(export(graph, "jsonl", folder / "graph.jsonl"))}
    for fmt in [f.strip() for f in (formats or "").split(",") if f.strip() and f.strip() != "jsonl"]:
        exporter = get_exporter(fmt)
        target = folder / (f"graph{exporter.suffix}" if exporter.suffix else f"graph_{fmt}")
        written[fmt] = str(export(graph, fmt, target))
    return written
