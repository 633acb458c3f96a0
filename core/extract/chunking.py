"""Sentence-aware chunking of English and Chinese text under a token budget, with overlap; every span kept.

    python -c "from core.extract.chunking import chunk_text; print([(c.start, c.end) for c in chunk_text('One. Two! Three?', 2, 1)])"

Sentences end at `. ! ?` followed by whitespace (not after a known abbreviation such as "Dr." or a single capital
letter such as the "J." of "J. Smith"), at `。！？…` (closing quotes and brackets stay with their sentence), and at a
blank line. Spans are character offsets (end exclusive) into the text, whitespace trimmed. A sentence longer than the
budget is cut at the last clause mark (`, ; : ，；：、`) or space that fits, else at the budget.

Chunks: whole sentences are added while their tokens fit the budget. The next chunk starts with the last sentences
of the previous one, as many as fit in `overlap` tokens (at least one when overlap > 0, so a fact stated across two
sentences is whole in one chunk), as long as a new sentence still fits after them.

Tokens: `TokenCounter.from_tokenizer(path)` counts with a local model's tokenizer (what a local model sees); the
default `estimate_tokens` is for APIs whose tokenizer we do not have: the project's one estimate,
core.llm.limits.text_tokens (one token per CJK character plus one per four other characters, rounded up; the
tokens/min limit uses it too). It errs on the long side for English.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.llm.limits import CJK  # noqa: F401 -- the one CJK range, core.extract.run reads it here
from core.llm.limits import text_tokens as estimate_tokens

_CLOSERS = "\"'”’」』）)】》\\]"
_BOUNDARY = re.compile(rf"[.!?]+[{_CLOSERS}]*(?=\s)|[。！？…]+[{_CLOSERS}]*|\n[ \t\r\f\v\u3000]*\n")
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st jr sr vs etc e.g i.e u.s u.k no inc ltd co mt fig al approx cf"
                           " dept gen gov sen rep rev sgt capt col lt".split())
_CUT = re.compile(r"[,;:，；：、]\s*|\s+")


@dataclass
class TokenCounter:
    count_many: Callable[[list[str]], list[int]]
    name: str = "estimate"

    def __call__(self, texts: Sequence[str]) -> list[int]:
        return self.count_many(list(texts)) if texts else []

    @classmethod
    def estimate(cls) -> TokenCounter:
        return cls(lambda texts: [estimate_tokens(t) for t in texts], "estimate (1 per CJK character, 4 chars/token)")

    @classmethod
    def from_tokenizer(cls, path: str) -> TokenCounter:
        """Counts with the tokenizer of a local model folder (or hub id, offline cache); special tokens left out."""
        from core.models import load_tokenizer

        tok = load_tokenizer(path)

        def count(texts: list[str]) -> list[int]:
            return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]

        return cls(count, f"tokenizer {path}")


@dataclass(frozen=True)
class Chunk:
    document: str
    index: int
    start: int  # character offsets into the document (end exclusive)
    end: int
    text: str
    tokens: int
    sentences: tuple[int, int] = (0, 0)  # first and last+1 sentence index in the document's sentence list

    @property
    def id(self) -> str:
        return f"{self.document}::{self.index}"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _abbreviation(text: str, dot: int) -> bool:
    """True when the `.` at `dot` ends an abbreviation or an initial, not a sentence."""
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "(\"'“‘":
        start -= 1
    word = text[start:dot]
    return (len(word) == 1 and word.isupper()) or word.lower() in _ABBREVIATIONS


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end), whitespace trimmed, in order, covering every non-space character."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        if m.group()[0] == "." and _abbreviation(text, m.start()):
            continue
        s, e = _trim(text, start, m.end())
        if s < e:
            spans.append((s, e))
        start = m.end()
    s, e = _trim(text, start, len(text))
    if s < e:
        spans.append((s, e))
    return spans


def _cut_long(text: str, span: tuple[int, int], budget: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Pieces of a sentence longer than the budget, cut at clause marks or spaces when possible."""
    pieces, (start, end) = [], span
    while start < end:
        if count([text[start:end]])[0] <= budget:
            pieces.append((start, end))
            break
        lo, hi = start + 1, end  # the longest prefix that fits, by bisection on characters
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if count([text[start:mid]])[0] <= budget else (lo, mid - 1)
        cut = lo
        marks = [m.end() for m in _CUT.finditer(text, start, lo) if m.end() > start + (lo - start) // 2]
        if marks and lo < end:
            cut = marks[-1]
        s, e = _trim(text, start, cut)
        if s < e:
            pieces.append((s, e))
        start = _trim(text, cut, end)[0]
    return pieces


def sentences_within(text: str, budget: int, count: TokenCounter) -> tuple[list[tuple[int, int]], list[int]]:
    """The sentence spans of `text`, long ones cut to fit `budget`, and the tokens of each."""
    spans = split_sentences(text)
    tokens = count([text[s:e] for s, e in spans])
    out_spans, out_tokens = [], []
    for span, n in zip(spans, tokens, strict=True):
        if n <= budget:
            out_spans.append(span)
            out_tokens.append(n)
        else:
            pieces = _cut_long(text, span, budget, count)
            out_spans.extend(pieces)
            out_tokens.extend(count([text[s:e] for s, e in pieces]))
    return out_spans, out_tokens


def chunk_text(text: str, budget: int, overlap: int = 0, count: TokenCounter | None = None,
               document: str = "doc") -> list[Chunk]:
    """Chunks of whole sentences under `budget` tokens; the next starts with up to `overlap` tokens of the last."""
    chunks, _ = chunk_document(text, budget, overlap, count, document)
    return chunks


def chunk_document(text: str, budget: int, overlap: int = 0, count: TokenCounter | None = None,
                   document: str = "doc") -> tuple[list[Chunk], list[tuple[int, int]]]:
    """(chunks, sentence spans): the sentences are the document's, so evidence can be looked up per span."""
    if budget < 1 or overlap < 0:
        raise ValueError(f"chunk budget must be >= 1 and overlap >= 0, got {budget} and {overlap}")
    count = count or TokenCounter.estimate()
    spans, tokens = sentences_within(text, budget, count)
    chunks: list[Chunk] = []
    first = 0
    while first < len(spans):
        last, used = first, 0
        while last < len(spans) and used + tokens[last] <= budget:
            used += tokens[last]
            last += 1
        last = max(last, first + 1)
        start, end = spans[first][0], spans[last - 1][1]
        chunks.append(Chunk(document, len(chunks), start, end, text[start:end], used or tokens[first], (first, last)))
        if last >= len(spans):
            break
        first = _overlap_start(first, last, tokens, overlap, budget)
    return chunks, spans


def _overlap_start(first: int, last: int, tokens: list[int], overlap: int, budget: int) -> int:
    """Where the next chunk starts: back from `last` by the sentences that fit `overlap` (at least one), while the
    next new sentence still fits the budget after them; never before first + 1 (each chunk moves on)."""
    if overlap <= 0:
        return last
    back, used = last, 0
    while back - 1 > first and (used + tokens[back - 1] <= overlap or back == last):
        used += tokens[back - 1]
        back -= 1
    while back < last and used + tokens[last] > budget:
        used -= tokens[back]
        back += 1
    return back
