"""The graph's key for a name, type or relation: how two spellings become the same node or edge.

    python -c "from core.kg.names import normalize_name; print(normalize_name('Ａｄａ　 Lovelace'))"

Normalisation: full-width/half-width folding (every character in U+FF00-U+FFEF is replaced by its NFKC form, so
`ＡＢＣ１（` -> `ABC1(` and half-width katakana become full width; nothing outside that block is touched), then runs of
whitespace (newlines, tabs, U+3000, ...) collapse to one space and the ends are stripped; `casefold=True` also
case-folds. Used by the graph builder (core.kg.graph), the gold reader and scorer (core.kg.gold, core.kg.evaluate) and
entity resolution (core.extract), so all of them compare names the same way.
"""

from __future__ import annotations

import re
import unicodedata

_WIDTH = {c: unicodedata.normalize("NFKC", chr(c)) for c in range(0xFF00, 0xFFF0)}
_WIDTH = {c: s for c, s in _WIDTH.items() if s != chr(c)}
_WIDE = re.compile("[\uff00-\uffef]")  # the block _WIDTH folds: translate only names that hold one of its characters
_SPACES = re.compile(r"\s+")


def normalize_name(text: str, normalize: bool = True, casefold: bool = False) -> str:
    """The graph's key for a name or relation: width folding + whitespace collapsing (+ case folding)."""
    if normalize:
        if _WIDE.search(text):
            text = text.translate(_WIDTH)
        text = _SPACES.sub(" ", text).strip()
    if casefold:
        text = text.casefold()
    return text


def no_surrogates(text: str) -> str:
    """JSON may hold lone surrogates (`"\\ud800"`) that no UTF-8 file can store: they become U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
