"""Named things of one kind (tasks, backends, templates, export formats, ...): the one rule for adding them.

    python -c "from core.registry import Registry; r = Registry('color'); r.add('red', 1); print(dict(r))"

A `Registry` is a dict (lookups, `in`, iteration in registration order, `sorted(...)` are the dict's) whose `add`
refuses a name that is already taken, so that a plug-in cannot silently replace a built-in. Each module keeps its own
lookup with the error message its users see (an unknown `--task`, `--format`, ...).
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class Registry(dict):
    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def add(self, name: str, item: T) -> T:
        """Register `item` under `name`; ValueError when the name is taken."""
        if name in self:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self[name] = item
        return item
