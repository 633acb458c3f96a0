"""RDF Turtle and N-Triples (`--format ttl|nt`): proper IRIs under `--base_iri`, provenance by RDF reification.

    python -m core.kg export --input tests/data/kg/records.jsonl --format ttl --output /tmp/kg/graph.ttl

With base `B` (default http://example.org/kg/; it must be an absolute IRI, a `/` is added when it ends in neither
`/` nor `#`) and every name percent-encoded as UTF-8 (`quote(name, safe="")`, so any string makes a valid IRI):

    <B entity/NAME>   a kg:Entity, <B type/TYPE> ; rdfs:label "name" ; skos:altLabel "alias", ... .
    <B type/TYPE>     a rdfs:Class ; rdfs:label "type" .
    <B relation/REL>  a rdf:Property ; rdfs:label "relation" .          (relations are properties)
    <B entity/H> <B relation/R> <B entity/T> .                            (the fact itself)
    <B statement/e0>  a rdf:Statement ; rdf:subject ... ; rdf:predicate ... ; rdf:object ... ;
                      kg:count 2 ; kg:source <B source/0>, <B source/1> .
    <B source/0>      a kg:Source ; kg:record "id" ; kg:file "x.jsonl" ; kg:line 3 ; kg:text "..." ; kg:run ; kg:model ;
                      kg:document "doc" ; kg:chunk 2 ; kg:span_start 120 ; kg:span_end 188 ;
                      kg:head_span_start 120 ; kg:head_span_end 131 ; kg:tail_span_start 150 ; kg:tail_span_end 156 ;
                      kg:head_mention "..." ; kg:tail_mention "..." ; kg:head_grounding "exact" ;
                      kg:tail_grounding "fuzzy" .

where `kg:` is `B vocab#` and `skos:` is SKOS (`skos:altLabel`: the entity's other surface forms, one per alias).
A source's lines after the first are its evidence (core.kg.evidence.evidence_of), written where the provenance has
it: the documents pipeline (`kgllm extract`) gives all of it; spans are character offsets in the document (end
exclusive), `kg:chunk` is an integer when the chunk is a number.
NAME is the node's name; homonyms (one name, several nodes) get `NAME (TYPE)` instead (see `Graph.keys`). Literals
are escaped as N-Triples requires (`\\`, `"`, line breaks, control characters), so names with quotes, newlines, angle
brackets, any script or emoji come back unchanged from any RDF parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from core.errors import UserError
from core.io import atomic_write
from core.kg.evidence import SPANS, evidence_of
from core.kg.exporters import register_exporter
from core.kg.graph import Graph

DEFAULT_BASE_IRI = "http://example.org/kg/"
SOURCE_KEYS = ("record", "file", "line", "text", "run", "model")
EVIDENCE_KEYS = ("document", "chunk", *(f"{s}_{e}" for s in SPANS for e in ("start", "end")), "head_mention",
                 "tail_mention", "head_grounding", "tail_grounding")
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_ESC = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
_ESC.update({c: f"\\u{c:04X}" for c in [*range(0x20), 0x7F] if c not in _ESC})


def check_base_iri(base_iri: str | None) -> str:
    """The base IRI to use, ending in `/` or `#`; UserError when it is not an absolute IRI."""
    base = DEFAULT_BASE_IRI if base_iri in (None, "") else str(base_iri)
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", base) or _BAD_IRI.search(base):
        raise UserError(f"--base_iri must be an absolute IRI without spaces or <>\"{{}}|^`\\, got {base!r}")
    return base if base.endswith(("/", "#")) else base + "/"


_SPECIAL = re.compile("[" + re.escape("".join(map(chr, _ESC))) + "]")


def literal(text: str) -> str:
    return '"' + (text.translate(_ESC) if _SPECIAL.search(text) else text) + '"'


def integer(value: int, turtle: bool) -> str:
    return str(int(value)) if turtle else f'"{int(value)}"^^<{XSD}integer>'


class Terms:
    """IRIs of one export: full `<...>` for N-Triples; vocabulary as prefixed names for Turtle."""

    def __init__(self, base: str, turtle: bool):
        self.base, self.turtle = base, turtle
        vocab = base + "vocab#"
        self.prefixes = {"rdf": RDF, "rdfs": RDFS, "xsd": XSD, "skos": SKOS, "kg": vocab}

        def v(prefix: str, ns: str, local: str) -> str:
            return f"{prefix}:{local}" if turtle else f"<{ns}{local}>"

        self.a = "a" if turtle else f"<{RDF}type>"
        self.label, self.alt_label = v("rdfs", RDFS, "label"), v("skos", SKOS, "altLabel")
        self.property, self.statement = v("rdf", RDF, "Property"), v("rdf", RDF, "Statement")
        self.rdfs_class = v("rdfs", RDFS, "Class")
        self.subject, self.predicate, self.object = (v("rdf", RDF, x) for x in ("subject", "predicate", "object"))
        self.entity, self.source_class = v("kg", vocab, "Entity"), v("kg", vocab, "Source")
        self.count, self.source = v("kg", vocab, "count"), v("kg", vocab, "source")
        self.prov = {k: v("kg", vocab, k) for k in (*SOURCE_KEYS, *EVIDENCE_KEYS)}

    def iri(self, kind: str, name: str) -> str:
        return f"<{self.base}{kind}/{quote(name, safe='')}>"


def statements(graph: Graph, t: Terms) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(subject, [(predicate, object), ...]) groups for the whole graph, in a stable order."""
    node_iri = [t.iri("entity", key) for key in graph.keys()]
    for n, iri in zip(graph.nodes, node_iri, strict=True):
        yield iri, [(t.a, t.entity), *((t.a, t.iri("type", ty)) for ty in n.types), (t.label, literal(n.name)),
                    *((t.alt_label, literal(a)) for a in n.aliases)]  # fmt: skip
    for ty in dict.fromkeys(ty for n in graph.nodes for ty in n.types):
        yield t.iri("type", ty), [(t.a, t.rdfs_class), (t.label, literal(ty))]
    rel_iri: dict[str, str] = {}
    for e in graph.edges:
        if e.relation not in rel_iri:
            rel_iri[e.relation] = t.iri("relation", e.relation)
            yield rel_iri[e.relation], [(t.a, t.property), (t.label, literal(e.relation))]
    sources: dict[tuple, str] = {}
    for e in graph.edges:
        h, r, o = node_iri[e.head], rel_iri[e.relation], node_iri[e.tail]
        yield h, [(r, o)]
        refs, new = [], []
        for p in e.provenance:
            fields = source_fields(p)
            key = tuple(fields.items())
            iri = sources.get(key)
            if iri is None:
                iri = sources[key] = f"<{t.base}source/{len(sources)}>"
                new.append((iri, fields))
            refs.append((t.source, iri))
        yield f"<{t.base}statement/{quote(e.id, safe='')}>", [
            (t.a, t.statement), (t.subject, h), (t.predicate, r), (t.object, o),
            (t.count, integer(e.count, t.turtle)), *refs,
        ]  # fmt: skip
        for iri, fields in new:
            pairs = [(t.a, t.source_class)]
            for k, value in fields.items():
                obj = integer(value, t.turtle) if isinstance(value, int) else literal(str(value))
                pairs.append((t.prov[k], obj))
            yield iri, pairs


