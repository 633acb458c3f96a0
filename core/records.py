"""Small typed records shared by every case: triples, entities, events and relation-extraction samples.

    python -c "from core.records import Triple; print(Triple('A', 'work for', 'B').to_dict())"
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from core.io import DataError


def _from_dict(cls: type, data: Any, path: str = "<record>", line: int | None = None) -> Any:
    if not isinstance(data, dict):
        raise DataError(path, line, f"expected an object for {cls.__name__}, got {type(data).__name__}")
    for f in fields(cls):
        required = f.default is MISSING and f.default_factory is MISSING
        if required and data.get(f.name) is None:
            raise DataError(path, line, "missing", field=f.name)
    return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class Triple:
    """A (head, relation, tail) fact; types are optional because not every case knows them."""

    head: str
    relation: str
    tail: str
    head_type: str | None = None
    tail_type: str | None = None

    def key(self) -> tuple[str, str, str]:
        """What scoring compares: the three strings stripped of surrounding whitespace."""
        return (self.head.strip(), self.relation.strip(), self.tail.strip())

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def to_list(self) -> list[str]:
        return [self.head, self.relation, self.tail]

    @classmethod
    def from_any(cls, data: Any, path: str = "<record>", line: int | None = None) -> Triple:
        """From `{"head","relation","tail"}` or `[head, relation, tail]`."""
        if isinstance(data, (list, tuple)):
            if len(data) != 3 or not all(isinstance(x, str) for x in data):
                raise DataError(path, line, "a triple must be [head, relation, tail] of strings")
            return cls(*data)
        return _from_dict(cls, data, path, line)


@dataclass(frozen=True)
class Entity:
    """A typed span; `start`/`end` are character offsets (end exclusive) when known."""

    text: str
    type: str
    start: int | None = None
    end: int | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Any, path: str = "<record>", line: int | None = None) -> Entity:
        return _from_dict(cls, data, path, line)


@dataclass(frozen=True)
class Argument:
    role: str
    text: str


@dataclass(frozen=True)
class Event:
    """An event: type, trigger word and role-labelled arguments."""

    event_type: str
    trigger: str = ""
    arguments: tuple[Argument, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {
            "event_type": self.event_type,
            "trigger": self.trigger,
            "arguments": [{"role": a.role, "argument": a.text} for a in self.arguments],
        }

    @classmethod
    def from_dict(cls, data: Any, path: str = "<record>", line: int | None = None) -> Event:
        if not isinstance(data, dict) or not data.get("event_type"):
            raise DataError(path, line, "missing", field="event_type")
        args = []
        for a in data.get("arguments") or []:
            if not isinstance(a, dict) or "role" not in a:
                raise DataError(path, line, "an argument needs a role", field="arguments")
            args.append(Argument(str(a["role"]), str(a.get("argument", a.get("text", "")))))
        return cls(str(data["event_type"]), str(data.get("trigger", "")), tuple(args))


@dataclass
class RESample:
    """A relation-extraction sample: a sentence, a head and a tail entity, and the gold relation (if known).

    Offsets are character offsets into `text` (end exclusive); TACRED-style token offsets live in the case.
    """

    text: str
    head: str
    tail: str
    relation: str | None = None
    head_type: str | None = None
    tail_type: str | None = None
    id: Any = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Any, path: str = "<record>", line: int | None = None) -> RESample:
        return _from_dict(cls, data, path, line)
