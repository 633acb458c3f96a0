"""Parsed records from any case -> triples with provenance; one small registry of record shapes.

    python -c "from core.kg.readers import read_record; print(read_record({'id': 1, 'kg': [['A', 'r', 'B']]}))"

Each JSONL record is matched against the shapes below, first match wins (`SHAPES`, in registration order):

- `tacred` (UnleashLLMRE `os.json`): `token` (list), `subj_start`/`subj_end`/`obj_start`/`obj_end` (inclusive token
  indices), `subj_type`, `obj_type`, the predicted relation in `pr` (the gold `relation` only when the record has
  no `pr` at all) -> one triple (subject, relation, object) unless the relation is null or a negative label
  (`NEGATIVE_LABELS`): then the two entities become nodes without an edge. Names and sentence are the tokens
  joined by spaces, PTB brackets converted as in the prompt (-LRB- -> `(`, core.records.ptb_text). Use `os.json`:
  `no.json` holds the answers that matched no label, in `pr`.
- `re_pair` (LLMICL RE): `head_entity`, `tail_entity`, optional `head_type`/`tail_type`, the relation in `pred`
  (`relation` only when there is no `pred`); null and negative labels as above.
- `triples` (InstructKGC convert output, CodeKGC, LLMICL RTE, generic): triples in `triples`, else `pred.triples`,
  else `pred` (a list), else `kg`; each one `{"head","relation","tail"}` (also `subject`/`predicate`/`object`,
  optional `head_type`/`tail_type`) or `[head, relation, tail]`. A record that has an answer text in `output` but no
  `status`, `triples` or `pred` is raw inference output whose `kg` would be the gold copied from the input: its triples
  are parsed from `output` with `core.parsing` instead. An optional `entities` list (`{"text","type"}`) adds nodes.

Common fields: id from `id` (else `file:line`); sentence from `text`, `input`, `sentence` (else none); status from
`status` (or `pred.status`). A status in `FAILED_STATUSES` (any case) marks a record that failed parsing: it is
counted and listed, never read further, never turned into nodes or edges. To add a shape:
`register_shape("name", detect, read)` where `detect(rec) -> bool` and `read(rec, where) -> Read` (raise
`where.error(message, field)` on bad data: a DataError naming file:line:field).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.io import DataError
from core.metrics import NEGATIVE_LABELS
from core.records import FAILED, UNPARSABLE, Triple
from core.registry import Registry

FAILED_STATUSES = frozenset({FAILED, UNPARSABLE, "unparsed", "error"})  # ours, and older files' spellings
TEXT_FIELDS = ("text", "input", "sentence")
HEAD_KEYS, RELATION_KEYS, TAIL_KEYS = ("head", "subject"), ("relation", "predicate"), ("tail", "object")


# One triple as a record states it (types None where the case does not know them): the shared record type.
Mention = Triple


@dataclass
class Read:
    """What one record contributes: triples, extra entities (name, type), its sentence and parse status."""

    mentions: list[Mention] = field(default_factory=list)
    entities: list[tuple[str, str | None]] = field(default_factory=list)
    text: str | None = None
    status: str | None = None
    negative: bool = False


@dataclass(frozen=True)
class Where:
    """File and line of the record being read, for one-line errors."""

    path: str
    line: int | None

    def error(self, message: str, field: str | None = None) -> DataError:
        return DataError(self.path, self.line, message, field=field)


Detect = Callable[[dict], bool]
Reader = Callable[[dict, Where], Read]
SHAPES: Registry = Registry("record shape")


def register_shape(name: str, detect: Detect, read: Reader) -> None:
    """Add a record shape; shapes are tried in registration order. Refuses a name already registered."""
    SHAPES.add(name, (detect, read))


def detect_shape(rec: dict) -> str | None:
    for name, (detect, _) in SHAPES.items():
        if detect(rec):
            return name
    return None


def read_record(rec: Any, where: Where | None = None) -> tuple[str, Read]:
    """(shape name, Read) for one record; DataError naming file:line:field when it fits no shape or is malformed."""
    where = where or Where("<record>", None)
    if not isinstance(rec, dict):
        raise where.error(f"expected a JSON object, got {type(rec).__name__}")
    name = detect_shape(rec)
    status = _status(rec, where)
    if status is not None and status.strip().lower() in FAILED_STATUSES:
        return name or "unknown", Read(status=status)  # counted and skipped: its fields are not trusted
    if name is None:
        raise where.error(
            "no triples found: expected one of the fields triples, kg, pred, token+subj_start (TACRED) or "
            "head_entity+tail_entity (RE)"
        )
    read = SHAPES[name][1](rec, where)
    if read.status is None:
        read.status = status
    return name, read


def _str(rec: dict, key: str, where: Where, required: bool = True) -> str | None:
    value = rec.get(key)
    if value is None:
        if required:
            raise where.error("missing", key)
        return None
    if not isinstance(value, str):
        raise where.error("expected a string", key)
    return value


def _status(rec: dict, where: Where) -> str | None:
    status = rec.get("status")
    if status is None and isinstance(rec.get("pred"), dict):
        status = rec["pred"].get("status")
    if status is not None and not isinstance(status, str):
        raise where.error("expected a string", "status")
    return status


def _text(rec: dict, where: Where) -> str | None:
    for key in TEXT_FIELDS:
        if rec.get(key) is not None:
            return _str(rec, key, where)
    return None


def _pick(item: dict, keys: tuple[str, ...], where: Where, field_name: str) -> str:
    value = item.get(keys[0])
    if type(value) is str:  # the common case, checked first
        return value
    for key in keys:
        if item.get(key) is not None:
            if not isinstance(item[key], str):
                raise where.error("expected a string", f"{field_name}.{key}")
            return item[key]
    raise where.error("missing", f"{field_name}.{keys[0]}")


def _type(item: dict, key: str, where: Where, field_name: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise where.error("expected a string", f"{field_name}.{key}")
    return value or None


def mention_from_any(item: Any, where: Where, field_name: str) -> Mention:
    """A Mention from `{"head","relation","tail"[, types]}` (or subject/predicate/object) or `[h, r, t]`."""
    if isinstance(item, (list, tuple)):
        if len(item) != 3 or not all(isinstance(x, str) for x in item):
            raise where.error("a triple must be [head, relation, tail] of strings", field_name)
        return Mention(*item)
    if not isinstance(item, dict):
        raise where.error("a triple must be an object or a [head, relation, tail] list", field_name)
    return Mention(
        _pick(item, HEAD_KEYS, where, field_name),
        _pick(item, RELATION_KEYS, where, field_name),
        _pick(item, TAIL_KEYS, where, field_name),
        _type(item, "head_type", where, field_name) or _type(item, "subject_type", where, field_name),
        _type(item, "tail_type", where, field_name) or _type(item, "object_type", where, field_name),
    )


def _triple_list(rec: dict) -> tuple[str, Any] | None:
    """(field name, list) of the record's predicted triples, in the order of preference documented above."""
    if rec.get("triples") is not None:
        return "triples", rec["triples"]
    pred = rec.get("pred")
    if isinstance(pred, dict) and pred.get("triples") is not None:
        return "pred.triples", pred["triples"]
    if isinstance(pred, list):
        return "pred", pred
    if rec.get("kg") is not None:
        return "kg", rec["kg"]
    return None


