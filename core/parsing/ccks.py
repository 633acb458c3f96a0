"""Tolerant parser from model text to (head, relation, tail) triples, CCKS2023 style. Model text is never eval'd.

    python -c "from core.parsing.ccks import parse_triples; print(parse_triples('输入中包含的关系三元组是：（弗雷泽，获奖，铜牌）'))"

The canonical answer is `(h,r,t)(h,r,t)`: ASCII brackets and commas, no separator. Model answers stray from it; what
the parser does about each stray form is named in `ParseResult.repairs`:

- full-width brackets/commas `（弗雷泽，获奖，铜牌）` are read as structure ("full-width punctuation"); brackets and
  commas *inside* a name are kept verbatim;
- a name holding brackets `(北京大学(PKU),位于,北京)`: brackets nest, commas split only outside inner brackets;
- a name holding commas `(Smith, Jr.,born in,USA)`: every way of picking two separators is tried and kept only if the
  relation is one the instruction allows and head and tail occur in the input; exactly one survivor is used
  ("comma inside a name resolved"), otherwise the triple fails. A guess is never made;
- a missing closing bracket at the end (truncated generation), surrounding whitespace, quotes, duplicates, text
  before / between / after the triples, an echoed format placeholder `(头实体,关系,尾实体)`.

The result is the project's one parse envelope (`core.records.Parsed`, pred = the triples) with the CCKS views
`triples`, `repairs` and `failed`. Status (core.records' vocabulary): "unparsable" when non-empty text holds no
triple at all; "invalid" when some fragment could not be turned into a triple (listed in `failed`, each one wrong
prediction; the triples that could be read are still returned); otherwise "repaired" when `repairs` is not empty;
otherwise "ok". An empty answer (or `NAN`) is "ok" with no triples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import combinations

from core.records import INVALID, OK, REPAIRED, UNPARSABLE, Parsed, Triple

OPEN, CLOSE, COMMA = "(（", ")）", ",，"
FULL_WIDTH = "（），"
QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’"}
PLACEHOLDERS = {("subject", "relation", "object"), ("head", "relation", "tail"), ("头实体", "关系", "尾实体")}
MAX_COMMAS = 16  # a group with more commas is not a triple with odd names; trying every split would be slow
# what may stand between triples without counting as stray text (DeepKE's later format puts NAN lines there)
_SEPARATORS = re.compile(r"(?:[\s,，;；、]|NAN)*")

R_FULL_WIDTH = "full-width punctuation"
R_UNCLOSED = "missing closing bracket"
R_NESTED = "unbalanced brackets split into triples"
R_DUPLICATE = "duplicate removed"
R_LEAD_IN = "lead-in text stripped"
R_BETWEEN = "text between triples stripped"
R_TRAILING = "trailing text stripped"
R_WHITESPACE = "extra whitespace stripped"
R_QUOTES = "quotes stripped"
R_COMMA = "comma inside a name resolved"
R_PLACEHOLDER = "format placeholder dropped"


UNIT = "triple"


class ParseResult(Parsed):
    """The parse envelope of one CCKS answer: `triples` (= pred), what was repaired, the fragments that failed."""

    def __init__(self, triples: list[Triple] | None = None, status: str = OK, repairs: list[str] | None = None,
                 failed: list[str] | None = None):
        repairs, failed = list(repairs or []), list(failed or [])
        issues = [*repairs, *(f"could not read {frag!r} as a triple" for frag in failed)]
        super().__init__(list(triples or []), status, issues, {UNIT: len(failed)} if failed else {})
        self.repairs, self.failed = repairs, failed

    @property
    def triples(self) -> list[Triple]:
        return self.pred

    def to_dict(self) -> dict:
        return {
            "triples": [t.to_dict() for t in self.triples],
            "status": self.status,
            "repairs": list(self.repairs),
            "failed": list(self.failed),
        }


_Notes = dict[str, None]  # repairs in the order first seen (a dict used as an ordered set)


def _groups(text: str) -> tuple[list[tuple[str, bool]], list[str]]:
    """Split text into bracket groups (content, closed) and the stray text around them (len(groups) + 1 pieces)."""
    groups: list[tuple[str, bool]] = []
    outside: list[str] = []
    pos, start, depth, last_end = 0, 0, 0, 0
    while pos < len(text):
        ch = text[pos]
        if ch in OPEN:
            if depth == 0:
                outside.append(text[last_end:pos])
                start = pos
            depth += 1
        elif ch in CLOSE and depth > 0:
            depth -= 1
            if depth == 0:
                groups.append((text[start:pos + 1], True))
                last_end = pos + 1
        pos += 1
    if depth > 0:
        groups.append((text[start:], False))
        last_end = len(text)
    outside.append(text[last_end:])
    return groups, outside


def _separators(content: str) -> list[int] | None:
    """Positions of commas outside inner brackets, or None when the inner brackets do not balance."""
    seps, depth = [], 0
    for i, ch in enumerate(content):
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth -= 1
            if depth < 0:
                return None
        elif ch in COMMA and depth == 0:
            seps.append(i)
    return seps if depth == 0 else None


def _clean(element: str, notes: _Notes) -> str:
    stripped = element.strip()
    if stripped != element:
        notes[R_WHITESPACE] = None
    if len(stripped) >= 2 and QUOTES.get(stripped[0]) == stripped[-1]:
        notes[R_QUOTES] = None
        stripped = stripped[1:-1].strip()
    return stripped


def _cut(content: str, i: int, j: int) -> tuple[str, str, str]:
    return content[:i], content[i + 1:j], content[j + 1:]


def _split(content: str, input_text: str | None, relations: Sequence[str] | None, notes: _Notes) -> Triple | None:
    """One group's content (no outer brackets) -> a Triple, or None when it cannot be read without guessing."""
    seps = _separators(content)
    if seps is None:
        seps = [i for i, ch in enumerate(content) if ch in COMMA]
    if not 2 <= len(seps) <= MAX_COMMAS:
        return None
    if len(seps) == 2:
        parts = _cut(content, *seps)
        used = [content[i] for i in seps]
    else:
        allowed = {r.strip() for r in relations or ()}
        if not allowed and not input_text:
            return None
        found = []
        for i, j in combinations(seps, 2):
            head, rel, tail = (p.strip() for p in _cut(content, i, j))
            if allowed and rel not in allowed:
                continue
            if input_text and not (head and tail and head in input_text and tail in input_text):
                continue
            found.append((i, j))
        if len(found) != 1:
            return None
        parts = _cut(content, *found[0])
        used = [content[i] for i in found[0]]
        notes[R_COMMA] = None
    if any(c in FULL_WIDTH for c in used):
        notes[R_FULL_WIDTH] = None
    head, rel, tail = (_clean(p, notes) for p in parts)
    if not (head and rel and tail):
        return None
    return Triple(head, rel, tail)


