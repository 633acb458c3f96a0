"""Samples -> IEPile training records (task, source, instruction, input, output) and test records (id, task, source,
instruction, label): one record per schema batch.

    python -c "from core.iepile.convert import to_train_records; print(to_train_records([{'id': 0, 'text': 'Ann left.', 'gold': [{'entity': 'Ann', 'entity_type': 'person'}]}], 'NER', 'en')[0]['output'])"

A training record's `input` is empty (the text is inside the instruction object); IEPile's published records have no
such field, the alpaca-style readers (InstructKGC/finetune.py's among them) take an empty one as none. The schema
of an input is its own (`schema` of the sample: a CCKS2023 record's candidate relations), else the
schema given (a schema file), else every type the file's gold shows (EE: with every role seen for it). Batching,
order and negatives: core.iepile.batches.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from core.iepile.batches import label_schema, test_batches, train_batches
from core.iepile.spec import GOLD_KEY, SPLIT_NUM, answer_text, instruction_text, norm_language, norm_task
from core.io import DataError
from core.schema import Schema

TYPE_KEY = {"NER": "entity_type", "RE": "relation", "EE": "event_type"}


def schema_of_gold(samples: list[dict], task: str) -> Schema:
    """Every type the samples' gold (and own schemas) show, alphabetical; EE: every role seen per event type."""
    types: set[str] = set()
    roles: dict[str, set[str]] = {}
    for s in samples:
        types.update(s.get("schema") or [])
        for it in s.get("gold") or []:
            types.add(it[TYPE_KEY[task]])
            if task == "EE":
                roles.setdefault(it["event_type"], set()).update(a["role"] for a in it["arguments"])
    return label_schema(task, sorted(types), {t: sorted(r) for t, r in roles.items()})


def _schema_for(sample: dict, schema: Schema, task: str) -> Schema:
    own = sample.get("schema")
    return label_schema(task, list(own), schema.events) if own else schema


def _source(sample: dict, source: str | None) -> str:
    return sample.get("source") or source or "None"


def to_train_records(samples: list[dict], task: str, language: str, schema: Schema | None = None, *,
                  split_num: int | None = None, seed: int = 42, neg_ratio: float = 1.0,
                  hard: dict[str, list[str]] | None = None, random_sort: bool = False, source: str | None = None,
                  path: str | Path = "<samples>") -> list[dict]:
    """IEPile training records of every sample (each needs gold); deterministic for a given seed."""
    task, language = norm_task(task), norm_language(language)
    split_num = SPLIT_NUM[task] if split_num is None else split_num
    schema = schema or schema_of_gold(samples, task)
    out = []
    for i, sample in enumerate(samples):
        if sample["gold"] is None:
            raise DataError(path, sample.get("__line__"), "no annotation to train on", field=GOLD_KEY[task])
        rng = random.Random(f"{seed}:{i}")
        batches = train_batches(task, sample["gold"], _schema_for(sample, schema, task), rng, split_num=split_num,
                                neg_ratio=neg_ratio, hard=hard, random_sort=random_sort)
        for batch in batches:
            out.append({"task": task, "source": _source(sample, source),
                        "instruction": instruction_text(task, language, batch, sample["text"]), "input": "",
                        "output": answer_text(task, batch, sample["gold"])})
    return out


def to_test_records(samples: list[dict], task: str, language: str, schema: Schema | None = None, *,
                 split_num: int | None = None, source: str | None = None,
                 path: str | Path = "<samples>") -> list[dict]:
    """IEPile test records: every schema batch of every sample, with the sample's id (its `id`, else its position;
    unique per source: the batches of an input are merged by it); `label` (the gold as a JSON string, as IEPile
    writes it) when the sample has gold."""
    task, language = norm_task(task), norm_language(language)
    split_num = SPLIT_NUM[task] if split_num is None else split_num
    schema = schema or schema_of_gold(samples, task)
    out, seen = [], set()
    for sample in samples:
        key = (_source(sample, source), sample["id"])
        if key in seen:
            raise DataError(path, sample.get("__line__"), f"duplicate id {sample['id']!r}: the batches of an input "
                            "are merged by source and id", field="id")
        seen.add(key)
        for batch in test_batches(task, _schema_for(sample, schema, task), split_num):
            rec = {"id": sample["id"], "task": task, "source": _source(sample, source),
                   "instruction": instruction_text(task, language, batch, sample["text"])}
            if sample["gold"] is not None:
                rec["label"] = json.dumps(sample["gold"], ensure_ascii=False)
            out.append(rec)
    return out
