"""Relation-extraction samples from raw TACRED records or DeepKE's few-shot h/t layout (+ rel2id.json).

    python -c "import sys; sys.path.insert(0, 'UnleashLLMRE'); import re_data; print(len(re_data.load_samples('UnleashLLMRE/data/train.json')))"

Both layouts become `RESample` items with TACRED's inclusive token offsets:
- tacred: `{"token": [...], "subj_start", "subj_end", "obj_start", "obj_end" (inclusive), "subj_type", "obj_type",
  "relation"}` as a JSON array or JSON lines (gpt3DA.py's output is the same, plus `text`, `subj`, `obj`).
- ht: `{"token": [...], "h": {"name", "pos": [start, end)}, "t": {...}, "relation"}` per line (end exclusive), with
  an optional `"type"` inside h / t; the relation list comes from `rel2id.json` beside the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.io import DataError, iter_records, read_json

FORMATS = ("auto", "tacred", "ht")

_PTB = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}


def convert_token(token: str) -> str:
    """PTB bracket tokens (-LRB- ...) back to the characters they stand for."""
    return _PTB.get(token.lower(), token)


@dataclass
class RESample:
    """One sentence with a head (subject) and tail (object) span; offsets are token indices, both inclusive."""

    id: Any
    tokens: list[str]
    subj_start: int
    subj_end: int
    obj_start: int
    obj_end: int
    relation: str | None = None
    subj_type: str | None = None
    obj_type: str | None = None
    record: dict = field(default_factory=dict, repr=False)  # the record as read, written back with `pr`
    path: str = ""
    line: int | None = None

    @property
    def sentence(self) -> str:
        return " ".join(convert_token(t) for t in self.tokens)

    @property
    def head(self) -> str:
        return " ".join(convert_token(t) for t in self.tokens[self.subj_start : self.subj_end + 1])

    @property
    def tail(self) -> str:
        return " ".join(convert_token(t) for t in self.tokens[self.obj_start : self.obj_end + 1])


def detect_format(first: Any) -> str:
    if isinstance(first, dict) and isinstance(first.get("h"), dict) and isinstance(first.get("t"), dict):
        return "ht"
    return "tacred"


def _int(rec: dict, name: str, path: Path, line: int, ntok: int) -> int:
    value = rec.get(name)
    if value is None:
        raise DataError(path, line, "missing", field=name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(path, line, "expected an integer", field=name)
    if not 0 <= value < ntok:
        raise DataError(path, line, f"token index {value} outside the sentence (0..{ntok - 1})", field=name)
    return value


def _tokens(rec: Any, path: Path, line: int) -> list[str]:
    if not isinstance(rec, dict):
        raise DataError(path, line, f"expected a JSON object, got {type(rec).__name__}")
    tokens = rec.get("token")
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise DataError(path, line, "expected a non-empty list of strings", field="token")
    return tokens


def _optional_str(value: Any, path: Path, line: int, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise DataError(path, line, "expected a string", field=name)
    return value


def _from_tacred(rec: Any, path: Path, line: int, index: int) -> RESample:
    tokens = _tokens(rec, path, line)
    n = len(tokens)
    ss, se = _int(rec, "subj_start", path, line, n), _int(rec, "subj_end", path, line, n)
    os_, oe = _int(rec, "obj_start", path, line, n), _int(rec, "obj_end", path, line, n)
    if se < ss:
        raise DataError(path, line, f"subj_end {se} before subj_start {ss}", field="subj_end")
    if oe < os_:
        raise DataError(path, line, f"obj_end {oe} before obj_start {os_}", field="obj_end")
    return RESample(
        id=rec.get("id", index), tokens=tokens, subj_start=ss, subj_end=se, obj_start=os_, obj_end=oe,
        relation=_optional_str(rec.get("relation"), path, line, "relation"),
        subj_type=_optional_str(rec.get("subj_type"), path, line, "subj_type"),
        obj_type=_optional_str(rec.get("obj_type"), path, line, "obj_type"),
        record=rec, path=str(path), line=line,
    )


def _span(rec: dict, key: str, path: Path, line: int, n: int) -> tuple[int, int, str | None]:
    ent = rec.get(key)
    if not isinstance(ent, dict):
        raise DataError(path, line, 'expected an object {"name", "pos"}', field=key)
    pos = ent.get("pos")
    if (not isinstance(pos, list) or len(pos) != 2 or not all(isinstance(p, int) and not isinstance(p, bool) for p in pos)
            or not 0 <= pos[0] < pos[1] <= n):
        raise DataError(path, line, f"expected [start, end) token offsets within 0..{n}", field=f"{key}.pos")
    return pos[0], pos[1] - 1, _optional_str(ent.get("type"), path, line, f"{key}.type")


def _from_ht(rec: Any, path: Path, line: int, index: int) -> RESample:
    tokens = _tokens(rec, path, line)
    ss, se, st = _span(rec, "h", path, line, len(tokens))
    os_, oe, ot = _span(rec, "t", path, line, len(tokens))
    return RESample(
        id=rec.get("id", index), tokens=tokens, subj_start=ss, subj_end=se, obj_start=os_, obj_end=oe,
        relation=_optional_str(rec.get("relation"), path, line, "relation"), subj_type=st, obj_type=ot,
        record=rec, path=str(path), line=line,
    )


def load_samples(path: str | os.PathLike, data_format: str = "auto", need_relation: bool = True) -> list[RESample]:
    """Read every sample of a file; ids are the records' `id` (or their position) and must be unique."""
    if data_format not in FORMATS:
        raise UserError(f"unknown --data_format {data_format!r}; choose from {', '.join(FORMATS)}")
    path = Path(path)
    samples: list[RESample] = []
    seen: dict[Any, int] = {}
    fmt = data_format
    for index, (line, rec) in enumerate(iter_records(path)):
        if fmt == "auto":
            fmt = detect_format(rec)
        sample = (_from_ht if fmt == "ht" else _from_tacred)(rec, path, line, index)
        if need_relation and not sample.relation:
            raise DataError(path, line, "missing", field="relation")
        if not isinstance(sample.id, (str, int)) or isinstance(sample.id, bool):
            raise DataError(path, line, "expected a string or an integer", field="id")
        if sample.id in seen:
            raise DataError(path, line, f"duplicate id {sample.id!r} (first on line {seen[sample.id]})", field="id")
        seen[sample.id] = line
        samples.append(sample)
    return samples


