"""Schema batches of `split_num`, schema order and negative schema items (IEPile's rules, our code).

    python -c "from core.iepile.batches import split_batches; print(split_batches(list('abcdefghij'), 4))"

Rules (zjunlp/IEPile README, "Hard Negative Schema" and "Batched Instruction Generation", and its converter):
- Batches: consecutive runs of `split_num` schema items; a remainder of at least max(1, split_num // 2) items is a
  batch of its own, a shorter one joins the last batch (split_num 4: 9 items -> 4, 5; 10 -> 4, 4, 2). -1: one
  batch.
- Training, random negatives: the positive items (the gold types of the input) plus negatives drawn from the schema
  minus the gold types. `neg_ratio` 1 (IEPile's default) takes every negative; 0 none (an input without gold then
  gives no training record); in between, each schema item is a draw with that probability (at least one negative
  when the input has no gold).
- Training, hard negatives (a user file {type: [confusable types]}): positives + their confusable types that are in
  the schema + up to `split_num` other schema items at random; an input without gold gets random items drawn at
  neg_ratio / 2 (at least one).
- EE: every chosen event type asks its argument roles: a gold type its gold roles plus negative roles drawn the same
  way, a negative type roles drawn from its own (at least one).
- Order: alphabetical, or shuffled with `random_sort`. Test time: the whole schema of the input, alphabetical, in
  batches (every batch is asked; the answers are merged, core.iepile.predict).
Every draw comes from `random.Random(f"{seed}:{index of the input}")`: the same seed gives the same records, and an
input's draws do not depend on the inputs before it.

The schema is the project's one schema, core.schema.Schema: a task asks about `schema.labels(task)` (NER entity
types, RE relation types, EE event types with the roles in `schema.events`). `label_schema(task, names, roles)` and
`Schema(types, roles)` make one from a list of names; `read_schema` reads IEPile's schema files
(core.schema.Schema.load).
"""

from __future__ import annotations

import random
from pathlib import Path

from core.io import DataError, read_json
from core.schema import Schema as CoreSchema


def label_schema(task: str | None, names: list[str], roles: dict[str, list[str]] | None = None) -> CoreSchema:
    """A core.schema.Schema whose labels for `task` are `names` (EE: each with its roles from `roles`). Without a
    task: event types when `roles` is given, else a bare list of names (as a plain JSON list file is read), which
    `labels` gives to any task."""
    names = list(dict.fromkeys(names))
    if task == "EE" or (task is None and roles is not None):
        return CoreSchema(events={t: list((roles or {}).get(t, [])) for t in names})
    if task == "NER":
        return CoreSchema(entity_types=names)
    return CoreSchema(relation_types=names)


def Schema(types: list[str], roles: dict[str, list[str]] | None = None) -> CoreSchema:  # noqa: N802
    """`Schema(types)` / `Schema(event types, {type: [roles]})`: a label list as a core.schema.Schema (what a plain
    JSON list / an EE schema file reads as); the constructor IEPile's callers use, not a second schema class."""
    return label_schema(None, types, roles)


def items(task: str, types: list[str], roles: dict[str, list[str]]) -> list:
    """Instruction schema items for `types` (EE: objects asking `roles[type]`)."""
    if task != "EE":
        return list(types)
    return [{"event_type": t, "trigger": True, "arguments": list(roles.get(t, []))} for t in types]


def read_schema(path: str | Path) -> CoreSchema:
    """A schema file: IEPile's schema.json (three JSON lines), a JSON list of types, a JSON object {event type:
    [roles]}, or our schema JSON; core.schema.Schema.load reads them all."""
    return CoreSchema.load(path)


def _strings(value, path, line, what) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise DataError(path, line, f"expected a JSON list of {what} (strings)")
    return list(dict.fromkeys(x.strip() for x in value if x.strip()))


def read_hard_negatives(path: str | Path) -> dict[str, list[str]]:
    """{type: [confusable types]} from a JSON file (IEPile's hard_dict.json layout)."""
    value = read_json(path)
    if not isinstance(value, dict):
        raise DataError(path, None, "expected a JSON object {type: [confusable types]}")
    return {str(k): _strings(v, path, None, f"confusable types of {k!r}") for k, v in value.items()}


