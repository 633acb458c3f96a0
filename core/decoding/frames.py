"""One frame per open node of a constraint tree: how it takes the next character and what closes it shortest.

    python -c "from core.decoding.frames import frame_of; from core.decoding.tree import Lit; f = frame_of(Lit('ab')); print(f.feed('a'), f.rest())"

Used by core.decoding.track.Tracker. Each frame's `feed(ch)` answers CONSUMED, DONE (consumed, and the node is
complete), REJECT (the node was complete: the character belongs to the parent), LOST (not a text of the grammar), or a
child frame to push and feed; `rest()` is the shortest text that completes the node from where it stands.
"""

from __future__ import annotations

from core.decoding.tree import AnyJson, Choice, Lit, Rep, Seq, Text, min_char, minimal, minimal_json, tails

CONSUMED, DONE, REJECT, LOST = range(4)
GENERIC_JSON = ({}, {"type": "object"}, {"type": "array"})


def _minimal(node: object) -> str | None:
    return minimal(node)


class LitFrame:
    def __init__(self, node: Lit):
        self.text, self.k = node.text, 0

    def feed(self, ch: str):
        if self.k < len(self.text) and self.text[self.k] == ch:
            self.k += 1
            return DONE if self.k == len(self.text) else CONSUMED
        return REJECT if self.k == len(self.text) else LOST

    def rest(self) -> str | None:
        return self.text[self.k:]


class TextFrame:
    def __init__(self, node: Text):
        self.node, self.state, self.content, self.hex = node, 0 if node.quoted else 1, "", 0

    def feed(self, ch: str):
        node = self.node
        if node.quoted and self.state == 0:
            if ch != '"':
                return LOST
            self.state = 1
            return CONSUMED
        if self.state == 2:  # after a backslash (free strings only)
            if ch == "u":
                self.state, self.hex = 3, 0
            elif ch in '"\\/bfnrt':
                self.state, self.content = 1, self.content + "?"
            else:
                return LOST
            return CONSUMED
        if self.state == 3:
            self.hex += 1
            if self.hex == 4:
                self.state, self.content = 1, self.content + "?"
            return CONSUMED
        if node.quoted and ch == '"':
            return LOST if node.named and not self.content else DONE
        if node.quoted and ch == "\\" and node.kind == "free":
            self.state = 2
            return CONSUMED
        if ch in node.exclude:
            return LOST if node.quoted or not self.content else REJECT
        if node.kind == "copy" and self.content + ch not in node.source:
            return LOST
        self.content += ch
        return CONSUMED

    def rest(self) -> str | None:
        node = self.node
        body = ""
        if not self.content and node.named:
            body = min_char(node)
            if body is None:
                return None
        elif self.content and self.content[-1].isspace() and node.named:
            body = self._past_space()
            if body is None:
                return None
        if not node.quoted:
            return body
        if self.state == 0:
            return f'"{body}"'
        if self.state == 2:
            return 'n"'
        if self.state == 3:
            return "0" * (4 - self.hex) + '"'
        return body + '"'


    def _past_space(self) -> str | None:
        """The shortest continuation of a name that ends in whitespace up to a character that is not."""
        node = self.node
        if node.kind != "copy":
            return min_char(node)
        best, size, start = None, len(self.content), node.source.find(self.content)
        while start >= 0:
            end = start + size
            while end < len(node.source) and node.source[end].isspace() and node.source[end] not in node.exclude:
                end += 1
            if end < len(node.source) and node.source[end] not in node.exclude:
                grown = node.source[start + size:end + 1]
                if best is None or len(grown) < len(best):
                    best = grown
            start = node.source.find(self.content, start + 1)
        return best


class ChoiceFrame:
    def __init__(self, node: Choice):
        self.options, self.prefix = node.options, ""

    def feed(self, ch: str):
        grown = self.prefix + ch
        if any(o.startswith(grown) for o in self.options):
            self.prefix = grown
            longer = any(o != grown and o.startswith(grown) for o in self.options)
            return DONE if grown in self.options and not longer else CONSUMED
        return REJECT if self.prefix in self.options else LOST

    def rest(self) -> str | None:
        fits = [o for o in self.options if o.startswith(self.prefix)]
        return min(fits, key=lambda o: (len(o.encode()), o))[len(self.prefix):] if fits else None


class SeqFrame:
    def __init__(self, node: Seq):
        self.parts, self.i, self.tails = node.parts, 0, tails(node)

    def feed(self, ch: str):
        if self.i == len(self.parts):
            return REJECT
        self.i += 1
        return frame_of(self.parts[self.i - 1])

    def rest(self) -> str | None:
        return self.tails[self.i]


