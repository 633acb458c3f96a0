"""tacred: k-shot relation classification of token-offset samples (TACRED, TACREV, Re-TACRED, DeepKE's h/t layout).

    python -c "from core.tasks.tacred import label_word; print(label_word('per:stateorprovince_of_birth'))"

Records: core.records.RESample, read by core.tasks.tacred_data (TACRED or h/t layout); in the pipeline a record is
the dict as read plus its `id` (the position when it has none) and the private `__sample__`.
Prompts: core/prompts/tacred.<variant>.v1.txt (VARIANTS): `## header` names the candidate label words ($labels),
`## demo` is one line per demo ($context $head $tail $head_type $tail_type $label), `## query` the open test item,
`## stop` the stop sequences; `line_prompt` joins them with newlines. Demos: relations shuffled, k random demos each,
drawn per test item from random.Random(f"{seed}:{id!r}") (a resumed run rebuilds the same prompts).
Answers map back to a relation by exact match after normalising (`LabelSet.match`). Status: ok when the first line
names a label; repaired when only its text before the first `.` does, or through the plural fallback; invalid when
the answer has a label's shape (`prefix:words`) but names no known label; unparsable otherwise. The prediction `pr`
is null unless a known label was named; scored by core.metrics.re_scores (null = a wrong positive prediction).
Constrained decoding (`--decoding schema`): the answer format is "label", its schema the candidate label words as a
string `enum` (`label_schema`): the answer is one label word, after at most one space and before at most one `.`
(core.decoding.build.label_tree), which `LabelSet.match` reads as ok.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Sequence
from pathlib import Path
from string import Template
from typing import Any

from core.errors import UserError
from core.metrics import re_scores
from core.parsing.answers import short
from core.prompts import fill, load_sections
from core.records import FAILED, INVALID, OK, REPAIRED, UNPARSABLE, Parsed, RESample
from core.tasks.base import Task, register_task
from core.tasks.tacred_data import as_record, load_samples

VARIANTS = ("text", "text_schema", "instruct", "instruct_schema")
SECTIONS = ("header", "demo", "query")
FIELDS = frozenset({"labels", "label", "context", "head", "tail", "head_type", "tail_type"})
UNIT = "relation"


# ---- label words and answers -------------------------------------------------------------------------------------
def label_word(relation: str) -> str:
    """DeepKE's 2023 label word: lowercase, `_`/`-` -> space, per -> person, org -> organization, stateor -> state or."""
    text = relation.lower().replace("_", " ").replace("-", " ")
    prefix, colon, rest = text.partition(":")
    if colon:
        text = {"per": "person", "org": "organization"}.get(prefix.strip(), prefix) + colon + rest
    return " ".join(text.replace("stateor", "state or ").split())


def type_word(entity_type: str | None) -> str | None:
    """An entity type as the *_schema prompts show it: lowercase, `_` -> space, misc -> miscellaneous."""
    if entity_type is None:
        return None
    word = " ".join(entity_type.lower().replace("_", " ").split())
    return "miscellaneous" if word == "misc" else word


_STRIP = " \t\"'`.,;:!*"
_PLURALS = (("city", "cities"), ("country", "countries"), ("province", "provinces"))
_LABEL_SHAPED = re.compile(r"[\w ]{1,30}:[\w /,()'&-]{1,80}")


def normalise(text: str) -> str:
    """Lowercase, `_`/`-` as spaces, whitespace collapsed (none around `:`), quotes and end punctuation stripped."""
    text = " ".join(text.lower().replace("_", " ").replace("-", " ").split()).strip(_STRIP)
    return re.sub(r"\s*:\s*", ":", text)


class LabelSet:
    """Relations, their label words, and the exact (normalised) map from an answer back to a relation."""

    def __init__(self, relations: Sequence[str]):
        self.relations = list(relations)
        self.words = {r: label_word(r) for r in self.relations}
        self._lookup: dict[str, str] = {}
        for rel in self.relations:
            for key in {normalise(self.words[rel]), normalise(rel)}:
                other = self._lookup.setdefault(key, rel)
                if other != rel:
                    raise UserError(f"relations {other!r} and {rel!r} have the same label word {key!r}")

    def word(self, relation: str) -> str:
        return self.words[relation]

    def match(self, answer: str) -> tuple[str | None, str]:
        """(relation, status) an answer names: its first line (ok), else the first line's text before the first `.`
        or DeepKE's 2023 plural fallback (repaired: city -> cities, ...); (None, key tried last) when none matches."""
        line = next((ln for ln in (answer or "").splitlines() if ln.strip()), "")
        key = ""
        for n, candidate in enumerate((line, line.split(".")[0])):
            key = normalise(candidate)
            if key in self._lookup:
                return self._lookup[key], OK if n == 0 else REPAIRED
            for one, many in _PLURALS:
                if one in key and key.replace(one, many) in self._lookup:
                    return self._lookup[key.replace(one, many)], REPAIRED
        return None, key

    def parse(self, answer: str) -> str | None:
        return self.match(answer)[0]


@functools.lru_cache(maxsize=8)
def _label_set(labels: tuple[str, ...]) -> LabelSet:
    return LabelSet(labels)