def _is_raw_inference(rec: dict) -> bool:
    return isinstance(rec.get("output"), str) and "status" not in rec and rec.get("triples") is None and "pred" not in rec


def _detect_triples(rec: dict) -> bool:
    return "triples" in rec or "kg" in rec or "pred" in rec or _is_raw_inference(rec)


def _read_triples(rec: dict, where: Where) -> Read:
    read = Read(text=_text(rec, where))
    if _is_raw_inference(rec):
        from core.parsing.ccks import parse_triples
        from core.parsing.ccks_instruction import relations_from_instruction

        instruction = rec.get("instruction") if isinstance(rec.get("instruction"), str) else None
        parsed = parse_triples(rec["output"], input_text=read.text,
                               relations=relations_from_instruction(instruction))
        read.status = parsed.status
        read.mentions = list(parsed.triples)
    else:
        found = _triple_list(rec)
        if found is None:
            raise where.error("no triples: expected a list in triples, pred, pred.triples or kg", "triples")
        name, items = found
        if not isinstance(items, list):
            raise where.error("expected a list of triples", name)
        read.mentions = [mention_from_any(item, where, f"{name}[{i}]") for i, item in enumerate(items)]
    for i, ent in enumerate(rec.get("entities") or []):
        if not isinstance(ent, dict) or not isinstance(ent.get("text"), str):
            raise where.error('an entity must be {"text", "type"}', f"entities[{i}]")
        read.entities.append((ent["text"], _type(ent, "type", where, f"entities[{i}]")))
    return read


def _detect_tacred(rec: dict) -> bool:
    return "token" in rec and "subj_start" in rec


def _relation_pair(rec: dict, where: Where, head: str, tail: str, ht: str | None, tt: str | None, keys) -> Read:
    key = next((k for k in keys if k in rec), None)  # the prediction when the record has one (even null)
    if key is None:
        raise where.error("missing (no predicted or gold relation)", keys[0])
    relation = _str(rec, key, where, required=False)
    read = Read(entities=[(head, ht), (tail, tt)])
    if relation is None or relation.strip() in NEGATIVE_LABELS:
        read.negative = True
    else:
        read.mentions = [Mention(head, relation, tail, ht, tt)]
    return read


def _read_tacred(rec: dict, where: Where) -> Read:
    """Names and sentence as the prompt showed them: core.records.RESample (PTB brackets -LRB- -> `(`)."""
    from core.records import RESample

    sample = RESample.from_dict(rec, where.path, where.line)
    read = _relation_pair(rec, where, sample.head, sample.tail, sample.subj_type, sample.obj_type, ("pr", "relation"))
    read.text = sample.sentence
    return read


def _detect_re_pair(rec: dict) -> bool:
    return "head_entity" in rec and "tail_entity" in rec


def _read_re_pair(rec: dict, where: Where) -> Read:
    head, tail = _str(rec, "head_entity", where), _str(rec, "tail_entity", where)
    ht, tt = _str(rec, "head_type", where, False), _str(rec, "tail_type", where, False)
    read = _relation_pair(rec, where, head, tail, ht or None, tt or None, ("pred", "relation"))
    read.text = _text(rec, where)
    return read


register_shape("tacred", _detect_tacred, _read_tacred)
register_shape("re_pair", _detect_re_pair, _read_re_pair)
register_shape("triples", _detect_triples, _read_triples)