class RepFrame:
    def __init__(self, node: Rep):
        self.node, self.count = node, 0
        self.state = "open" if node.open else "first"

    def feed(self, ch: str):
        node = self.node
        if self.state == "open":
            self.state = "first"
            return LitFrame(Lit(node.open))
        if self.state == "closed":
            return REJECT
        if self.state in ("first", "after_item"):
            if node.close and ch == node.close[0]:
                self.state = "closed"
                return LitFrame(Lit(node.close))
            if self.state == "after_item" and node.sep:
                if ch != node.sep[0]:
                    return REJECT if not node.close else LOST
                self.state = "after_sep"
                return LitFrame(Lit(node.sep))
        self.state, self.count = "after_item", self.count + 1
        return frame_of(node.item)

    def rest(self) -> str | None:
        node = self.node
        if self.state == "open":
            return _minimal(node)
        if self.state == "closed":
            return ""
        missing = max(node.min_items - self.count, 0)
        item = _minimal(node.item) if missing or self.state == "after_sep" else ""
        if item is None:
            return None
        if self.state == "after_sep":
            return node.sep.join([item] * max(missing, 1)) + node.close
        lead = node.sep if self.state == "after_item" else ""
        return (lead + node.sep.join([item] * missing) if missing else "") + node.close


class AnyFrame:
    """Any JSON value; the shortest closing is known for generic schemas (any object/array/value), else only before
    it starts."""

    def __init__(self, node: AnyJson):
        self.node, self.stack, self.scalar, self.started, self.done = node, [], None, False, False
        schema = {k: v for k, v in node.schema.items() if k != "x-guidance"}
        self.generic = schema in GENERIC_JSON

    def _value_done(self, is_key: bool = False) -> None:
        if is_key:
            self.stack[-1][1] = "c"
        elif self.stack:
            self.stack[-1][1] = "n"
        else:
            self.done = True

    def feed(self, ch: str):
        self.started = True
        if self.done:
            return REJECT
        s = self.scalar
        if s is not None and s[0] == "s":
            if s[2] == "esc":
                s[2] = "u0" if ch == "u" else ""
            elif s[2].startswith("u"):
                n = int(s[2][1:]) + 1
                s[2] = "" if n == 4 else f"u{n}"
            elif ch == "\\":
                s[2] = "esc"
            elif ch == '"':
                self.scalar = None
                self._value_done(s[1])
            return DONE if self.done else CONSUMED
        if s is not None and s[0] == "num":
            if ch in "0123456789+-.eE":
                s[1] += ch
                return CONSUMED
            self.scalar = None
            self._value_done()
            if self.done:
                return REJECT
        elif s is not None and s[0] == "word":
            s[1] = s[1][1:]
            if not s[1]:
                self.scalar = None
                self._value_done()
            return DONE if self.done else CONSUMED
        top = self.stack[-1] if self.stack else None
        if ch in '{["-0123456789tfn' and top is not None:
            is_key = ch == '"' and top[0] == "o" and top[1] in ("k0", "k")
            top[1] = "c" if is_key else "n"  # the parent's closing no longer needs a value
        if ch in "{[":
            self.stack.append(["o" if ch == "{" else "a", "k0" if ch == "{" else "v0"])
        elif ch == '"':
            self.scalar = ["s", bool(top and top[1] == "c"), ""]
        elif ch in "-0123456789":
            self.scalar = ["num", ch]
        elif ch in "tfn":
            self.scalar = ["word", {"t": "rue", "f": "alse", "n": "ull"}[ch]]
        elif ch == "," and top:
            top[1] = "k" if top[0] == "o" else "v"
        elif ch == ":" and top:
            top[1] = "v"
        elif ch in "}]" and top:
            self.stack.pop()
            self._value_done()
        else:
            return LOST
        return DONE if self.done else CONSUMED

    def rest(self) -> str | None:
        if not self.started:
            return minimal_json(self.node.schema)
        if not self.generic:
            return None
        out = []
        s = self.scalar
        if s is not None and s[0] == "s":
            out.append(("n" if s[2] == "esc" else "0" * (4 - int(s[2][1:])) if s[2] else "") + '"')
        elif s is not None and s[0] == "num":
            out.append("0" if s[1][-1] in "+-.eE" else "")
        elif s is not None:
            out.append(s[1])
        closers = {("o", "k0"): "}", ("o", "n"): "}", ("o", "k"): '"":null}', ("o", "c"): ":null}",
                   ("o", "v"): "null}", ("a", "v0"): "]", ("a", "n"): "]", ("a", "v"): "null]"}
        out.extend(closers[(kind, state)] for kind, state in reversed(self.stack))
        return "".join(out)


def frame_of(node: object):
    kinds = {Lit: LitFrame, Text: TextFrame, Choice: ChoiceFrame, Seq: SeqFrame, Rep: RepFrame, AnyJson: AnyFrame}
    return kinds[type(node)](node)


def copy_frame(frame):
    new = object.__new__(type(frame))
    new.__dict__.update(frame.__dict__)
    if isinstance(frame, AnyFrame):
        new.stack = [list(x) for x in frame.stack]
        new.scalar = list(frame.scalar) if frame.scalar is not None else None
    return new
