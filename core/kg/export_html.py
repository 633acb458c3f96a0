"""A self-contained offline HTML view (`--format html`): the graph drawn interactively, no CDN, no network.

    python -m core.kg export --input tests/data/kg/records.jsonl --format html --output /tmp/kg/graph.html

One file: our own CSS and JavaScript (core/kg/html/: view.css, layout.js -- the force layout -- and view.js) inlined,
the data as JSON in a `<script type="application/json">` block (`<`, `>`, `&` written as \\u escapes so no name can
close the block), and a Content-Security-Policy that forbids every network request. Pan (drag the background), zoom
(wheel), drag nodes, click a node to list its other names (aliases), its edges and the sentences they came from,
click an edge for its sentences, filter by relation type, search a node by name or alias. Where a provenance entry
carries its evidence (core.kg.evidence: the documents pipeline's `span` of the sentence in its document and the
mentions' `head_span` / `tail_span`), the sentence is shown with the head and tail mentions highlighted (offset in
the sentence = mention start - sentence start, in characters), with its document, chunk and grounding. Edges are
labelled with their relation where the edge is long enough on screen and the label overlaps no other label. One font
stack (view.css) serves page and canvas and names the CJK fonts it asks for. Big graphs: only the `max_nodes`
(default 2,000) nodes with the most edges are drawn, with the edges among them, and the page says so; each edge lists
at most `max_sources` (default 20) provenance entries and says how many more there are.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from core.errors import UserError
from core.io import atomic_write
from core.kg.evidence import EVIDENCE, evidence_of
from core.kg.exporters import register_exporter
from core.kg.graph import Graph

ASSETS = Path(__file__).resolve().parent / "html"
_SLOTS = re.compile(r"\{\{(TITLE|CSS|JS|DATA)\}\}")


def view_data(graph: Graph, max_nodes: int = 2000, max_sources: int = 20, title: str = "Knowledge graph") -> dict:
    """What the page embeds: the top `max_nodes` nodes by degree, the edges among them, sources and texts."""
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise UserError(f"--max_nodes must be a whole number >= 1, got {max_nodes!r}")
    if isinstance(max_sources, bool) or not isinstance(max_sources, int) or max_sources < 1:
        raise UserError(f"--max_sources must be a whole number >= 1, got {max_sources!r}")
    deg = graph.degrees()
    order = sorted(range(len(graph.nodes)), key=lambda i: (-deg[i], i))[:max_nodes]
    pos = {old: new for new, old in enumerate(order)}
    relations: dict[str, int] = {}
    sources: dict[tuple, int] = {}
    texts: dict[str, int] = {}
    src_rows: list[list] = []
    edges = []
    for e in graph.edges:
        if e.head not in pos or e.tail not in pos:
            continue
        rel = relations.setdefault(e.relation, len(relations))
        refs = []
        for p in e.provenance[:max_sources]:
            ev = evidence_of(p)
            key = (p.get("record"), p.get("text"), p.get("run"), p.get("model"), p.get("file"), p.get("line"),
                   *(ev.get(k) for k in EVIDENCE))
            idx = sources.get(key)
            if idx is None:
                idx = sources[key] = len(src_rows)
                text = p.get("text")
                tidx = -1 if text is None else texts.setdefault(text, len(texts))
                grounding = [ev.get("head_grounding"), ev.get("tail_grounding")] if "head_grounding" in ev or \
                    "tail_grounding" in ev else None
                src_rows.append([str(p.get("record")), tidx, p.get("run"), p.get("model"), p.get("file"), p.get("line"),
                                 ev.get("document"), ev.get("chunk"), marks(ev, text), grounding])
            refs.append(idx)
        edges.append([pos[e.head], pos[e.tail], rel, e.count, refs])
    return {
        "title": title,
        "total_nodes": len(graph.nodes),
        "total_edges": len(graph.edges),
        "shown_nodes": len(order),
        "shown_edges": len(edges),
        "nodes": [{"name": graph.nodes[i].name, "types": graph.nodes[i].types, "aliases": graph.nodes[i].aliases,
                   "degree": deg[i]} for i in order],  # fmt: skip
        "relations": list(relations),
        "edges": edges,
        "sources": src_rows,
        "texts": list(texts),
    }


def marks(ev: dict, text: str | None) -> list[list]:
    """[[start, end, "head" | "tail"], ...]: the mentions' places in the evidence sentence (characters, i.e. code
    points), for the evidence of one provenance entry; [] when it has no sentence span or they do not fit it."""
    span = ev.get("span")
    if span is None or not isinstance(text, str) or span[1] - span[0] != len(text):
        return []
    out = []
    for side in ("head", "tail"):
        where = ev.get(f"{side}_span")
        if where is not None and 0 <= where[0] - span[0] < where[1] - span[0] <= len(text):
            out.append([where[0] - span[0], where[1] - span[0], side])
    return out


def script_json(data: dict) -> str:
    """JSON that is safe inside a <script> element: no `</script>`, `<!--` or `&` can appear literally."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(graph: Graph, max_nodes: int = 2000, max_sources: int = 20, title: str = "Knowledge graph") -> str:
    data = view_data(graph, max_nodes=max_nodes, max_sources=max_sources, title=title)
    parts = {
        "TITLE": html.escape(title),
        "CSS": (ASSETS / "view.css").read_text(encoding="utf-8"),
        "JS": "\n".join((ASSETS / name).read_text(encoding="utf-8") for name in ("layout.js", "view.js")),
        "DATA": script_json(data),
    }
    template = (ASSETS / "view.html").read_text(encoding="utf-8")
    return _SLOTS.sub(lambda m: parts[m.group(1)], template)


def write_html(
    graph: Graph, out_path: Path, max_nodes: int = 2000, max_sources: int = 20, title: str = "Knowledge graph", **_
) -> Path:
    page = render_html(graph, max_nodes=max_nodes, max_sources=max_sources, title=title)
    with atomic_write(out_path) as fh:
        fh.write(page)
    return out_path


register_exporter("html", write_html, ".html", "self-contained offline HTML view (--max_nodes, default 2000)")
