"""How DA compares samples: tokens with offsets, a name's span in a text, the key of a sample, the key of a type.

    python -c "from core.tasks.da_tokens import tokenize; print(tokenize('Ada founded 北京 Labs.'))"

A token is a run of word characters, one CJK character (Chinese, Japanese kana, Korean) or one other mark, so a name
matches whole tokens only (`Ada` is not found in `Adam`) and a Chinese name matches character by character. Two
samples are the same when text, head and tail are the same token by token, case-folded (`sample_key`); two entity
types are the same when `type_key` says so (case, spaces, hyphens, end dots, MISCELLANEOUS = MISC). Used by the data
augmentation (core.tasks.da) and by the TACRED records made from its samples (core.tasks.tacred_data).
"""

from __future__ import annotations

import hashlib
import json
import re

TYPE_ALIASES = {"MISCELLANEOUS": "MISC"}
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]")


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Tokens with character offsets (end exclusive): a run of word characters, one CJK character, or one other mark."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def find_span(tokens: list[tuple[str, int, int]], part: str, avoid: tuple[int, int] | None = None
              ) -> tuple[int, int] | None:
    """The first (start, end) token span (inclusive) spelling `part` (case-folded), not overlapping `avoid`."""
    want = [t.casefold() for t, _, _ in tokenize(part)]
    words = [t.casefold() for t, _, _ in tokens]
    for s in range(len(words) - len(want) + 1) if want else ():
        if words[s : s + len(want)] == want and (avoid is None or s + len(want) - 1 < avoid[0] or s > avoid[1]):
            return s, s + len(want) - 1
    return None


def sample_key(text: str, head: str, tail: str) -> str:
    """What makes two samples the same: text, head and tail, token by token, case-folded."""
    parts = [[t for t, _, _ in tokenize(s.casefold())] for s in (text, head, tail)]
    return hashlib.sha1(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def type_key(entity_type: str) -> str:
    """How types compare: upper case, spaces / hyphens / `_` as one `_`, end dots dropped, MISCELLANEOUS = MISC."""
    key = "_".join(entity_type.strip().strip(".").upper().replace("-", " ").replace("_", " ").split())
    return TYPE_ALIASES.get(key, key)