def split_batches(items: list, split_num: int) -> list[list]:
    """Consecutive batches of `split_num` (the remainder rule above); [] for no items, one batch for -1."""
    if not items:
        return []
    if split_num == -1 or len(items) <= split_num:
        return [list(items)]
    if split_num < 1:
        raise ValueError(f"split_num must be -1 or >= 1, got {split_num}")
    full = len(items) // split_num * split_num
    batches = [list(items[i:i + split_num]) for i in range(0, full, split_num)]
    rest = list(items[full:])
    if len(rest) >= max(1, split_num // 2):
        batches.append(rest)
    else:
        batches[-1].extend(rest)
    return batches


def _draws(rng: random.Random, n: int, ratio: float) -> int:
    """How many of n items a per-item probability `ratio` keeps (a binomial draw)."""
    return sum(rng.random() < ratio for _ in range(n))


def _sample(rng: random.Random, pool: list[str], k: int) -> list[str]:
    return rng.sample(pool, min(k, len(pool)))


def choose_types(positive: list[str], universe: list[str], rng: random.Random, *, neg_ratio: float = 1.0,
                 hard: dict[str, list[str]] | None = None, split_num: int = 4) -> list[str]:
    """Positive types + negative types for one training input (unordered; see the rules above)."""
    positive = list(dict.fromkeys(positive))
    negatives = [t for t in universe if t not in positive]
    if hard is not None:
        if not positive:
            return _sample(rng, universe, max(_draws(rng, len(universe), neg_ratio / 2), 1))
        confusable = [t for p in positive for t in hard.get(p, []) if t in negatives]
        confusable = list(dict.fromkeys(confusable))
        others = [t for t in negatives if t not in confusable]
        return positive + confusable + _sample(rng, others, split_num)
    if neg_ratio >= 1:
        return positive + negatives
    if neg_ratio <= 0:
        return positive
    k = _draws(rng, len(universe), neg_ratio)
    return positive + _sample(rng, negatives, max(k, 1) if not positive else k)


def choose_roles(gold_roles: list[str], roles: list[str], rng: random.Random, neg_ratio: float) -> list[str]:
    """EE: the gold roles of a type + negative roles drawn from its other roles (at least one role when no gold)."""
    gold_roles = list(dict.fromkeys(gold_roles))
    negatives = [r for r in roles if r not in gold_roles]
    if neg_ratio >= 1:
        return gold_roles + negatives
    k = _draws(rng, len(roles), neg_ratio) if neg_ratio > 0 else 0
    return gold_roles + _sample(rng, negatives, max(k, 1) if not gold_roles else k)


def ordered(items: list[str], rng: random.Random, random_sort: bool) -> list[str]:
    out = list(items)
    if random_sort:
        rng.shuffle(out)
    else:
        out.sort()
    return out


def train_batches(task: str, gold: list[dict], schema: CoreSchema, rng: random.Random, *, split_num: int,
                  neg_ratio: float = 1.0, hard: dict[str, list[str]] | None = None,
                  random_sort: bool = False) -> list[list]:
    """The instruction schemas (one per training record) of one input with gold items `gold`."""
    key = {"NER": "entity_type", "RE": "relation", "EE": "event_type"}[task]
    positive = [it[key] for it in gold]
    types = choose_types(positive, schema.labels(task), rng, neg_ratio=neg_ratio, hard=hard, split_num=split_num)
    if not types:
        return []
    types = ordered(types, rng, random_sort)
    role_lists = None
    if task == "EE":
        role_lists = {}
        for t in types:
            gold_roles = [a["role"] for ev in gold if ev["event_type"] == t for a in ev["arguments"]]
            role_lists[t] = ordered(choose_roles(gold_roles, schema.events.get(t, []), rng, neg_ratio), rng,
                                    random_sort)
    return [items(task, batch, role_lists or {}) for batch in split_batches(types, split_num)]


def test_batches(task: str, schema: CoreSchema, split_num: int) -> list[list]:
    """Every schema item of the input, alphabetical (EE roles too), in batches of split_num."""
    types = schema.labels(task)
    roles = {t: sorted(schema.events.get(t, [])) for t in types}
    return [items(task, batch, roles) for batch in split_batches(sorted(types), split_num)]
