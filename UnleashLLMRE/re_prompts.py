"""k-shot RE prompts: templates kept as data files in prompts/, label words, and answer -> relation mapping.

    python -c "import sys; sys.path.insert(0, 'UnleashLLMRE'); import re_prompts; print(re_prompts.label_word('per:stateorprovince_of_birth'))"

A template file has three sections, `[header]`, `[demo]` and `[query]` (lines starting with `#` before the first
section are comments). The prompt is the header, one demo line per demonstration, then the query, joined by newlines.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import UserError

PROMPT_DIR = Path(__file__).resolve().parent / "prompts"
VARIANTS = ("text", "text_schema", "instruct", "instruct_schema")
SECTIONS = ("header", "demo", "query")
SAMPLE_FIELDS = ("context", "head", "tail", "head_type", "tail_type")


@dataclass(frozen=True)
class Template:
    name: str
    header: str
    demo: str
    query: str

    def fields(self) -> set[str]:
        return {f for part in (self.header, self.demo, self.query) for _, f, _, _ in string.Formatter().parse(part) if f}

    @property
    def uses_types(self) -> bool:
        return bool({"head_type", "tail_type"} & self.fields())


def read_template(name: str, allowed: set[str] | None = None, prompt_dir: Path = PROMPT_DIR) -> Template:
    """Load prompts/<name>.txt; unknown names, missing sections and unknown {fields} are errors."""
    path = prompt_dir / f"{name}.txt"
    if not path.is_file():
        known = sorted(p.stem for p in prompt_dir.glob("*.txt"))
        raise UserError(f"unknown prompt {name!r}; choose from {', '.join(known)}")
    sections: dict[str, list[str]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        head = line.strip()
        if head.startswith("[") and head.endswith("]") and head[1:-1] in SECTIONS:
            current = head[1:-1]
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
        elif head and not head.startswith("#"):
            raise UserError(f"{path.name}: text before the first [section]: {head[:40]!r}")
    missing = [s for s in SECTIONS if s not in sections]
    if missing:
        raise UserError(f"{path.name}: missing section [{missing[0]}]")
    tpl = Template(name, *("\n".join(sections[s]).strip("\n") for s in SECTIONS))
    allowed = allowed if allowed is not None else {"labels", "label", *SAMPLE_FIELDS}
    unknown = tpl.fields() - allowed
    if unknown:
        raise UserError(f"{path.name}: unknown field {{{sorted(unknown)[0]}}}; known: {', '.join(sorted(allowed))}")
    return tpl


def label_word(relation: str) -> str:
    """The seed's label word: lowercase, `_`/`-` -> space, per -> person, org -> organization, stateor -> state or."""
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


def normalise(text: str) -> str:
    """Lowercase, `_`/`-` as spaces, whitespace collapsed (none around `:`), quotes and end punctuation stripped."""
    text = " ".join(text.lower().replace("_", " ").replace("-", " ").split()).strip(_STRIP)
    return re.sub(r"\s*:\s*", ":", text)


class LabelSet:
    """Relations, their label words, and the exact (normalised) map from an answer back to a relation."""

    def __init__(self, relations: list[str]):
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

    def parse(self, answer: str) -> str | None:
        """The relation an answer names, or None (unparsed). Tries the first line, then its text before the first
        `.`, each as is and with the seed's plural fallback (city -> cities, country -> countries, ...)."""
        line = next((ln for ln in answer.splitlines() if ln.strip()), "")
        for candidate in (line, line.split(".")[0]):
            key = normalise(candidate)
            if key in self._lookup:
                return self._lookup[key]
            for one, many in _PLURALS:
                if one in key and key.replace(one, many) in self._lookup:
                    return self._lookup[key.replace(one, many)]
        return None


def sample_fields(sample: Any) -> dict[str, str | None]:
    return {
        "context": sample.sentence, "head": sample.head, "tail": sample.tail,
        "head_type": type_word(sample.subj_type), "tail_type": type_word(sample.obj_type),
    }


def choose_demos(pool: dict[str, list[Any]], relations: list[str], k: int, rng: random.Random) -> list[Any]:
    """Relations in a shuffled order, up to k randomly chosen demos each (all there are when fewer)."""
    order = list(relations)
    rng.shuffle(order)
    demos: list[Any] = []
    for rel in order:
        candidates = pool.get(rel, [])
        demos.extend(rng.sample(candidates, min(k, len(candidates))))
    return demos


def build_prompt(template: Template, labels: LabelSet, demos: list[Any], sample: Any) -> str:
    """Header with the candidate label words, one line per demo ending in its label word, then the open query."""
    lines = [template.header.format(labels=", ".join(labels.word(r) for r in labels.relations))]
    for demo in demos:
        lines.append(template.demo.format(**sample_fields(demo), label=labels.word(demo.relation)))
    lines.append(template.query.format(**sample_fields(sample)))
    return "\n".join(lines)


def item_rng(seed: int, item_id: Any) -> random.Random:
    """A generator for one test item: same seed and id -> same demos, whichever items a resumed run has left."""
    return random.Random(f"{seed}:{item_id!r}")
