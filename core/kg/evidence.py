"""What a record says about where its triples came from: the document it belongs to, how each triple is grounded.

    python -c "from core.kg.evidence import grounding_of; print(grounding_of({'head_grounding': 'exact', 'tail_grounding': 'fuzzy'}))"

- Document id: a record's `doc_id` (else `doc`) field, else the record id. Entity resolution's same-document rules
  (`contained`, a statement like `北京大学（简称北大）`) look inside one document; the documents pipeline writes one
  record per chunk with the id of the document the chunk came from.
- Grounding: a triple written by the documents pipeline may carry `head_grounding` / `tail_grounding` (each
  `exact`, `fuzzy` or `ungrounded`: how its name was found in the text), or one `grounding` for both (a string, or
  `{"head": ..., "tail": ...}`). It is kept in the edge's provenance as `"grounding": {"head": .., "tail": ..}`, which
  `core.kg eval` turns into the grounding rate.
- Evidence of one provenance entry (`evidence_of`): what the documents pipeline (core.extract.graph) adds to it --
  `document`, `chunk`, `span` (the evidence sentence's character span in the document), `head_span` / `tail_span`
  (the mentions' spans in the document), `head_mention` / `tail_mention` (as written) -- and the groundings, one
  flat dict the exports that cannot hold nested JSON (RDF, the HTML view) read.
"""

from __future__ import annotations

from typing import Any

DOC_FIELDS = ("doc_id", "doc")


def doc_of(rec: dict, rec_id: str) -> str:
    for key in DOC_FIELDS:
        value = rec.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return rec_id


def grounding_of(item: Any) -> dict | None:
    """{"head": status, "tail": status} from one triple object; None when it says nothing about grounding."""
    if not isinstance(item, dict):
        return None
    both = item.get("grounding")
    head, tail = item.get("head_grounding"), item.get("tail_grounding")
    if isinstance(both, dict):
        head, tail = head or both.get("head"), tail or both.get("tail")
    elif isinstance(both, str):
        head, tail = head or both, tail or both
    if not isinstance(head, str) and not isinstance(tail, str):
        return None
    return {"head": head if isinstance(head, str) else None, "tail": tail if isinstance(tail, str) else None}


def groundings(rec: dict, shape: str, n: int) -> list[dict | None] | None:
    """Grounding of each of the `n` triples read from a `triples`-shaped record, or None when it carries none."""
    if shape != "triples":
        return None
    from core.kg.readers import _is_raw_inference, _triple_list

    found = None if _is_raw_inference(rec) else _triple_list(rec)
    if not found or not isinstance(found[1], list) or len(found[1]) != n:
        return None
    out = [grounding_of(item) for item in found[1]]
    return out if any(out) else None


SPANS = ("span", "head_span", "tail_span")
EVIDENCE = ("document", "chunk", *SPANS, "head_mention", "tail_mention", "head_grounding", "tail_grounding")


def span_of(value: Any) -> tuple[int, int] | None:
    """(start, end) from a [start, end] pair of whole numbers, start <= end; None for anything else."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(x, int) and not isinstance(x, bool) for x in value) and 0 <= value[0] <= value[1]:
        return value[0], value[1]
    return None


def evidence_of(prov: dict) -> dict:
    """The evidence fields (EVIDENCE) a provenance entry carries, in that order: spans as (start, end), groundings
    from `grounding` or `head_grounding` / `tail_grounding`; fields it does not carry (or malformed spans) left out."""
    out: dict = {}
    for key in EVIDENCE:
        value = prov.get(key)
        if key in SPANS:
            value = span_of(value)
        elif key.endswith("_grounding"):
            value = value if isinstance(value, str) else (grounding_of(prov) or {}).get(key.split("_")[0])
        elif key == "chunk":
            value = value if isinstance(value, (int, str)) and not isinstance(value, bool) else None
        elif value is not None:
            value = str(value)
        if value is not None:
            out[key] = value
    return out
