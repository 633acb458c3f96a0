"""A transformers LogitsProcessor that keeps every row of a (left-padded) batch inside its own constraint.

    python -c "from core.decoding import constraint_for as c; print(c('json').lark)"

Each row has its own llguidance matcher (its grammar: the record's input to copy from, its relations) and a tracker of
where its text stands (core.decoding.track). At every step the processor feeds each row the token generate() chose
(rows are read from `input_ids` after the prompt width, so left padding and different prompt lengths do not matter;
rows whose history changed, as in beam search, are rolled back and replayed), asks the matchers for the allowed
tokens (llguidance, in parallel) and sets every other logit to -inf. A row with constraint None is left free.

The token budget: given `max_new_tokens`, the processor keeps every row able to close its answer in the tokens that
are left. Near the end (when the shortest closing text, plus the most one token can add to it, no longer fits
easily) each allowed token is checked: it stays allowed only if the shortest closing after it still fits. When the
closing text needs every token left, it is forced, token by token (longest-match tokens of that text), then EOS. A
row whose closing is not known (text inside a part llguidance enforces but our tracker cannot close, e.g. a number
schema) is not guarded; its report then says whether the answer ended complete. `reports()` tells, per row, whether
the answer is complete, whether the guard forced the close, and any matcher error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transformers import LogitsProcessor

from core.decoding.frames import AnyFrame, SeqFrame, TextFrame
from core.decoding.track import Tracker
from core.decoding.tree import AnyJson, Choice, Rep, Seq, Text, minimal, most_rest
from core.decoding.vocab import Vocab, vocab_of

MAX_CHECKED = 4096  # more allowed tokens than this outside a string: force the close instead of checking each


@dataclass
class RowReport:
    """How one row's constrained answer ended."""

    complete: bool  # the text is a whole answer of the grammar
    forced_close: bool  # the budget guard steered the answer to close (took tokens away or wrote the closing)
    guarded: bool  # the guard knew the closing text at every step
    error: str | None = None  # a matcher error (never expected: the mask allows only valid tokens)


def _jump(node: object, count: Any) -> int:
    """Most tokens one token can add to the shortest closing, roughly: a new list item, a longer option (+ slack
    for a split character). `count(bytes)` counts tokens."""
    if isinstance(node, Rep):
        item = minimal(node.item)
        return max(count((node.sep + (item or "")).encode()) + 4, _jump(node.item, count))
    if isinstance(node, Seq):
        return max((_jump(p, count) for p in node.parts), default=0)
    if isinstance(node, Choice):
        sizes = [count(o.encode()) for o in node.options] or [0]
        return max(sizes) - min(sizes) + 4
    if isinstance(node, AnyJson):
        return 24
    return 4


def _context(tracker: Tracker) -> tuple[str, int, bool] | None:
    """Where many tokens are allowed: (the characters that may make the closing longer, how many tokens longer a
    token without them can make it at most, whether a name may not end in whitespace); None elsewhere (few tokens
    are allowed there: each is checked).

    Inside a string, or where a bare name starts, a token without a character that ends it leaves the closing as it
    was or shorter; in a JSON value of any shape, a token without one that opens something or starts a key adds at
    most the rest of a literal or a digit (5)."""
    top = tracker.stack[-1] if tracker.stack and not tracker.lost else None
    if isinstance(top, SeqFrame) and top.i < len(top.parts) and isinstance(top.parts[top.i], Text):
        node = top.parts[top.i]  # the next character starts this string
        return ("".join(sorted(set(node.exclude))), 0, True) if not node.quoted else None
    if isinstance(top, TextFrame):
        if not top.node.quoted:
            return "".join(sorted(set(top.node.exclude))), 0, top.node.named
        return ('"\\', 0, top.node.named) if top.state == 1 else None
    if isinstance(top, AnyFrame) and top.generic:
        if top.scalar is not None and top.scalar[0] == "s":
            return ('"\\', 0, False) if not top.scalar[2] else None
        return '{["\\,:', 5, False
    return None


