"""A schema: the entity, relation and event types a run may produce, their descriptions and allowed patterns.

    python -c "from core.schema import Schema; print(Schema(['person'], ['work for']).to_dict())"

JSON layout (every key optional; README "From documents"); names as a list, [{"name", "description"}] or
{name: description}:
    {"entity_types": ["person", ...],
     "relation_types": ["work for", ...],
     "relations": {"work for": ["person", "organization"]},            # one head/tail type signature per relation
     "patterns": [["person", "work for", "organization"], ...],       # allowed (head type, relation, tail type)
     "event_types": {"marry": ["person", "place"], ...}}              # event types and their argument roles (EE)
Also read: a bare JSON list of relation names (a CCKS2023 instruction's candidate list), `{"schema": [names]}`
(an IEPile instruction's schema), one JSON object {event type: [roles]}, and IEPile's three-line schema file
(zjunlp/IEPile's reader: line 1 `type_list`, line 2 `role_list`, line 3 `type_role_dict`; NER and RE files: entity
types, relation types, {}; EE files: event types, all roles, {event type: [roles]}). A relation named only in
`relations` or `patterns` is added to the relation types.

`labels(task)` is what an IE task asks about (core.iepile): NER the entity types, RE the relation types, EE the event
types (their roles in `events`); a schema that names one kind only -- a bare list of names -- gives those to any task.

`check(head_type, relation, tail_type)` names what breaks the schema (an unknown relation or type, a pattern that
does not fit); `batches(n)` splits a large schema into schemas of at most n relation types each (IEPile's
`split_num`), each with the entity types its patterns use.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from core.io import DataError, read_json

NAMES_HELP = "expected a list of non-empty strings"
KEYS = {"entity_types", "relation_types", "relations", "patterns", "schema", "event_types"}


@dataclass
class Schema:
    entity_types: list[str] = field(default_factory=list)
    relation_types: list[str] = field(default_factory=list)
    signatures: dict[str, tuple[str, str]] = field(default_factory=dict)
    patterns: list[tuple[str, str, str]] = field(default_factory=list)
    entity_descriptions: dict[str, str] = field(default_factory=dict)
    relation_descriptions: dict[str, str] = field(default_factory=dict)
    events: dict[str, list[str]] = field(default_factory=dict)  # event type -> its argument roles (IEPile EE)

    def __post_init__(self) -> None:
        for name, items in (("entity_types", self.entity_types), ("relation_types", self.relation_types)):
            seen = set()
            for item in items:
                if item in seen:
                    raise ValueError(f'{name}: "{item}" is listed twice')
                seen.add(item)
        self.patterns = list(dict.fromkeys(tuple(p) for p in self.patterns))
        for rel, (head, tail) in self.signatures.items():
            if (head, rel, tail) not in self.patterns:
                self.patterns.append((head, rel, tail))
        for head, rel, tail in self.patterns:
            self.signatures.setdefault(rel, (head, tail))
            if self.relation_types and rel not in self.relation_types:
                raise ValueError(f'patterns: relation "{rel}" is not in relation_types')
            for typ in (head, tail):
                if self.entity_types and typ not in self.entity_types:
                    raise ValueError(f'patterns: entity type "{typ}" of "{rel}" is not in entity_types')

    def labels(self, task: str) -> list[str]:
        """The names an IE task (NER, RE, EE) asks about; a schema that names one kind only gives those to any."""
        own = {"NER": self.entity_types, "RE": self.relation_types, "EE": list(self.events)}[task]
        if own:
            return list(own)
        kinds = [k for k in (self.entity_types, self.relation_types, list(self.events)) if k]
        return list(kinds[0]) if len(kinds) == 1 else []

    def has_entity_type(self, name: str) -> bool:
        return not self.entity_types or name in self.entity_types

    def has_relation(self, name: str) -> bool:
        return not self.relation_types or name in self.relation_types

    def patterns_of(self, relation: str) -> list[tuple[str, str, str]]:
        return [p for p in self.patterns if p[1] == relation]

    def check(self, head_type: str | None, relation: str, tail_type: str | None) -> list[str]:
        """What breaks the schema, as `reason: detail` strings (reasons: relation, type, pattern); [] when it fits.
        A type that is not given is not checked."""
        problems = []
        if not self.has_relation(relation):
            problems.append(f"relation: {relation!r} is not in the schema")
        for side, typ in (("head", head_type), ("tail", tail_type)):
            if typ is not None and not self.has_entity_type(typ):
                problems.append(f"type: {side} type {typ!r} is not in the schema")
        allowed = self.patterns_of(relation)
        if allowed and not problems:
            fits = [p for p in allowed if head_type in (None, p[0]) and tail_type in (None, p[2])]
            if not fits:
                problems.append(f"pattern: ({head_type}, {relation}, {tail_type}) fits none of "
                                + ", ".join(f"({h}, {r}, {t})" for h, r, t in allowed))
        return problems

    def complete_types(self, head_type: str | None, relation: str, tail_type: str | None) -> tuple:
        """Types not given are taken from the relation's pattern when exactly one pattern fits."""
        fits = [p for p in self.patterns_of(relation) if head_type in (None, p[0]) and tail_type in (None, p[2])]
        if len(fits) == 1:
            return head_type or fits[0][0], tail_type or fits[0][2]
        return head_type, tail_type

    def batches(self, size: int | None) -> list[Schema]:
        """The relation types in batches of `size` by IEPile's `split_num` rule (core.iepile.batches.split_batches:
        a short remainder joins the last batch; 0 or None: one batch); each batch keeps the patterns, signatures and
        descriptions of its relations and the entity types its patterns use (all when it has none)."""
        if not size or size < 1 or len(self.relation_types) <= size:
            return [self]
        from core.iepile.batches import split_batches

        out = []
        for rels in split_batches(self.relation_types, size):
            patterns = [p for p in self.patterns if p[1] in rels]
            used = {t for h, _, tl in patterns for t in (h, tl)}
            types = [t for t in self.entity_types if t in used] if patterns else list(self.entity_types)
            out.append(Schema(types, rels, {r: s for r, s in self.signatures.items() if r in rels}, patterns,
                              {t: d for t, d in self.entity_descriptions.items() if t in types},
                              {r: d for r, d in self.relation_descriptions.items() if r in rels}))
        return out

    def to_dict(self) -> dict:
        out: dict = {"entity_types": _named(self.entity_types, self.entity_descriptions),
                     "relation_types": _named(self.relation_types, self.relation_descriptions)}
        if self.signatures:
            out["relations"] = {k: list(v) for k, v in self.signatures.items()}
        if self.patterns:
            out["patterns"] = [list(p) for p in self.patterns]
        if self.events:
            out["event_types"] = {k: list(v) for k, v in self.events.items()}
        return out

    @classmethod
    def from_dict(cls, data: object, path: str | os.PathLike = "<schema>") -> Schema:
        if isinstance(data, list) and data and all(isinstance(x, str) and x.strip() for x in data):
            data = {"relation_types": data}  # a CCKS2023 candidate relation list
        if isinstance(data, dict) and "schema" in data and "relation_types" not in data:
            data = {**data, "relation_types": data["schema"]}  # an IEPile instruction's schema
        if isinstance(data, dict) and data and not set(data) & KEYS and all(isinstance(v, list) for v in data.values()):
            data = {"event_types": data}  # {event type: [roles]}
        if not isinstance(data, dict):
            raise DataError(path, None, "a schema must be a JSON object")
        events = _events(data.get("event_types") or {}, path, None)
        lists, descriptions = {}, {}
        for key in ("entity_types", "relation_types"):
            lists[key], descriptions[key] = _names(data.get(key, []), path, key)
        rels = data.get("relations") or {}
        if not isinstance(rels, dict):
            raise DataError(path, None, "expected an object of relation -> [head type, tail type]", field="relations")
        sigs = {}
        for rel, sig in rels.items():
            if not (isinstance(sig, list) and len(sig) == 2 and all(isinstance(x, str) for x in sig)):
                raise DataError(path, None, f'"{rel}" needs [head type, tail type]', field="relations")
            sigs[rel] = (sig[0], sig[1])
        patterns = data.get("patterns") or []
        if not isinstance(patterns, list) or not all(
                isinstance(p, list) and len(p) == 3 and all(isinstance(x, str) and x.strip() for x in p)
                for p in patterns):
            raise DataError(path, None, "expected a list of [head type, relation, tail type]", field="patterns")
        patterns = [tuple(p) for p in patterns]
        for rel in [*(p[1] for p in patterns), *sigs]:
            if rel not in lists["relation_types"]:
                lists["relation_types"].append(rel)
        try:
            return cls(lists["entity_types"], lists["relation_types"], sigs, patterns, descriptions["entity_types"],
                       descriptions["relation_types"], events)
        except ValueError as exc:
            raise DataError(path, None, str(exc)) from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> Schema:
        try:
            data = read_json(path)
        except DataError:
            data = _iepile_lines(path)
            if data is None:
                raise
        return cls.from_dict(data, path)