def _embeds_triple(element: str, input_text: str | None) -> bool:
    """True when a name holds a bracketed part with two commas (a triple whose own bracket went missing)."""
    if input_text and element in input_text:
        return False
    groups, _ = _groups(element)
    return any(sum(ch in COMMA for ch in g) >= 2 for g, _closed in groups)


def _read_group(
    group: str, closed: bool, input_text: str | None, relations: Sequence[str] | None, notes: _Notes
) -> list[Triple] | None:
    """A bracket group -> its triple(s); None when it cannot be read."""
    local = _Notes()
    if group[0] in FULL_WIDTH or (closed and group[-1] in FULL_WIDTH):
        local[R_FULL_WIDTH] = None
    content = group[1:-1] if closed else group[1:]
    if not closed:
        local[R_UNCLOSED] = None
    first = _Notes()
    triple = _split(content, input_text, relations, first)
    if triple is not None and not any(_embeds_triple(x, input_text) for x in triple.to_list()):
        result, extra = [triple], first
    else:
        # inner brackets that do not nest as names: `(a,b,c(d,e,f)` is two triples with a bracket missing
        pieces = [p for p in re.split(r"[()（）]", content) if not _SEPARATORS.fullmatch(p)]
        if len(pieces) < 2:
            return None
        extra = _Notes()
        extra[R_NESTED] = None
        result = [_split(p, input_text, relations, extra) for p in pieces]
        if any(t is None for t in result):
            return None
    notes.update(local)
    notes.update(extra)
    return result


def parse_triples(
    text: str | None,
    *,
    input_text: str | None = None,
    relations: Sequence[str] | None = None,
    dedupe: bool = True,
) -> ParseResult:
    """Read `(h,r,t)` triples from a model answer; never raises on model text, never evals it.

    `input_text` (the record's input) and `relations` (see core.parsing.ccks_instruction.relations_from_instruction)
    are used only to resolve names that contain commas. `dedupe=False` keeps repeated triples (for multiset scoring).
    """
    if text is None or not text.strip() or _SEPARATORS.fullmatch(text):
        return ParseResult()
    notes = _Notes()
    groups, outside = _groups(text)
    if not groups:
        return ParseResult(status=UNPARSABLE, failed=[text.strip()])
    if not _SEPARATORS.fullmatch(outside[0]):
        notes[R_LEAD_IN] = None
    if any(not _SEPARATORS.fullmatch(piece) for piece in outside[1:-1]):
        notes[R_BETWEEN] = None
    if not _SEPARATORS.fullmatch(outside[-1]):
        notes[R_TRAILING] = None
    triples: list[Triple] = []
    failed: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for group, closed in groups:
        read = _read_group(group, closed, input_text, relations, notes)
        if read is None:
            failed.append(group)
            continue
        for triple in read:
            if tuple(x.lower() for x in triple.key()) in PLACEHOLDERS:
                notes[R_PLACEHOLDER] = None
                continue
            if dedupe and triple.key() in seen:
                notes[R_DUPLICATE] = None
                continue
            seen.add(triple.key())
            triples.append(triple)
    status = (UNPARSABLE if not triples else INVALID) if failed else REPAIRED if notes else OK
    return ParseResult(triples, status, list(notes), failed)


def format_triples(triples: Iterable[Triple | Sequence[str]]) -> str:
    """Canonical answer text: `(h,r,t)(h,r,t)`, no separator (DeepKE's 2023 format)."""
    out = []
    for t in triples:
        head, rel, tail = t.key() if isinstance(t, Triple) else (str(x).strip() for x in t)
        out.append(f"({head},{rel},{tail})")
    return "".join(out)
