"""From the facts each request gave to mention records: grounded, checked against the schema, de-duplicated, flagged.

    python -c "from core.extract.mentions import FLAG_REASONS; print(FLAG_REASONS)"

One mention record per distinct fact and evidence (a line of mentions.jsonl): the fact in the one record model
(core.records.Triple: head, relation, tail as the model wrote them, types, `head_span`/`tail_span` -- character
offsets in the DOCUMENT -- and `head_grounding`/`tail_grounding`; a mention found by normalisation or fuzzily also
has `head_text`/`tail_text`, the document's own spelling, which the graph uses), where it was asked (`document`,
`chunk`, `batch`, `pass`, `id` = `doc::chunk::batch::pass::k`), its evidence (`sentence`, `sentence_span`: the
sentences from the first to the last character of the two mentions), and `flags`:
  ungrounded: ...   a mention was not found in its chunk (core.extract.grounding)
  relation: ...     the relation is not in the schema
  type: ...         an entity type is not in the schema
  pattern: ...      (head type, relation, tail type) fits none of the relation's patterns
`kept` is true when there is no flag. Types a fact does not give are taken from the relation's only pattern.
A fact found again -- in the overlap of two chunks, or by another schema batch -- with the same evidence is one
mention (dropped as `duplicate`); one with an ungrounded mention is the same when head, relation and tail are.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable

from core.extract.chunking import Chunk
from core.extract.grounding import EXACT, UNGROUNDED, ground_pair
from core.kg.names import normalize_name
from core.records import Triple
from core.schema import Schema

FLAG_REASONS = ("ungrounded", "relation", "type", "pattern")


def fact_key(fact: dict) -> tuple[str, str, str]:
    """Two facts are the same when head, relation and tail agree after normalisation and case folding."""
    return tuple(normalize_name(fact[k], casefold=True) for k in ("head", "relation", "tail"))


def _evidence(text: str, sentences: list[tuple[int, int]], starts: list[int], spans: list) -> tuple | None:
    points = [p for s in spans if s is not None for p in (s[0], s[1] - 1)]
    if not points:
        return None
    first = max(bisect_right(starts, min(points)) - 1, 0)
    last = max(bisect_right(starts, max(points)) - 1, first)
    return sentences[first][0], sentences[last][1]


class MentionBuilder:
    """Feeds (request row, facts) in; collects the mention records and the counts of the run report."""

    def __init__(self, schema: Schema, chunks: dict[str, Chunk], texts: dict[str, str],
                 sentences: dict[str, list[tuple[int, int]]], threshold: float):
        self.schema, self.chunks, self.texts, self.sentences = schema, chunks, texts, sentences
        self.starts = {doc: [s for s, _ in spans] for doc, spans in sentences.items()}
        self.threshold = threshold
        self.mentions: list[dict] = []
        self.flagged: Counter = Counter()
        self.dropped: Counter = Counter()
        self._seen: set = set()

    def add(self, row: dict, facts: Iterable[dict]) -> None:
        chunk = self.chunks[f"{row['document']}::{row['chunk']}"]
        doc = chunk.document
        text, sentences, starts = self.texts[doc], self.sentences[doc], self.starts[doc]
        a, b = chunk.sentences
        local = [s - chunk.start for s in starts[a:b]]
        for k, fact in enumerate(facts):
            g = ground_pair(fact["head"], fact["tail"], chunk.text, chunk.start, self.threshold, local)
            head_type, tail_type = self.schema.complete_types(fact.get("head_type"), fact["relation"],
                                                              fact.get("tail_type"))
            evidence = _evidence(text, sentences, starts, [g["head_span"], g["tail_span"]])
            grounded = g["head_span"] is not None and g["tail_span"] is not None
            key = (doc, *fact_key(fact), evidence if grounded else None)
            if key in self._seen:
                self.dropped["duplicate"] += 1
                continue
            self._seen.add(key)
            flags = [f"ungrounded: {side} {fact[side]!r} is not in chunk {chunk.index}"
                     for side in ("head", "tail") if g[f"{side}_grounding"] == UNGROUNDED]
            flags += self.schema.check(head_type, fact["relation"], tail_type)
            triple = Triple(fact["head"], fact["relation"], fact["tail"], head_type, tail_type,
                            _span(g["head_span"]), _span(g["tail_span"]), g["head_grounding"], g["tail_grounding"])
            mention = {"id": f"{row['id']}::{k}", "document": doc, "chunk": chunk.index, "batch": row["batch"],
                       "pass": row["pass"], **triple.to_dict()}
            for side in ("head", "tail"):
                span = g[f"{side}_span"]
                if span is not None and g[f"{side}_grounding"] != EXACT:
                    mention[f"{side}_text"] = text[span[0]:span[1]]
            if evidence is not None:
                mention.update(sentence=text[evidence[0]:evidence[1]], sentence_span=list(evidence))
            mention.update(flags=flags, kept=not flags)
            for reason in {f.split(":", 1)[0] for f in flags}:
                self.flagged[reason] += 1
            self.mentions.append(mention)

    def in_graph(self, keep_ungrounded: bool, keep_invalid: bool) -> list[dict]:
        """The mentions that go on to the graph: the kept ones, and the flagged ones the keep switches allow."""
        allowed = {"ungrounded"} if keep_ungrounded else set()
        if keep_invalid:
            allowed |= {"relation", "type", "pattern"}
        return [m for m in self.mentions if all(f.split(":", 1)[0] in allowed for f in m["flags"])]


def _span(span: list | None) -> tuple[int, int] | None:
    return None if span is None else (span[0], span[1])
