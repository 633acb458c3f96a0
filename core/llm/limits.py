"""Client-side rate limits (token buckets for requests/min and tokens/min) and retry waits (backoff, Retry-After).

    python -c "from core.llm.limits import backoff_delay; print([round(backoff_delay(a, 1.0, 60.0), 2) for a in range(4)])"
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import threading
import time
from collections.abc import Mapping


class TokenBucket:
    """`per_minute` units a minute, refilled continuously; holds at most `burst_seconds` worth (at least 1).

    `acquire(n)` reserves n units and returns how long the caller must sleep before using them; reservations queue
    in call order, so concurrent callers are spread out instead of all waking at once. A request larger than the
    bucket waits for a full bucket and then goes (it is never refused).
    """

    def __init__(self, per_minute: float, burst_seconds: float = 1.0, clock=time.monotonic):
        self.rate = float(per_minute) / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self._tokens = self.capacity
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self, amount: float = 1.0) -> float:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            need = min(float(amount), self.capacity)
            wait = 0.0 if self._tokens >= need else (need - self._tokens) / self.rate
            self._tokens -= float(amount)
            return wait

    def refund(self, amount: float) -> None:
        """Give back units reserved but not used (e.g. a token estimate that was too high); negative charges more."""
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + float(amount))


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: about base * 2**attempt (between half and all of it), at most `cap`."""
    full = min(cap, base * (2 ** attempt))
    return full / 2 + (rng or random).uniform(0, full / 2)


def retry_after(headers: Mapping[str, str] | None, cap: float = 600.0) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, `Retry-After` in seconds or as an HTTP date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return min(cap, max(0.0, float(value) / 1000.0))
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(cap, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(cap, max(0.0, when.timestamp() - time.time()))


# CJK: kana, CJK ideographs (+ extension A, compatibility), hangul syllables: one token per character
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_RE = re.compile(f"[{CJK}]")


def text_tokens(text: str) -> int:
    """The one token estimate for text whose tokenizer we do not have (API models): one token per CJK character
    plus one per 4 other characters (OpenAI's rule of thumb for English), rounded up. It errs on the long side for
    English; ~4 characters a token for everything would count Chinese 4x too low. Chunking (core.extract.chunking)
    and the tokens/min limit both use it."""
    cjk = len(_CJK_RE.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def estimate_tokens(text: str, max_tokens: int | None, n: int = 1) -> int:
    """Tokens a request may use, for the tokens/min limit: the prompt's `text_tokens` (at least 1), plus max_tokens
    per answer."""
    return max(1, text_tokens(text)) + int(max_tokens or 16) * max(1, int(n))
