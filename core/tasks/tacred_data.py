"""Reading token-offset relation samples (TACRED layout, DeepKE's h/t layout) and turning DA samples into them.

    python -c "from core.tasks.tacred_data import load_samples; print(len(load_samples('UnleashLLMRE/data/train.json')))"

Both layouts become core.records.RESample (inclusive token offsets; PTB brackets converted in one place):
- tacred: {"token", "subj_start", "subj_end", "obj_start", "obj_end", "subj_type", "obj_type", "relation"} as a JSON
  array or JSON lines (gpt3DA's generated.json too, which adds `text`, `subj`, `obj`);
- ht: {"token", "h": {"name", "pos": [start, end)}, "t": {...}, "relation"} per line, an optional "type" in h / t;
  the relation list from rel2id.json beside the file (`load_rel2id`).
The data-augmentation side (core.tasks.da): `da_demo` shows a sample in the DA layout, `da_record` turns a kept DA
sample into a TACRED record (core.tasks.da_tokens.tokenize: word runs, single CJK characters and marks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import UserError
from core.io import DataError, iter_records, read_json
from core.records import RESample, checked_tokens

FORMATS = ("auto", "tacred", "ht")
_BASE = ["COUNTRY", "IDEOLOGY", "LOCATION", "DATE", "PERSON", "NATIONALITY", "RELIGION", "CITY", "CAUSE_OF_DEATH",
         "TITLE", "URL", "NUMBER", "ORGANIZATION", "STATE_OR_PROVINCE", "DURATION", "CRIMINAL_CHARGE"]
ENTITY_TYPES = {"tacred": [*_BASE, "MISC"], "tacrev": [*_BASE, "MISC"], "retacred": list(_BASE)}


def detect_format(first: Any) -> str:
    if isinstance(first, dict) and isinstance(first.get("h"), dict) and isinstance(first.get("t"), dict):
        return "ht"
    return "tacred"


def _from_ht(rec: Any, path: Path, line: int) -> RESample:
    tokens = checked_tokens(rec, str(path), line)
    n = len(tokens)
    spans: dict[str, Any] = {"token": tokens, "relation": rec.get("relation")}
    for key, side in (("h", "subj"), ("t", "obj")):
        ent = rec.get(key)
        if not isinstance(ent, dict):
            raise DataError(path, line, 'expected an object {"name", "pos"}', field=key)
        pos = ent.get("pos")
        if (not isinstance(pos, list) or len(pos) != 2 or any(isinstance(p, bool) or not isinstance(p, int) for p in pos)
                or not 0 <= pos[0] < pos[1] <= n):
            raise DataError(path, line, f"expected [start, end) token offsets within 0..{n}", field=f"{key}.pos")
        if ent.get("type") is not None and not isinstance(ent["type"], str):
            raise DataError(path, line, "expected a string", field=f"{key}.type")
        spans.update({f"{side}_start": pos[0], f"{side}_end": pos[1] - 1, f"{side}_type": ent.get("type")})
    sample = RESample.from_dict(spans, str(path), line)
    sample.id, sample.record = rec.get("id"), rec
    return sample


def load_samples(path: str | Path, data_format: str = "auto", need_relation: bool = True) -> list[RESample]:
    """Every sample of a file; ids are the records' `id` (else their position) and must be unique."""
    if data_format not in FORMATS:
        raise UserError(f"unknown --data_format {data_format!r}; choose from {', '.join(FORMATS)}")
    path = Path(path)
    samples: list[RESample] = []
    seen: dict[Any, int] = {}
    fmt = data_format
    for index, (line, rec) in enumerate(iter_records(path)):
        if fmt == "auto":
            fmt = detect_format(rec)
        sample = _from_ht(rec, path, line) if fmt == "ht" else RESample.from_dict(rec, str(path), line)
        sample.id = index if sample.id is None else sample.id
        if need_relation and not sample.relation:
            raise DataError(path, line, "missing", field="relation")
        if not isinstance(sample.id, (str, int)) or isinstance(sample.id, bool):
            raise DataError(path, line, "expected a string or an integer", field="id")
        if sample.id in seen:
            raise DataError(path, line, f"duplicate id {sample.id!r} (first on line {seen[sample.id]})", field="id")
        seen[sample.id] = line
        samples.append(sample)
    return samples


