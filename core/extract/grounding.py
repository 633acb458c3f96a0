"""Grounding: find a head and a tail mention in their chunk and give them character offsets in the document.

    python -c "from core.extract.grounding import ground_pair; print(ground_pair('marie curie', 'WARSAW', 'Marie Curie was born in Warsaw.'))"

Each mention is looked for, in this order:
  exact       the mention as written (`str.find`: every occurrence)
  normalised  both sides normalised as core.kg normalises names -- full-width/half-width folding, whitespace runs
              collapsed -- and case-folded; the span covers the original characters
  fuzzy       the best window of the normalised chunk by rapidfuzz's `partial_ratio_alignment`, kept when its score
              is >= the threshold (default 85 of 100: one wrong letter in a 7-letter name, two in a 14-letter one;
              a two-character Chinese name must match exactly)
  ungrounded  none of these; no span
When a mention occurs several times, the pair of occurrences that do not overlap, are not one run of text (only
spaces between them) and lie nearest to each other (in sentences, then characters) is taken: a fact is stated where
both of its mentions are. Everything works on characters, so Chinese and Japanese text is no special case.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from core.kg.names import normalize_name

EXACT, NORMALISED, FUZZY, UNGROUNDED = "exact", "normalised", "fuzzy", "ungrounded"
STATUSES = (EXACT, NORMALISED, FUZZY, UNGROUNDED)
FUZZY_THRESHOLD = 85.0
MAX_OCCURRENCES = 1000  # a mention found more often than this (one letter, a stop word) keeps the first ones


@dataclass(frozen=True)
class Found:
    spans: tuple[tuple[int, int], ...]  # candidate spans in the chunk (end exclusive)
    status: str
    score: float = 100.0


_FOLD: dict[str, str] = {}
# width folding as core.kg normalises names, as a translate table (the one-to-one entries of U+FF00-U+FFEF)
_WIDTH = {c: normalize_name(chr(c)) for c in range(0xFF00, 0xFFF0)}
_WIDTH = {c: v for c, v in _WIDTH.items() if len(v) == 1 and v != chr(c)}
_WIDTH.update({c: " " for c in range(0x3001) if chr(c).isspace() and c != 0x20})  # every whitespace -> a space
_SPACE_RUNS = re.compile(r"^ +| {2,}")


def _fold(ch: str) -> str:
    out = _FOLD.get(ch)
    if out is None:
        out = _FOLD[ch] = normalize_name(ch, normalize=True, casefold=True) or ch
    return out


class Normalised:
    """A chunk's normalised text, and the way back from its offsets to the original text's."""

    def __init__(self, text: str):
        folded = text.translate(_WIDTH).casefold()
        self._where: list[int] | None = None
        if len(folded) == len(text):  # one character for one (nearly always): whole-string operations
            self._collapse(folded)
            return
        chars: list[str] = []
        where: list[int] = []
        space = True  # leading whitespace is dropped
        for i, ch in enumerate(text):
            if ch.isspace():
                if not space:
                    chars.append(" ")
                    where.append(i)
                space = True
                continue
            space = False
            for c in _fold(ch):
                chars.append(c)
                where.append(i)
        self.text, self._where = "".join(chars), where

    def _collapse(self, folded: str) -> None:
        """Runs of spaces (every whitespace is one by now) -> one space, leading ones dropped; `_marks`: from which
        normalised offset on how many original characters were dropped before it."""
        parts: list[str] = []
        starts, dropped = [0], [0]
        prev = n = gone = 0
        for m in _SPACE_RUNS.finditer(folded):
            s, e = m.span()
            parts.append(folded[prev:s])
            n += s - prev
            if s > 0:
                parts.append(" ")
                n += 1
                gone += e - s - 1
            else:
                gone += e - s
            starts.append(n)
            dropped.append(gone)
            prev = e
        parts.append(folded[prev:])
        self.text, self._marks = "".join(parts), (starts, dropped)

    def _original(self, pos: int) -> int:
        if self._where is not None:
            return self._where[pos]
        starts, dropped = self._marks
        return pos + dropped[bisect_right(starts, pos) - 1]

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self._original(start), self._original(end - 1) + 1

    @property
    def where(self) -> list[int]:
        """The original offset of every normalised character."""
        return [self._original(i) for i in range(len(self.text))]


@functools.lru_cache(maxsize=16)
def normalised(text: str) -> Normalised:
    """The Normalised form of a chunk, kept for the next facts of the same chunk."""
    return Normalised(text)


def normalise(text: str) -> str:
    return Normalised(text).text.strip()


def _all(needle: str, hay: str) -> list[tuple[int, int]]:
    out, i = [], hay.find(needle)
    while i >= 0 and len(out) < MAX_OCCURRENCES:
        out.append((i, i + len(needle)))
        i = hay.find(needle, i + 1)
    return out


def locate(mention: str, text: str, norm: Normalised | None = None, threshold: float = FUZZY_THRESHOLD) -> Found:
    """Every place of `mention` in `text` by the first rule that finds one (see the module docstring); `norm`: the
    text's Normalised form when the caller has it already."""
    mention = mention.strip()
    if not mention:
        return Found((), UNGROUNDED, 0.0)
    spans = _all(mention, text)
    if spans:
        return Found(tuple(spans), EXACT)
    norm = norm or normalised(text)
    needle = normalise(mention)
    if not needle:
        return Found((), UNGROUNDED, 0.0)
    spans = _all(needle, norm.text)
    if spans:
        return Found(tuple(norm.span(s, e) for s, e in spans), NORMALISED)
    if len(needle) <= len(norm.text):
        from rapidfuzz import fuzz

        hit = fuzz.partial_ratio_alignment(needle, norm.text, score_cutoff=threshold)
        if hit is not None and hit.dest_end > hit.dest_start:
            s, e = hit.dest_start, hit.dest_end
            while s < e and norm.text[s] == " ":
                s += 1
            while e > s and norm.text[e - 1] == " ":
                e -= 1
            if s < e:
                return Found((norm.span(s, e),), FUZZY, hit.score)
    return Found((), UNGROUNDED, 0.0)


