"""GraphML (`--format graphml`) for networkx, Gephi and yEd: a directed multigraph with labelled nodes and edges.

    python -m core.kg export --input tests/data/kg/records.jsonl --format graphml --output /tmp/kg/graph.graphml

Node attributes: `label` (the name), `types` (JSON list), `aliases` (JSON list of the other surface forms). Edge attributes: `label` (the relation), `count` (int),
`provenance` (JSON list of {record, file, line, text, run, model}). Read it back with
`networkx.read_graphml(path, force_multigraph=True)`. XML 1.0 cannot hold the control characters U+0000-U+0008,
U+000B, U+000C, U+000E-U+001F, U+FFFE, U+FFFF at all: in this format only they become U+FFFD; a carriage return is
written as `&#13;` so it survives.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from core.io import atomic_write
from core.kg.exporters import register_exporter
from core.kg.graph import Graph

_XML = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord("\r"): "&#13;"}  # element text only
_XML.update({c: "\ufffd" for c in [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]})
_SPECIAL = re.compile("[" + re.escape("".join(map(chr, _XML))) + "]")
KEYS = [
    ("d0", "node", "label", "string"),
    ("d1", "node", "types", "string"),
    ("d2", "edge", "label", "string"),
    ("d3", "edge", "count", "int"),
    ("d4", "edge", "provenance", "string"),
    ("d5", "node", "aliases", "string"),
]


def xml_text(text: str) -> str:
    return text.translate(_XML) if _SPECIAL.search(text) else text


def write_graphml(graph: Graph, out_path: Path, **_: object) -> Path:
    with atomic_write(out_path) as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write(
            '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
            'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
        )
        for kid, for_, name, typ in KEYS:
            fh.write(f'  <key id="{kid}" for="{for_}" attr.name="{name}" attr.type="{typ}"/>\n')
        fh.write('  <graph id="kg" edgedefault="directed">\n')
        for n in graph.nodes:
            types = xml_text(json.dumps(n.types, ensure_ascii=False))
            aliases = xml_text(json.dumps(n.aliases, ensure_ascii=False))
            fh.write(
                f'    <node id="{n.id}"><data key="d0">{xml_text(n.name)}</data>'
                f'<data key="d1">{types}</data><data key="d5">{aliases}</data></node>\n'
            )
        nodes = graph.nodes
        for e in graph.edges:
            prov = xml_text(json.dumps(e.provenance, ensure_ascii=False))
            fh.write(
                f'    <edge id="{e.id}" source="{nodes[e.head].id}" target="{nodes[e.tail].id}">'
                f'<data key="d2">{xml_text(e.relation)}</data><data key="d3">{e.count}</data>'
                f'<data key="d4">{prov}</data></edge>\n'
            )
        fh.write("  </graph>\n</graphml>\n")
    return out_path


register_exporter("graphml", write_graphml, ".graphml", "GraphML for networkx, Gephi, yEd (directed multigraph)")