def file_format(path: str | os.PathLike) -> str:
    """'ht' or 'tacred', from the first record of the file ('tacred' for an empty file)."""
    for _, rec in iter_records(path):
        return detect_format(rec)
    return "tacred"


def load_rel2id(path: str | os.PathLike) -> list[str]:
    """Relation names of a rel2id.json (`{"relation": id}`), in id order."""
    data = read_json(path)
    if not isinstance(data, dict) or not data:
        raise DataError(path, None, 'expected a non-empty object {"relation": id, ...}')
    for name, rid in data.items():
        if isinstance(rid, bool) or not isinstance(rid, int):
            raise DataError(path, None, "expected an integer id", field=name)
    return sorted(data, key=lambda name: data[name])


def find_rel2id(data_path: str | os.PathLike) -> Path | None:
    """The rel2id.json beside a data file (DeepKE's few-shot layout), if there is one."""
    candidate = Path(data_path).parent / "rel2id.json"
    return candidate if candidate.is_file() else None


def relation_list(
    demo_samples: list[RESample], test_samples: list[RESample], rel2id: list[str] | None, rel2id_path: str = ""
) -> tuple[list[str], list[str]]:
    """The label list and the labels without any demo.

    With a rel2id.json, its relations in id order (a sample whose relation is not there is an error); otherwise the
    demo pool's relations in first-seen order, then test relations the pool lacks.
    """
    if rel2id is not None:
        known = set(rel2id)
        for s in [*demo_samples, *test_samples]:
            if s.relation not in known:
                raise DataError(s.path, s.line, f"{s.relation!r} is not in {rel2id_path or 'rel2id.json'}",
                                field="relation")
        labels = list(rel2id)
    else:
        labels = list(dict.fromkeys(s.relation for s in [*demo_samples, *test_samples]))
    with_demo = {s.relation for s in demo_samples}
    return labels, [r for r in labels if r not in with_demo]