class _Row:
    def __init__(self, constraint: Any, vocab: Vocab):
        import llguidance

        self.constraint = constraint
        self.matcher = llguidance.LLMatcher(vocab.ll, llguidance.LLMatcher.grammar_from_lark(constraint.lark),
                                            log_level=0)
        if self.matcher.is_error():
            raise ValueError(f"constraint grammar rejected by llguidance: {self.matcher.get_error()}")
        self.tracker = Tracker(constraint.tree)
        self.history: list[int] = []
        self.finished = False
        self.forcing: bytes | None = None
        self.forced = False
        self.guarded = True
        self.error: str | None = None

    def replay(self, tokens: list[int], vocab: Vocab) -> None:
        """Bring the matcher and tracker to `tokens` (the row's generated tokens so far)."""
        h = self.history
        if self.finished and tokens[:len(h)] == h:
            return
        common = 0
        limit = min(len(h), len(tokens))
        if tokens[:limit] == h[:limit]:
            common = limit
        else:
            while common < limit and tokens[common] == h[common]:
                common += 1
        if common < len(h):  # another history (beam search): roll back and replay
            self.matcher.rollback(len(h) - common)
            del h[common:]
            self.finished, self.forcing = False, None
            self.tracker = Tracker(self.constraint.tree)
            for t in h:
                self.tracker.feed_bytes(vocab.token_bytes[t])
        for t in tokens[common:]:
            if self.finished:
                break
            if not self.matcher.consume_token(t):
                self.error = self.error or self.matcher.get_error()
            h.append(t)
            if t in vocab.eos_ids:
                self.finished = True
                continue
            data = vocab.token_bytes[t]
            self.tracker.feed_bytes(data)
            if self.forcing is not None:
                self.forcing = self.forcing[len(data):] if self.forcing.startswith(data) else None

    def report(self) -> RowReport:
        return RowReport(self.matcher.is_accepting() or (self.finished and not self.error), self.forced,
                         self.guarded, self.error)