def _pair(text: str, heads: tuple[tuple[int, int], ...], tails: tuple[tuple[int, int], ...],
          starts: list[int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The (head, tail) occurrences a fact is stated by: not overlapping (the `Paris` inside `University of Paris` is
    not the tail of `University of Paris -- located in -- Paris`), not one run of text (`Birmingham Barons`,
    `浙江绍兴`), then fewest sentence boundaries between them (`starts`: the sentence starts of the text), then
    fewest characters."""
    if len(heads) == 1 and len(tails) == 1:
        return heads[0], tails[0]
    tails = tuple(sorted(tails))
    tail_starts = [s for s, _ in tails]
    tail_sentences = [bisect_right(starts, s) for s in tail_starts]
    best, best_key = (heads[0], tails[0]), None
    for h in heads:
        h_sentence = bisect_right(starts, h[0])
        k = bisect_left(tail_starts, h[0])
        for j in range(max(k - 3, 0), min(k + 4, len(tails))):
            t = tails[j]
            if h[0] < t[1] and t[0] < h[1]:
                key = (True, False, 0, 0)  # overlapping: the last resort
            else:
                a, b = (h[1], t[0]) if h[1] <= t[0] else (t[1], h[0])
                adjacent = b - a <= 8 and (a == b or text[a:b].isspace())
                key = (False, adjacent, abs(h_sentence - tail_sentences[j]), b - a)
            if best_key is None or key < best_key:
                best, best_key = (h, t), key
    return best


def ground_pair(head: str, tail: str, text: str, offset: int = 0, threshold: float = FUZZY_THRESHOLD,
                sentence_starts: list[int] | None = None) -> dict:
    """Spans (+ `offset`, the chunk's start in its document) and statuses of a fact's two mentions in `text`:
    {"head_span", "tail_span" (None when ungrounded), "head_grounding", "tail_grounding"}. `sentence_starts`
    (offsets in `text`, sorted) make the nearest pair one in the same sentence where there is one."""
    h = locate(head, text, None, threshold)
    norm = normalised(text) if h.status != EXACT else None
    t = locate(tail, text, norm, threshold)
    h_span = t_span = None
    if h.spans and t.spans:
        h_span, t_span = _pair(text, h.spans, t.spans, sentence_starts or [])
    elif h.spans:
        h_span = h.spans[0]
    elif t.spans:
        t_span = t.spans[0]
    def shift(span: tuple[int, int] | None) -> list[int] | None:
        return None if span is None else [span[0] + offset, span[1] + offset]

    return {"head_span": shift(h_span), "tail_span": shift(t_span), "head_grounding": h.status,
            "tail_grounding": t.status}
