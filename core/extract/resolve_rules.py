"""The name rules of entity resolution: keys, type classes, titles, plurals, acronyms, containment, stated aliases.

    python -c "from core.extract.resolve_rules import acronym_of; print(acronym_of('International Business Machines'))"

Every function here looks at one or two names (and the sentence a name came from); `core.extract.resolve` decides
which names are compared and what a match means. Names arrive already normalised by `core.kg.normalize_name`
(full-width/half-width folding, whitespace), so `（简称北大）` is seen as `(简称北大)` and `，` as `,`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from core.kg.names import normalize_name

FUZZY_THRESHOLD = 90.0  # rapidfuzz.fuzz.ratio (0-100), on case-folded, title-stripped names; see docs/kg.md
FUZZY_MIN_LENGTH = 5  # shorter names are never compared by spelling: `Jon`/`Jan` are different people

# Coarse type classes: two types are compatible when they fall in the same class. A type not listed is its own class
# (case-folded), so `FRUIT` and `ORG` never meet. Generic types say nothing about the entity and count as no type.
_CLASSES = {
    "person": "per person people human 人 人物 人名",
    "organization": "org organization organisation company institution organisation_name 机构 组织 组织机构 公司 "
    "企业 单位",
    "location": "loc location gpe place city country state_or_province province 地点 地名 位置 地理位置 城市 国家",
    "time": "time date datetime 时间 日期",
}
TYPE_CLASS = {t: cls for cls, names in _CLASSES.items() for t in names.split()}
GENERIC_TYPES = frozenset({"misc", "other", "others", "entity", "thing", "unknown", "none", "null", "其他", "实体"})

_TITLES_EN = r"(?:dr|mr|mrs|ms|mx|miss|prof|professor|sir|dame|lord|lady|rev|reverend|hon)"
_TITLE_PREFIX = re.compile(rf"^(?:{_TITLES_EN}\.?\s+)+")
_TITLE_SUFFIX = re.compile(r",?\s+(?:ph\.?\s?d\.?|m\.?d\.?)$")
_TITLES_ZH = ("副教授", "教授", "博士", "先生", "女士", "小姐", "夫人", "老师", "院士", "同志", "医生")
_STOP = frozenset({"of", "and", "the", "for", "&", "de", "du", "des", "la", "le", "von", "van", "a", "an", "in", "on"})
_WORD = re.compile(r"[A-Za-z]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


@lru_cache(maxsize=4096)
def type_class(type_: str | None) -> str | None:
    """The class a type belongs to (`PER`, `person`, `人物` -> `person`); None for no type or a generic one."""
    if not type_:
        return None
    t = normalize_name(type_).casefold()
    if not t or t in GENERIC_TYPES:
        return None
    return TYPE_CLASS.get(t, t)


def is_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


@lru_cache(maxsize=1 << 16)
def strip_titles(key: str) -> str:
    """A case-folded name without honorifics: `dr. ada lovelace` -> `ada lovelace`, `李明教授` -> `李明`.

    Titles are only removed when a name remains (at least one word; two characters for Chinese)."""
    out = _TITLE_PREFIX.sub("", key)
    out = _TITLE_SUFFIX.sub("", out).strip()
    if not out:
        return key
    for title in _TITLES_ZH:
        if out.endswith(title) and len(out) - len(title) >= 2:
            return out[: -len(title)]
    return out


@lru_cache(maxsize=1 << 16)
def singular(key: str) -> str | None:
    """The case-folded name with its last English word made singular (`computers` -> `computer`); None when the
    last word is not plain Latin letters of length >= 4 (nothing to compare)."""
    head, _, last = key.rpartition(" ")
    if len(last) < 4 or not last.isascii() or not last.isalpha():
        return None
    if last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("sses", "shes", "ches", "xes", "zes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    return f"{head} {last}" if head else last


@lru_cache(maxsize=1 << 16)
def acronym_of(name: str) -> str | None:
    """The initials of a name of two or more Latin words, stop words skipped: `National Aeronautics and Space
    Administration` -> `NASA`, `Hewlett-Packard` -> `HP`; None otherwise."""
    if is_cjk(name):
        return None
    words = [w for w in _WORD.findall(name) if w.lower() not in _STOP]
    if len(words) < 2:
        return None
    return "".join(w[0] for w in words).upper()


@lru_cache(maxsize=1 << 16)
def as_acronym(name: str) -> str | None:
    """`IBM`, `I.B.M.` -> `IBM`: a name written as an upper-case acronym of 2-8 letters; None otherwise."""
    s = name.replace(".", "").replace(" ", "")
    if 2 <= len(s) <= 8 and s.isascii() and s.isalpha() and s.isupper():
        return s
    return None


def contained(short: str, long: str) -> bool:
    """Is the case-folded `short` a whole-word start or end of `long` (`lovelace` in `ada lovelace`), or, for Chinese,
    its first or last characters (`清华` in `清华大学`)? Shorter than 3 letters (2 Chinese characters) never is."""
    if len(short) >= len(long):
        return False
    if is_cjk(short):
        return len(short) >= 2 and (long.startswith(short) or long.endswith(short))
    if len(short) < 3 or short in _STOP:
        return False
    return long.startswith(short + " ") or long.endswith(" " + short)


def is_subsequence(short: str, long: str) -> bool:
    """`北大` in `北京大学`: the characters of `short` appear in `long` in order, starting with its first character."""
    if not short or len(short) >= len(long) or short[0] != long[0]:
        return False
    it = iter(long)
    return all(ch in it for ch in short)


# What a document says right after a name X to give its other name Y ("X (简称Y)", "X, also known as Y"), or to give
# the full name ("Y (全称X)", "Y (short for X)"). Text is normalised first, so full-width brackets are ASCII here.
_MARK_SHORT = (r"以下简称|以下称|下称|简称|又称|又名|亦称|俗称|英文缩写|英文简称|缩写|hereinafter(?: referred to as)?|"
               r"hereafter|abbreviated(?: as)?|also known as|a\.?k\.?a\.?|or simply")  # fmt: skip
_MARK_FULL = r"全称|全名|short for|full name|stands for"
_Q_OPEN, _Q_CLOSE = "[\"“”'‘’「『《]?", "[\"“”'‘’」』》]?"
_BODY = r"[^()\"“”「」『』《》,;；。]{1,60}?"
_AFTER = re.compile(
    rf"\s*(?:\(\s*(?:(?P<full>{_MARK_FULL})|(?P<mark>{_MARK_SHORT}|or(?=\s)))?\s*[:：,]?\s*{_Q_OPEN}(?P<y>{_BODY}){_Q_CLOSE}\s*\)"
    rf"|,\s*(?P<mark2>{_MARK_SHORT})\s*[:：]?\s*{_Q_OPEN}(?P<y2>{_BODY}){_Q_CLOSE}\s*(?=[,;；。.)]|$))",
    re.IGNORECASE,
)


def stated_aliases(name: str, text: str) -> list[tuple[str, str, str]]:
    """(full name, short name, how it was stated) for each place `text` states another name right after `name`.

    With a marker (`简称`, `also known as`, `全称`, ...) any name counts; in bare brackets (`X (Y)`) only an acronym of
    X (`International Business Machines (IBM)`) or, in Chinese, a short form made of X's characters in order
    (`北京大学（北大）`)."""
    out = []
    start = text.find(name)
    while start >= 0:
        m = _AFTER.match(text, start + len(name))
        if m:
            other = (m.group("y") or m.group("y2") or "").strip()
            if other and other != name:
                if m.group("full"):
                    out.append((other, name, m.group("full")))
                elif m.group("mark") or m.group("mark2"):
                    out.append((name, other, (m.group("mark") or m.group("mark2")).lower()))
                elif acronym_of(name) is not None and acronym_of(name) == as_acronym(other):
                    out.append((name, other, "(acronym)"))
                elif is_cjk(name) and is_subsequence(other, name):
                    out.append((name, other, "(short form)"))
        start = text.find(name, start + 1)
    return out