def _names(value: object, path: str | os.PathLike, key: str) -> tuple[list[str], dict[str, str]]:
    """Names and descriptions from ["a", ...], [{"name": "a", "description": "..."}, ...] or {"a": "...", ...}."""
    if isinstance(value, dict):
        value = [{"name": k, "description": v} for k, v in value.items()]
    if not isinstance(value, list):
        raise DataError(path, None, NAMES_HELP, field=key)
    names, descriptions = [], {}
    for i, item in enumerate(value):
        if isinstance(item, dict):
            name, desc = item.get("name"), item.get("description")
            if not (isinstance(name, str) and name.strip()) or not isinstance(desc, (str, type(None))):
                raise DataError(path, None, 'expected {"name": string, "description": string}', field=f"{key}[{i}]")
            names.append(name)
            if desc:
                descriptions[name] = desc
        elif isinstance(item, str) and item.strip():
            names.append(item)
        else:
            raise DataError(path, None, NAMES_HELP, field=key)
    return names, descriptions


def _named(names: list[str], descriptions: dict[str, str]) -> list:
    return [{"name": n, "description": descriptions[n]} if n in descriptions else n for n in names]


def _events(value: object, path: str | os.PathLike, line: int | None) -> dict[str, list[str]]:
    """{event type: [roles]} from that object or a list of event type names (no roles)."""
    if isinstance(value, list):
        value = {name: [] for name in _names(value, path, "event_types")[0]}
    if not isinstance(value, dict):
        raise DataError(path, line, "expected a list of event types or an object {event type: [roles]}",
                        field="event_types")
    for name, roles in value.items():
        if not (isinstance(roles, list) and all(isinstance(r, str) and r.strip() for r in roles)):
            raise DataError(path, line, f"the roles of {name!r}: {NAMES_HELP}", field="event_types")
    return {name: list(dict.fromkeys(roles)) for name, roles in value.items()}


def _iepile_lines(path: str | os.PathLike) -> dict | None:
    """IEPile's schema file: JSON lines type_list, role_list, type_role_dict (see the module docstring); None when
    the file is not one."""
    try:
        lines = [(i, ln) for i, ln in enumerate(open(path, encoding="utf-8-sig").read().split("\n"), 1) if ln.strip()]
        values = [json.loads(ln) for _, ln in lines]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not (2 <= len(values) <= 3 and isinstance(values[0], list) and isinstance(values[1], list)):
        return None
    for (i, _), value, key in zip(lines, values[:2], ("entity_types", "relation_types"), strict=False):
        if not all(isinstance(x, str) for x in value):
            raise DataError(path, i, NAMES_HELP, field=key)
    if len(values) == 3 and values[2]:  # an EE file: event types, all roles, {event type: [roles]}
        events = _events(values[2], path, lines[2][0])
        return {"event_types": {t: events.get(t, []) for t in dict.fromkeys([*values[0], *events])}}
    return {"entity_types": values[0], "relation_types": values[1]}
