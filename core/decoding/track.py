"""Follow generated text through a constraint tree and tell the shortest text that closes the answer from there.

    python -c "from core.decoding.track import Tracker; from core.decoding.build import triples_tree; t = Tracker(triples_tree('长江发源于青藏高原', ['发源地'])); t.feed_bytes('(长江,发'.encode()); print(t.rest().decode())"

The budget guard of `core.decoding.processor` asks `rest()` at every step near the end of the token budget. The
tracker is a stack of frames, one per open node of the tree (`core.decoding.tree`); it trusts the text to follow the
grammar (llguidance enforces it) and marks itself `lost` if it does not, or if text comes after the end. Bytes of a
character not yet complete (byte-fallback tokens) are held back; `rest()` then first completes that character with
one the grammar may take there.
"""

from __future__ import annotations

from core.decoding.frames import CONSUMED, DONE, LOST, copy_frame, frame_of
from core.decoding.tree import Choice, Lit, Rep, Seq, Text


def _chars(node: object, out: set[str]) -> None:
    """Every character the tree may produce from a known set (literals, options, copy sources)."""
    if isinstance(node, Lit):
        out.update(node.text)
    elif isinstance(node, Text):
        out.update(node.chars() if node.kind == "copy" else "")
    elif isinstance(node, Choice):
        for o in node.options:
            out.update(o)
    elif isinstance(node, Seq):
        for p in node.parts:
            _chars(p, out)
    elif isinstance(node, Rep):
        out.update(node.open + node.sep + node.close)
        _chars(node.item, out)


class Tracker:
    """Where the generated text stands in the tree; `rest()` = the shortest bytes that complete the answer."""

    def __init__(self, root: object):
        self.root = root
        self.stack: list = [frame_of(root)]
        self.lost = False
        self.pending = b""  # bytes of a character not yet complete
        self._alphabet: list[str] | None = None

    def copy(self) -> Tracker:
        new = Tracker.__new__(Tracker)
        new.root, new.lost, new.pending, new._alphabet = self.root, self.lost, self.pending, self._alphabet
        new.stack = [copy_frame(f) for f in self.stack]
        return new

    def feed_bytes(self, data: bytes) -> None:
        data = self.pending + data
        cut = len(data)
        for back in range(1, min(4, len(data)) + 1):  # an incomplete character at the end waits for its next bytes
            byte = data[-back]
            if byte & 0xC0 != 0x80:
                need = 1 if byte < 0x80 else 2 if byte >> 5 == 6 else 3 if byte >> 4 == 14 else 4
                if need > back:
                    cut = len(data) - back
                break
        self.pending = data[cut:]
        for ch in data[:cut].decode("utf-8", errors="replace"):
            self.feed(ch)

    def feed(self, ch: str) -> None:
        while not self.lost:
            if not self.stack:
                self.lost = True
                return
            result = self.stack[-1].feed(ch)
            if not isinstance(result, int):
                self.stack.append(result)
                continue
            if result == CONSUMED:
                return
            if result == LOST:
                self.lost = True
                return
            self.stack.pop()
            if result == DONE:
                return

    def rest(self) -> bytes | None:
        """Shortest bytes that complete the answer (b"" when it is complete); None when not known."""
        if self.lost:
            return None
        if self.pending:
            return self._rest_pending()
        pieces = []
        for frame in reversed(self.stack):
            piece = frame.rest()
            if piece is None:
                return None
            pieces.append(piece)
        return "".join(pieces).encode()

    def _rest_pending(self) -> bytes | None:
        if self._alphabet is None:
            found: set[str] = set()
            _chars(self.root, found)
            self._alphabet = sorted(found, key=lambda c: (len(c.encode()), c))
        best = None
        for ch in self._candidates():
            trial = self.copy()
            trial.pending = b""
            trial.feed(ch)
            tail = trial.rest()
            if tail is not None:
                text = ch.encode()[len(self.pending):] + tail
                if best is None or len(text) < len(best):
                    best = text
        return best

    def _candidates(self) -> list[str]:
        fits = [c for c in self._alphabet or [] if c.encode().startswith(self.pending)]
        for pad in (b"\x80", b"\xa0", b"\x90", b"\xb0"):  # a generic character for free strings
            try:
                fits.append((self.pending + pad * 3)[: _width(self.pending[0])].decode("utf-8"))
            except UnicodeDecodeError:
                continue
        return fits


def _width(lead: int) -> int:
    return 2 if lead >> 5 == 6 else 3 if lead >> 4 == 14 else 4
