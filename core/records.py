"""The one record model of every case and stage: triples, entities, events, relation samples, and the parse envelope.

    python -c "from core.records import Triple, Parsed; print(Triple('A', 'work for', 'B').to_dict(), Parsed([]).to_dict())"

Statuses of a parsed answer (one vocabulary for every task), from best to worst:
  ok          an answer of the expected shape, every item valid
  repaired    the answer had to be repaired or cut out of other text (or a plain-text answer was mapped)
  invalid     read, but some items are flagged (label not allowed, span not in the text, malformed item)
  unparsable  no answer of the expected shape could be read
  failed      the request failed; there is no answer
Flagged and malformed items count as wrong predictions in scoring; an unparsable or failed answer counts as one wrong
prediction of each scored unit. Nothing is skipped.
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


OK, REPAIRED, INVALID, UNPARSABLE, FAILED = "ok", "repaired", "invalid", "unparsable", "failed"
STATUSES = (OK, REPAIRED, INVALID, UNPARSABLE, FAILED)


@dataclass
class Parsed:
    """The parse envelope: what one answer says (`pred`, in the task's shape), its status, what was wrong (`issues`),
    malformed items per scored unit (`bad`, each one more wrong prediction), the raw answer, and the decoding mode
    that produced it when it is known."""

    pred: Any
    status: str = OK
    issues: list[str] = field(default_factory=list)
    bad: dict[str, int] = field(default_factory=dict)
    raw: str = ""
    decoding: str | None = None

    def flag(self, issue: str, unit: str | None = None) -> None:
        """Record a problem; with `unit`, one more wrong prediction of that unit (e.g. "entity")."""
        self.issues.append(issue)
        if unit:
            self.bad[unit] = self.bad.get(unit, 0) + 1

    def finish(self) -> Parsed:
        if self.issues and self.status in (OK, REPAIRED):
            self.status = INVALID
        return self

    def to_dict(self) -> dict:
        out = {"pred": self.pred, "status": self.status, "issues": self.issues, "raw": self.raw}
        if self.bad:
            out["bad"] = self.bad
        if self.decoding:
            out["decoding"] = self.decoding
        return out

    @classmethod
    def from_dict(cls, data: dict, pred_key: str = "pred") -> Parsed:
        status = data.get("status", OK)
        if status not in STATUSES:
            raise ValueError(f"status: expected one of {', '.join(STATUSES)}, got {status!r}")
        return cls(data.get(pred_key), status, list(data.get("issues") or []), dict(data.get("bad") or {}),
                   data.get("raw") or "", data.get("decoding"))


@dataclass(frozen=True)
class Triple:
    """A (head, relation, tail) fact; types are optional because not every case knows them.

    `head_span` / `tail_span`: character offsets (start, end exclusive) of the mention in its source text, and
    `head_grounding` / `tail_grounding` how it was found there (exact, normalised, fuzzy, ungrounded), when known.
    """

    head: str
    relation: str
    tail: str
    head_type: str | None = None
    tail_type: str | None = None
    head_span: tuple[int, int] | None = None
    tail_span: tuple[int, int] | None = None
    head_grounding: str | None = None
    tail_grounding: str | None = None

    def key(self) -> tuple[str, str, str]:
        """What scoring compares: the three strings stripped of surrounding whitespace."""
        return (self.head.strip(), self.relation.strip(), self.tail.strip())

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if v is not None}

    def to_list(self) -> list[str]:
        return [self.head, self.relation, self.tail]

    @classmethod
    def from_any(cls, data: Any, path: str = "<record>", line: int | None = None) -> Triple:
        """From `{"head","relation","tail"}` or `[head, relation, tail]`."""
        if isinstance(data, (list, tuple)):
            if len(data) != 3 or not all(isinstance(x, str) for x in data):
                raise DataError(path, line, "a triple must be [head, relation, tail] of strings")
            return cls(*data)
        triple = _from_dict(cls, data, path, line)
        for name in ("head_span", "tail_span"):
            span = getattr(triple, name)
            if span is not None:
                if not (isinstance(span, (list, tuple)) and len(span) == 2 and all(isinstance(x, int) for x in span)):
                    raise DataError(path, line, "expected [start, end] character offsets", field=name)
                object.__setattr__(triple, name, tuple(span))
        return triple


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


_PTB = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}


def ptb_text(tokens: list[str]) -> str:
    """Tokens joined by spaces, PTB bracket tokens (-LRB- -RRB- -LSB- ...) turned back into the brackets they stand
    for: the one conversion, used for sentences and entity names alike (prompts, graphs, generated samples)."""
    return " ".join(_PTB.get(t.lower(), t) for t in tokens)


def checked_tokens(data: Any, path: str, line: int | None) -> list[str]:
    """The `token` list of a TACRED-style record (an object with a non-empty list of strings), else a DataError."""
    if not isinstance(data, dict):
        raise DataError(path, line, f"expected a JSON object, got {type(data).__name__}")
    tokens = data.get("token")
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise DataError(path, line, "expected a non-empty list of strings", field="token")
    return tokens


def _token_index(data: dict, name: str, n: int, path: str, line: int | None) -> int:
    value = data.get(name)
    if value is None:
        raise DataError(path, line, "missing", field=name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(path, line, "expected an integer", field=name)
    if not 0 <= value < n:
        raise DataError(path, line, f"token index {value} outside the sentence (0..{n - 1})", field=name)
    return value


def _optional_str(data: dict, name: str, path: str, line: int | None) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise DataError(path, line, "expected a string", field=name)
    return value


@dataclass
class RESample:
    """A relation sample over tokens (the TACRED / TACREV / Re-TACRED layout): the subject (head) and object (tail)
    spans are token indices, both ends inclusive; `relation` is the gold label when known.

    `sentence`, `head` and `tail` are the text as prompts and graphs show it (`ptb_text`: -LRB- -> `(`). `record` is
    the record as read (written back with a prediction), `path` / `line` where it was read (for one-line errors).
    """

    tokens: list[str]
    subj_start: int
    subj_end: int
    obj_start: int
    obj_end: int
    relation: str | None = None
    subj_type: str | None = None
    obj_type: str | None = None
    id: Any = None
    record: dict = field(default_factory=dict, repr=False, compare=False)
    path: str = field(default="<record>", repr=False, compare=False)
    line: int | None = field(default=None, repr=False, compare=False)

    @property
    def sentence(self) -> str:
        return ptb_text(self.tokens)

    @property
    def head(self) -> str:
        return ptb_text(self.tokens[self.subj_start : self.subj_end + 1])

    @property
    def tail(self) -> str:
        return ptb_text(self.tokens[self.obj_start : self.obj_end + 1])

    def to_dict(self) -> dict:
        """The TACRED record: id (when known), token, the four offsets, relation and types (when known)."""
        out = {"id": self.id, "relation": self.relation, "token": list(self.tokens), "subj_start": self.subj_start,
               "subj_end": self.subj_end, "obj_start": self.obj_start, "obj_end": self.obj_end,
               "subj_type": self.subj_type, "obj_type": self.obj_type}
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, data: Any, path: str = "<record>", line: int | None = None) -> RESample:
        """A checked TACRED record: a non-empty token list, the four offsets inside it (end >= start), optional
        string relation / types; anything else is a DataError naming file, line and field."""
        path = str(path)
        tokens = checked_tokens(data, path, line)
        n = len(tokens)
        ss, se = _token_index(data, "subj_start", n, path, line), _token_index(data, "subj_end", n, path, line)
        os_, oe = _token_index(data, "obj_start", n, path, line), _token_index(data, "obj_end", n, path, line)
        if se < ss:
            raise DataError(path, line, f"subj_end {se} before subj_start {ss}", field="subj_end")
        if oe < os_:
            raise DataError(path, line, f"obj_end {oe} before obj_start {os_}", field="obj_end")
        return cls(tokens, ss, se, os_, oe, _optional_str(data, "relation", path, line),
                   _optional_str(data, "subj_type", path, line), _optional_str(data, "obj_type", path, line),
                   data.get("id"), data, path, line)