class ConstrainedLogits(LogitsProcessor):
    """Masks each row's logits to its constraint; `constraints[i]` is row i's (None = free). With
    num_return_sequences = n the batch has n rows per constraint, in order."""

    def __init__(self, tokenizer: Any, constraints: list, *, max_new_tokens: int | None = None, model: Any = None):
        import torch

        self.vocab = vocab_of(tokenizer, model)
        self.constraints = list(constraints)
        self.max_new_tokens = max_new_tokens
        self.rows: list[_Row | None] = []
        self.start: int | None = None
        self._shifts = torch.arange(32, dtype=torch.int32)
        self._jumps: dict[int, tuple[int, int | None]] = {}

    def reports(self, sequences: Any = None) -> list[RowReport | None]:
        """Per row (None for a free row): complete, forced_close, guarded, error. Pass generate()'s output ids:
        the last token is chosen after the processor's last call."""
        if sequences is not None and self.start is not None:
            for r, tokens in enumerate(sequences[:, self.start:].tolist()):
                if self.rows[r] is not None:
                    self.rows[r].replay(tokens, self.vocab)
        return [row.report() if row is not None else None for row in self.rows]

    def _setup(self, batch: int) -> None:
        per = max(batch // max(len(self.constraints), 1), 1)
        if per * len(self.constraints) != batch:
            raise ValueError(f"{len(self.constraints)} constraints for a batch of {batch} rows")
        self.rows = [_Row(c, self.vocab) if c is not None else None for c in self.constraints for _ in range(per)]

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        allowed = self._allowed(input_ids)
        if allowed is None:
            return scores
        width = scores.shape[1]
        if width != allowed.shape[1]:
            import torch

            extra = max(width - allowed.shape[1], 0)
            allowed = torch.cat([allowed, torch.zeros(allowed.shape[0], extra, dtype=torch.bool)], dim=1)[:, :width]
            for r, row in enumerate(self.rows):
                if row is None or row.finished:
                    allowed[r] = True
        return scores.masked_fill(~allowed.to(scores.device), float("-inf"))

    def _allowed(self, input_ids: Any) -> Any:
        """Bool (rows, vocabulary) of the tokens each row may take next (True everywhere on free or ended rows);
        None when no row is constrained any more."""
        import torch

        if self.start is None:
            self.start = input_ids.shape[1]
            self._setup(input_ids.shape[0])
        new = input_ids[:, self.start:].tolist()
        step = len(new[0]) if new else 0
        left = None if self.max_new_tokens is None else self.max_new_tokens - step
        batch, vocab = len(self.rows), self.vocab
        bitmask = torch.full((batch, (vocab.size + 31) // 32), -1, dtype=torch.int32)
        active = []
        for r, row in enumerate(self.rows):
            if row is not None:
                row.replay(new[r], vocab)
                if not row.finished:
                    active.append((row.matcher, r))
        if not active:
            return None
        vocab.executor.unsafe_compute_mask_ptr(active, bitmask.data_ptr(), bitmask.shape[1] * 4, batch)
        allowed = ((bitmask.unsqueeze(-1) >> self._shifts) & 1).view(batch, -1)[:, :vocab.size].bool()
        if left is not None:
            for _, r in active:
                self._guard(self.rows[r], allowed[r], left)
        for r, row in enumerate(self.rows):
            if row is None or row.finished:
                allowed[r] = True
        return allowed

    def _guard(self, row: _Row, allowed: Any, left: int) -> None:
        """Keep the row able to close its answer within `left` tokens (this step's included); edits `allowed`."""
        vocab = self.vocab
        if row.forcing is None:
            key = id(row.constraint)
            if key not in self._jumps:
                tree = row.constraint.tree
                self._jumps[key] = (_jump(tree, vocab.count_tokens), most_rest(tree))
            jump, most = self._jumps[key]
            if most is not None and most + jump + 1 < left:
                return  # no closing of this tree is that long (bytes >= tokens)
            rest = row.tracker.rest()
            if rest is None:
                row.guarded = False
                return
            if len(rest) + jump + 1 < left:
                return  # far from the end (bytes >= tokens): no token can make the closing too long
            need = vocab.count_tokens(rest)
            if need + jump + 1 < left:
                return
            if need < left and self._check(row, allowed, left):
                return
            row.forcing, row.forced = rest, True
        self._force(row, allowed)

    def _check(self, row: _Row, allowed: Any, left: int) -> bool:
        """Disallow the tokens after which the closing would not fit; False when none is left."""
        import torch

        vocab = self.vocab
        candidates = allowed.nonzero().flatten()
        keep = torch.zeros_like(allowed)
        context = _context(row.tracker)
        if context is not None:  # only the tokens that may lengthen the closing are checked one by one
            special, slack, names = context
            ends = vocab.holding(special)
            if names:
                ends = ends | vocab.trailing_space
            plain = allowed & ~ends
            need = vocab.count_tokens(row.tracker.rest() or b"")
            if need + slack <= left - 1:
                keep |= plain & ~vocab.partial
            if need + slack + 3 <= left - 1:  # a split character adds at most the 3 bytes that finish it
                keep |= plain & vocab.partial
            candidates = (allowed & ~keep).nonzero().flatten()
        if len(candidates) > MAX_CHECKED:
            return False
        for t in candidates.tolist():
            if t in vocab.eos_ids:
                keep[t] = True
                continue
            trial = row.tracker.copy()
            trial.feed_bytes(vocab.token_bytes[t])
            rest = trial.rest()
            if rest is not None and (len(rest) <= left - 1 or vocab.count_tokens(rest) <= left - 1):
                keep[t] = True
        if not bool(keep.any()):
            return False
        if bool((allowed & ~keep).any()):
            row.forced = True  # the guard took tokens away: it steers this answer to its end
        allowed &= keep
        return True

    def _force(self, row: _Row, allowed: Any) -> None:
        """Allow only the next token of the forced closing text (EOS once it is written)."""
        vocab = self.vocab
        text = row.forcing or b""
        choice = None
        if text:
            for size in range(min(vocab.longest, len(text)), 0, -1):
                choice = next((t for t in vocab.by_bytes.get(text[:size], ()) if bool(allowed[t])), None)
                if choice is not None:
                    break
        else:
            choice = next((e for e in vocab.eos_ids if e < len(allowed) and bool(allowed[e])), None)
        if choice is None:  # the grammar refuses the closing we computed: leave the row to its mask
            row.forcing, row.guarded = None, False
            return
        allowed[:] = False
        allowed[choice] = True
