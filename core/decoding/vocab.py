"""One tokenizer as llguidance and the budget guard see it: token bytes, EOS ids, greedy byte tokenization.

    python -c "from core.toy import build; from transformers import AutoTokenizer as T; from core.decoding.vocab import vocab_of; v = vocab_of(T.from_pretrained(build('llama'))); print(v.size, v.count_tokens('(长江,发源地,青藏高原)'.encode()))"

Built once per tokenizer object (~50 ms for 3k tokens, ~1.5 s for 50k) and cached while the tokenizer lives.
"""

from __future__ import annotations

import weakref
from typing import Any

from core.errors import UserError

_CACHE: dict[int, tuple[weakref.ref | Any, Vocab]] = {}


class Vocab:
    def __init__(self, tokenizer: Any, eos_ids: list[int]):
        import llguidance
        import llguidance.hf

        try:
            self.ll = llguidance.hf.from_tokenizer(tokenizer, eos_token=eos_ids or None)
        except ValueError as exc:
            raise UserError(f"constrained decoding needs a fast (Rust) tokenizer: {exc}") from None
        self.eos_ids = list(eos_ids or [tokenizer.eos_token_id])
        self.size = self.ll.vocab_size
        self.token_bytes: list[bytes] = [b"" if self.ll.is_special_token(i) else self.ll.decode_bytes([i])
                                         for i in range(self.size)]
        self.by_bytes: dict[bytes, list[int]] = {}  # a byte-fallback token and a normal one may hold the same bytes
        for i, data in enumerate(self.token_bytes):
            if data:
                self.by_bytes.setdefault(data, []).append(i)
        self.longest = max((len(b) for b in self.by_bytes), default=1)
        self._flags: dict[bytes, Any] = {}
        self._counts: dict[bytes, int] = {}
        self.executor = llguidance.LLExecutor()

    def greedy(self, data: bytes) -> list[int]:
        """Longest-match tokenization of `data` (what the guard forces, token by token)."""
        out, pos = [], 0
        while pos < len(data):
            for size in range(min(self.longest, len(data) - pos), 0, -1):
                tokens = self.by_bytes.get(data[pos:pos + size])
                if tokens:
                    out.append(tokens[0])
                    pos += size
                    break
            else:
                return out + [-1] * (len(data) - pos)  # a byte no token holds: counted, never forced
        return out

    def count_tokens(self, data: bytes) -> int:
        count = self._counts.get(data)
        if count is None:
            if len(self._counts) > 65536:
                self._counts.clear()
            count = self._counts[data] = len(self.greedy(data))
        return count

    def holding(self, special: str):
        """Bool tensor over the vocabulary: tokens holding any of the characters in `special`."""
        import torch

        key = special.encode()
        if key not in self._flags:
            wanted = [ch.encode() for ch in set(special)]
            self._flags[key] = torch.tensor([any(w in data for w in wanted) for data in self.token_bytes],
                                            dtype=torch.bool)
        return self._flags[key]

    @property
    def trailing_space(self):
        """Bool tensor over the vocabulary: tokens that end in whitespace."""
        import torch

        if b" " not in self._flags:
            ends = [data.decode("utf-8", errors="ignore")[-1:].isspace() for data in self.token_bytes]
            self._flags[b" "] = torch.tensor(ends, dtype=torch.bool)
        return self._flags[b" "]

    @property
    def partial(self):
        """Bool tensor over the vocabulary: tokens whose bytes are not whole UTF-8 characters (byte fallback)."""
        import torch

        if b"" not in self._flags:
            self._flags[b""] = torch.tensor([not _whole(data) for data in self.token_bytes], dtype=torch.bool)
        return self._flags[b""]


def _whole(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def eos_ids_of(tokenizer: Any, model: Any = None) -> list[int]:
    """The ids that end an answer: the model's generation config's EOS (one or a list), else the tokenizer's."""
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    found = list(eos) if isinstance(eos, (list, tuple)) else [eos]
    if tokenizer.eos_token_id is not None:
        found.append(tokenizer.eos_token_id)
    return list(dict.fromkeys(e for e in found if e is not None))


def vocab_of(tokenizer: Any, model: Any = None) -> Vocab:
    eos = eos_ids_of(tokenizer, model)
    key = id(tokenizer)
    held = _CACHE.get(key)
    if held is not None and held[0]() is tokenizer and held[1].eos_ids == eos:
        return held[1]
    vocab = Vocab(tokenizer, eos)
    try:
        ref: Any = weakref.ref(tokenizer)
    except TypeError:
        ref = (lambda t: (lambda: t))(tokenizer)
    _CACHE[key] = (ref, vocab)
    return vocab