def source_fields(prov: dict) -> dict:
    """What a kg:Source says of one provenance entry: SOURCE_KEYS as given (`line` a number), then the evidence with
    each span as `<name>_start` / `<name>_end`; keys without a value left out."""
    out = {}
    for k in SOURCE_KEYS:
        value = prov.get(k)
        if value is not None:
            out[k] = value if k == "line" and isinstance(value, int) and not isinstance(value, bool) else str(value)
    for k, value in evidence_of(prov).items():
        if k in SPANS:
            out[f"{k}_start"], out[f"{k}_end"] = value
        else:
            out[k] = value
    return out


def write_nt(graph: Graph, out_path: Path, base_iri: str | None = None, **_: object) -> Path:
    terms = Terms(check_base_iri(base_iri), turtle=False)
    with atomic_write(out_path) as fh:
        for s, pairs in statements(graph, terms):
            fh.write("".join(f"{s} {p} {o} .\n" for p, o in pairs))
    return out_path


def write_ttl(graph: Graph, out_path: Path, base_iri: str | None = None, **_: object) -> Path:
    terms = Terms(check_base_iri(base_iri), turtle=True)
    with atomic_write(out_path) as fh:
        fh.write("".join(f"@prefix {k}: <{v}> .\n" for k, v in terms.prefixes.items()) + "\n")
        for s, pairs in statements(graph, terms):
            body = " ;\n    ".join(f"{p} {o}" for p, o in pairs)
            fh.write(f"{s} {body} .\n")
    return out_path


register_exporter("ttl", write_ttl, ".ttl", "RDF Turtle; provenance by reification (--base_iri)")
register_exporter("nt", write_nt, ".nt", "RDF N-Triples; provenance by reification (--base_iri)")
