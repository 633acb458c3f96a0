"""A schema: the entity types and relation types a run may produce, loaded from JSON.

    python -c "from core.schema import Schema; print(Schema(['person'], ['work for']).to_dict())"

JSON layout: {"entity_types": ["person", ...], "relation_types": ["work for", ...],
              "relations": {"work for": ["person", "organization"]}}   # optional head/tail type signatures
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from core.io import DataError, read_json


@dataclass
class Schema:
    entity_types: list[str] = field(default_factory=list)
    relation_types: list[str] = field(default_factory=list)
    signatures: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, items in (("entity_types", self.entity_types), ("relation_types", self.relation_types)):
            seen = set()
            for item in items:
                if item in seen:
                    raise ValueError(f'{name}: "{item}" is listed twice')
                seen.add(item)

    def has_entity_type(self, name: str) -> bool:
        return not self.entity_types or name in self.entity_types

    def has_relation(self, name: str) -> bool:
        return not self.relation_types or name in self.relation_types

    def to_dict(self) -> dict:
        out: dict = {"entity_types": list(self.entity_types), "relation_types": list(self.relation_types)}
        if self.signatures:
            out["relations"] = {k: list(v) for k, v in self.signatures.items()}
        return out

    @classmethod
    def from_dict(cls, data: object, path: str | os.PathLike = "<schema>") -> Schema:
        if not isinstance(data, dict):
            raise DataError(path, None, "a schema must be a JSON object")
        lists = {}
        for key in ("entity_types", "relation_types"):
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
                raise DataError(path, None, "expected a list of non-empty strings", field=key)
            lists[key] = value
        sigs = {}
        rels = data.get("relations") or {}
        if not isinstance(rels, dict):
            raise DataError(path, None, "expected an object of relation -> [head type, tail type]", field="relations")
        for rel, sig in rels.items():
            if not (isinstance(sig, list) and len(sig) == 2 and all(isinstance(x, str) for x in sig)):
                raise DataError(path, None, f'"{rel}" needs [head type, tail type]', field="relations")
            sigs[rel] = (sig[0], sig[1])
            if rel not in lists["relation_types"]:
                lists["relation_types"].append(rel)
        try:
            return cls(lists["entity_types"], lists["relation_types"], sigs)
        except ValueError as exc:
            raise DataError(path, None, str(exc)) from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> Schema:
        return cls.from_dict(read_json(path), path)