def file_format(path: str | Path) -> str:
    """'ht' or 'tacred', from the first record of the file ('tacred' for an empty file)."""
    for _, rec in iter_records(path):
        return detect_format(rec)
    return "tacred"


def load_rel2id(path: str | Path) -> list[str]:
    """Relation names of a rel2id.json (`{"relation": id}`), in id order."""
    data = read_json(path)
    if not isinstance(data, dict) or not data:
        raise DataError(path, None, 'expected a non-empty object {"relation": id, ...}')
    for name, rid in data.items():
        if isinstance(rid, bool) or not isinstance(rid, int):
            raise DataError(path, None, "expected an integer id", field=name)
    return sorted(data, key=lambda name: data[name])


def find_rel2id(data_path: str | Path) -> Path | None:
    """The rel2id.json beside a data file (DeepKE's few-shot layout), if there is one."""
    candidate = Path(data_path).parent / "rel2id.json"
    return candidate if candidate.is_file() else None


def relation_list(demos: list[RESample], test: list[RESample], rel2id: list[str] | None,
                  rel2id_path: str = "") -> tuple[list[str], list[str]]:
    """(labels, labels without a demo). With a rel2id list, its relations in id order (a sample whose relation is
    not there is an error); otherwise the demos' relations in first-seen order, then test relations they lack."""
    if rel2id is not None:
        for s in [*demos, *test]:
            if s.relation not in set(rel2id):
                raise DataError(s.path, s.line, f"{s.relation!r} is not in {rel2id_path or 'rel2id.json'}",
                                field="relation")
        labels = list(rel2id)
    else:
        labels = list(dict.fromkeys(s.relation for s in [*demos, *test]))
    with_demo = {s.relation for s in demos}
    return labels, [r for r in labels if r not in with_demo]


def as_record(sample: RESample) -> dict:
    """The pipeline record of a sample: the record as read, its id, and the sample itself (private)."""
    return {**sample.record, "id": sample.id, "__sample__": sample}


# ---- data augmentation -------------------------------------------------------------------------------------------
def display_type(entity_type: str) -> str:
    """A type as the DA prompt shows it: `STATE OR PROVINCE`, `MISCELLANEOUS`."""
    word = " ".join(entity_type.strip().upper().replace("_", " ").split())
    return "MISCELLANEOUS" if word == "MISC" else word


def da_demo(sample: RESample) -> dict:
    """A sample in the DA layout (core.tasks.da.FIELDS), types as the DA prompt shows them."""
    return {"text": sample.sentence, "head_type": display_type(sample.subj_type or ""), "head_entity": sample.head,
            "tail_type": display_type(sample.obj_type or ""), "tail_entity": sample.tail, "relation": sample.relation}


def da_record(sample: dict) -> dict:
    """A kept DA sample as a TACRED record: `da-` + its sample key as id, tokens, inclusive offsets, plus the text."""
    from core.tasks.da_tokens import find_span, sample_key, tokenize

    text, subj, obj = sample["text"], sample["head_entity"], sample["tail_entity"]
    tokens = tokenize(text)
    head = find_span(tokens, subj)
    tail = find_span(tokens, obj, avoid=head)
    if head is None or tail is None:
        raise ValueError(f"not a checked DA sample: {sample!r:.120}")
    return {"id": "da-" + sample_key(text, subj, obj), "relation": sample["relation"], "token": [t for t, _, _ in tokens],
            "subj_start": head[0], "subj_end": head[1], "obj_start": tail[0], "obj_end": tail[1],
            "subj_type": sample["head_type"], "obj_type": sample["tail_type"], "text": text, "subj": subj, "obj": obj}
