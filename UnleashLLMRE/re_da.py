"""LLM data generation for RE: the answer format, a tolerant parser, validation, dedup, and TACRED records out.

    python -c "import sys; sys.path.insert(0, 'UnleashLLMRE'); import re_da; print(re_da.tokenize('Bluefin Labs (Prague).'))"

The model is asked for one JSON object per line: `{"relation", "context", "head", "head_type", "tail", "tail_type"}`.
The parser also takes a JSON array, code fences, numbered lines, and the seed's tagged lines
(`Relation: r. Context: ... Head Entity: h. Head Type: T. Tail Entity: t. Tail Type: T.`). A sample is kept only when
its relation is the one asked for, both types are allowed for the dataset, head and tail occur in the context at word
boundaries (without overlapping), and it is neither a copy of a demo nor a duplicate. Kept samples become raw TACRED
records: the context tokenised simply (`\\w+` runs and single punctuation marks), inclusive token offsets.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any

import json_repair

_BASE = ["COUNTRY", "IDEOLOGY", "LOCATION", "DATE", "PERSON", "NATIONALITY", "RELIGION", "CITY", "CAUSE_OF_DEATH",
         "TITLE", "URL", "NUMBER", "ORGANIZATION", "STATE_OR_PROVINCE", "DURATION", "CRIMINAL_CHARGE"]
ENTITY_TYPES = {"tacred": [*_BASE, "MISC"], "tacrev": [*_BASE, "MISC"], "retacred": list(_BASE)}

REASONS = ("unparsed", "missing_field", "wrong_relation", "bad_type", "head_not_in_text", "tail_not_in_text",
           "head_tail_overlap", "copy_of_demo", "duplicate")

_TOKEN = re.compile(r"\w+|[^\w\s]")
_KEYS = {"relation": "relation", "context": "context", "text": "context", "sentence": "context",
         "head": "head", "head_entity": "head", "subj": "head", "subject": "head",
         "tail": "tail", "tail_entity": "tail", "obj": "tail", "object": "tail",
         "head_type": "head_type", "subj_type": "head_type", "tail_type": "tail_type", "obj_type": "tail_type"}
_TAGGED = re.compile(
    r"relation:\s*(?P<relation>.+?)\.?\s+context:\s*(?P<context>.+?)\s+head entity:\s*(?P<head>.+?)\.?\s+"
    r"head type:\s*(?P<head_type>.+?)\.?\s+tail entity:\s*(?P<tail>.+?)\.?\s+tail type:\s*(?P<tail_type>.+?)\.?\s*$",
    re.IGNORECASE)
_LEAD = re.compile(r"^\s*(?:\d+\s*[.)]|[-*•])\s+")


def canonical_type(entity_type: str) -> str:
    """TACRED spelling of a type: upper case, spaces/hyphens -> `_`, MISCELLANEOUS -> MISC."""
    word = "_".join(entity_type.strip().strip(".").upper().replace("-", " ").split())
    return "MISC" if word == "MISCELLANEOUS" else word


def display_type(entity_type: str) -> str:
    """A type as the DA prompt shows it: `STATE OR PROVINCE`, `MISCELLANEOUS`."""
    word = canonical_type(entity_type)
    return "MISCELLANEOUS" if word == "MISC" else word.replace("_", " ")


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Simple tokens with character offsets (end exclusive): runs of word characters, or one punctuation mark."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def demo_line(sample: Any) -> str:
    """A demo sample as the JSON line the model is asked to write."""
    return json.dumps({
        "relation": sample.relation, "context": sample.sentence, "head": sample.head,
        "head_type": display_type(sample.subj_type or ""), "tail": sample.tail,
        "tail_type": display_type(sample.obj_type or ""),
    }, ensure_ascii=False)


def sample_key(relation: str, text: str, head: str, tail: str) -> str:
    """What makes two samples the same: relation, and context/head/tail compared token by token, ignoring case."""
    parts = [relation] + [" ".join(t for t, _, _ in tokenize(s.lower())) for s in (text, head, tail)]
    return hashlib.sha1(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def _strip_fences(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("```"))


def parse_generated(text: str) -> list[dict | None]:
    """One entry per candidate line: a dict of the fields found, or None for a line that is not a sample."""
    body = _strip_fences(text).strip()
    if body.startswith("["):
        try:
            whole = json.loads(body)
        except json.JSONDecodeError:
            whole = None
        if isinstance(whole, list):
            return [(_fields(x) or None) if isinstance(x, dict) else None for x in whole]
    out: list[dict | None] = []
    for line in body.splitlines():
        line = _LEAD.sub("", line).strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                value = json_repair.loads(line)
            out.append((_fields(value) or None) if isinstance(value, dict) else None)
            continue
        match = _TAGGED.search(line)
        out.append({k: v.strip() for k, v in match.groupdict().items()} if match else None)
    return out


def _fields(value: dict) -> dict:
    fields = {}
    for key, item in value.items():
        name = _KEYS.get("_".join(str(key).lower().split()))
        if name and isinstance(item, str) and name not in fields:
            fields[name] = item.strip()
    return fields


def _find(tokens: list[tuple[str, int, int]], part: str, avoid: tuple[int, int] | None = None) -> tuple[int, int] | None:
    want = [t.lower() for t, _, _ in tokenize(part)]
    if not want:
        return None
    words = [t.lower() for t, _, _ in tokens]
    for s in range(len(words) - len(want) + 1):
        if words[s : s + len(want)] == want:
            span = (s, s + len(want) - 1)
            if avoid is None or span[1] < avoid[0] or span[0] > avoid[1]:
                return span
    return None


def to_record(fields: dict | None, relation: str, allowed_types: list[str]) -> tuple[dict | None, str | None]:
    """A TACRED record for a valid sample, else (None, reason)."""
    if fields is None:
        return None, "unparsed"
    if any(not fields.get(k) for k in ("relation", "context", "head", "tail", "head_type", "tail_type")):
        return None, "missing_field"
    if fields["relation"].strip().strip(".'\"").lower() != relation.lower():
        return None, "wrong_relation"
    subj_type, obj_type = canonical_type(fields["head_type"]), canonical_type(fields["tail_type"])
    if subj_type not in allowed_types or obj_type not in allowed_types:
        return None, "bad_type"
    text = fields["context"]
    tokens = tokenize(text)
    head = _find(tokens, fields["head"])
    if head is None:
        return None, "head_not_in_text"
    if _find(tokens, fields["tail"]) is None:
        return None, "tail_not_in_text"
    tail = _find(tokens, fields["tail"], avoid=head)
    if tail is None:
        return None, "head_tail_overlap"
    subj, obj = text[tokens[head[0]][1] : tokens[head[1]][2]], text[tokens[tail[0]][1] : tokens[tail[1]][2]]
    return {
        "id": "da-" + sample_key(relation, text, subj, obj), "relation": relation, "token": [t for t, _, _ in tokens],
        "subj_start": head[0], "subj_end": head[1], "obj_start": tail[0], "obj_end": tail[1],
        "subj_type": subj_type, "obj_type": obj_type, "text": text, "subj": subj, "obj": obj,
    }, None


class Collector:
    """Keeps valid, new samples (in order) and counts the dropped ones by reason."""

    def __init__(self, existing: list[dict], demo_keys: set[str]):
        self.records = {rec["id"]: rec for rec in existing}
        self.demo_keys = demo_keys
        self.kept, self.dropped = 0, Counter({r: 0 for r in REASONS})

    def add(self, fields: dict | None, relation: str, allowed_types: list[str]) -> dict | None:
        record, reason = to_record(fields, relation, allowed_types)
        if record is not None and record["id"][3:] in self.demo_keys:
            record, reason = None, "copy_of_demo"
        elif record is not None and record["id"] in self.records:
            record, reason = None, "duplicate"
        if record is None:
            self.dropped[reason] += 1
            return None
        self.records[record["id"]] = record
        self.kept += 1
        return record
