"""What a record says about where its triples came from: the document it belongs to, how each triple is grounded.

    python -c "from core.kg.evidence import grounding_of; print(grounding_of({'head_grounding': 'exact', 'tail_grounding': 'fuzzy'}))"

- Document id: a record's `doc_id` (else `doc`) field, else the record id. Entity resolution's same-document rules
  (`contained`, a statement like `北京大学（简称北大）`) look inside one document; the documents pipeline writes one
  record per chunk with the id of the document the chunk came from.
- Grounding: a triple written by the documents pipeline may carry `head_grounding` / `tail_grounding` (each
  `exact`, `fuzzy` or `ungrounded`: how its name was found in the text), or one `grounding` for both (a string, or
  `{"head": ..., "tail": ...}`). It is kept in the edge's provenance as `"grounding": {"head": .., "tail": ..}`, which
  `core.kg eval` turns into the grounding rate.
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