def label_schema(relations: Sequence[str]) -> dict:
    """The answer schema of a label answer: the relations' label words, as the prompt's header names them."""
    labels = _label_set(tuple(relations))
    return {"type": "string", "enum": [labels.word(r) for r in labels.relations]}


# ---- prompts -----------------------------------------------------------------------------------------------------
def template(variant: str, fields: frozenset[str] = FIELDS) -> dict[str, str]:
    """The header / demo / query sections of a prompt file (`tacred.<variant>` or a full name); unknown `$names`
    are refused here, not at the first prompt."""
    name = variant if "." in variant else f"tacred.{variant}"
    sections = load_sections(name, required=SECTIONS)
    unknown = {f for s in SECTIONS for f in Template(sections[s]).get_identifiers()} - fields
    if unknown:
        raise UserError(f"prompt {name}: unknown field ${sorted(unknown)[0]}; known: {', '.join(sorted(fields))}")
    return sections


def uses_types(variant: str) -> bool:
    sections = template(variant)
    return any({"head_type", "tail_type"} & set(Template(sections[s]).get_identifiers()) for s in SECTIONS)


def line_prompt(sections: dict[str, str], common: dict, demos: list[dict], query: dict | None = None) -> str:
    """Header, one line per demo, then the query, joined by newlines (each filled with `common` + its own values)."""
    return "\n".join([fill(sections["header"], common), *(fill(sections["demo"], {**common, **d}) for d in demos),
                      fill(sections["query"], {**common, **(query or {})})])


def sample_fields(sample: RESample) -> dict[str, str | None]:
    return {"context": sample.sentence, "head": sample.head, "tail": sample.tail,
            "head_type": type_word(sample.subj_type), "tail_type": type_word(sample.obj_type)}


def choose_demos(pool: dict[str, list[RESample]], relations: list[str], k: int, rng: random.Random) -> list[RESample]:
    """Relations in a shuffled order, up to k randomly chosen demos each (all there are when fewer)."""
    order = list(relations)
    rng.shuffle(order)
    demos: list[RESample] = []
    for rel in order:
        candidates = pool.get(rel, [])
        demos.extend(rng.sample(candidates, min(k, len(candidates))))
    return demos


def item_rng(seed: int, item_id: Any) -> random.Random:
    """A generator for one test item: same seed and id -> same demos, whichever items a resumed run has left."""
    return random.Random(f"{seed}:{item_id!r}")


def build_prompt(variant: str, labels: LabelSet, demos: list[RESample], sample: RESample) -> str:
    """Header with the candidate label words, one line per demo ending in its label word, then the open query."""
    common = {"labels": ", ".join(labels.word(r) for r in labels.relations)}
    shown = [{**sample_fields(d), "label": labels.word(d.relation)} for d in demos]
    return line_prompt(template(variant), common, shown, sample_fields(sample))


# ---- the task ----------------------------------------------------------------------------------------------------
class TACRED(Task):
    name = "tacred"
    pred_field = "pr"
    units = (UNIT,)

    def read(self, path: str | Path, data_format: str = "auto") -> list[dict]:
        return [as_record(s) for s in load_samples(path, data_format)]

    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        if not labels:
            raise UserError("task tacred: reading an answer needs the label list")
        relation, how = _label_set(tuple(labels)).match(text)
        if relation is not None:
            return Parsed(relation, how)
        parsed = Parsed(None, INVALID if _LABEL_SHAPED.fullmatch(how) else UNPARSABLE)
        if parsed.status == INVALID:
            parsed.flag(f"relation {how!r} is not one of the {len(labels)} labels", UNIT)
        else:
            parsed.flag(f"no relation in the answer {short(text or '')!r}", UNIT)
        return parsed

    def has_gold(self, rec: dict) -> bool:
        return rec.get("relation") is not None

    def answer_format(self, rec: dict) -> str:
        return "label"

    def answer_schema(self, rec: dict, labels: list[str] | None) -> dict | None:
        return label_schema(labels) if labels else None

    def score(self, pairs: list[tuple[dict, Parsed]], labels: list[str] | None = None, language: str = "en") -> dict:
        return re_scores([rec["relation"] for rec, _ in pairs], [parsed.pred for _, parsed in pairs], labels,
                         failed=sum(parsed.status == FAILED for _, parsed in pairs))

    def output_fields(self, rec: dict, parsed: Parsed) -> dict:
        return {"pr": parsed.pred}


register_task(TACRED())


def format_table(metrics: dict) -> str:
    """re_scores' result as a small text table for the terminal."""
    lines = [f"n={metrics['n']} acc={metrics['acc']:.4f} micro_p={metrics['micro_p']:.4f} "
             f"micro_r={metrics['micro_r']:.4f} micro_f1={metrics['micro_f1']:.4f} unparsed={metrics['unparsed']} "
             f"failed={metrics['failed']} negative_label={metrics['negative_label']}"]
    width = max([len("relation"), *(len(r) for r in metrics["per_relation"])])
    lines.append(f"{'relation':<{width}}  {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'pred':>4} {'gold':>4}")
    for rel, s in metrics["per_relation"].items():
        lines.append(f"{rel:<{width}}  {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} "
                     f"{s['tp']:4d} {s['n_pred']:4d} {s['n_gold']:4d}")
    return "\n".join(lines)
