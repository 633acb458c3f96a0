"""Task prompts as data: one file format for every task, versioned names, one loader.

    python -c "from core.prompts import load_sections, prompt_names; print(prompt_names()[:3], sorted(load_sections('ner.en')))"

A task prompt is what a task asks (instruction, answer format, demos, the record). It is not the model-side
wrapper (alpaca, chatglm, a tokenizer's chat template): that is `core.templates`, applied later by the backend.

Files: core/prompts/<task>.<language>.v<N>.txt (e.g. `rte.en.v1`); a name without its version means the highest
version there is. A file is a few sections, each starting with a line `## name`; text before the first one is a
comment. Placeholders are `$name` (string.Template), so JSON and code braces need no escaping. `## stop` lists the
stop sequences of the prompt, one per line (`\n` is a newline): the text a model writes when it starts inventing the
next demo. Sections the LLMICL-style tasks use (other tasks put their prompts together from their own sections):
  instruction      the task's own instruction ($domain_clause and $labels_clause are filled in)
  domain_clause    added to the instruction when `domain` is set ($domain)
  labels_clause    added to the instruction when `labels` is set ($labels, comma-separated)
  format           the JSON answer the parser expects; always included, also after a custom instruction
  format_<style>   used instead of `format` for another answer style (rte: format_ccks, the CCKS2023 form)
  examples         header before the demos (few-shot only)
  demo             one demo ($text, $answer and the task's fields)
  query            the record to answer ($text and the task's fields)
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from string import Template
from typing import Any

from core.errors import UserError

PROMPTS = Path(__file__).resolve().parent
REQUIRED = ("instruction", "domain_clause", "labels_clause", "format", "examples", "demo", "query")
_NAME = re.compile(r"^(?P<base>[\w-]+\.[\w-]+)\.v(?P<version>\d+)$")


def prompt_names() -> list[str]:
    """Every prompt file's full name (`ner.en.v1`, ...), sorted."""
    return sorted(p.name[: -len(".txt")] for p in PROMPTS.glob("*.v*.txt") if _NAME.match(p.name[: -len(".txt")]))


def resolve_name(name: str) -> str:
    """`ner.en` -> its highest version (`ner.en.v1`); a full name is checked to exist."""
    names = prompt_names()
    if name in names:
        return name
    versions = [(int(m["version"]), n) for n in names if (m := _NAME.match(n)) and m["base"] == name]
    if not versions:
        raise UserError(f"no task prompt named {name!r}; there are: {', '.join(names)}")
    return max(versions)[1]


def stop_sequences(name: str, section: str = "stop") -> list[str]:
    """The prompt's declared stop sequences (section `stop`, or another such section), [] when it declares none."""
    return [line.replace("\\n", "\n") for line in load_sections(name, required=()).get(section, "").splitlines()
            if line.strip()]


@functools.cache
def load_sections(name: str, required: tuple[str, ...] = REQUIRED) -> dict[str, str]:
    """The sections of a prompt file (`name` as for resolve_name); `required` sections must be there."""
    path = PROMPTS / f"{resolve_name(name)}.txt"
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
            if name in sections:
                raise ValueError(f"{path.name}: section {name!r} appears twice")
            current = sections[name] = []
        elif current is not None:
            current.append(line)
    out = {name: "\n".join(lines).strip("\n") for name, lines in sections.items()}
    missing = [section for section in required if section not in out]
    if missing:
        raise ValueError(f"{path.name}: missing sections {missing}")
    return out


def fill(template: str, values: dict[str, Any]) -> str:
    return Template(template).substitute({k: "" if v is None else v for k, v in values.items()})


def build_prompt(
    task: str,
    language: str,
    query: dict[str, Any],
    demos: list[dict[str, Any]],
    *,
    instruction: str | None = None,
    domain: str | None = None,
    labels: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    style: str = "json",
) -> str:
    """Instruction (ours or the user's), answer format, optional demos, then the query left open for the answer."""
    s = load_sections(f"{task}.{language}")
    common = dict(extra or {})
    common["domain"] = domain or ""
    common["labels"] = ", ".join(labels or [])
    common["domain_clause"] = fill(s["domain_clause"], common) if domain else ""
    common["labels_clause"] = fill(s["labels_clause"], common) if labels else ""
    parts = [instruction.strip() if instruction else fill(s["instruction"], common), fill(s["format" if style == "json" else f"format_{style}"], common)]
    head = "\n".join(p for p in parts if p)
    blocks = [head]
    if demos:
        shown = [fill(s["demo"], {**common, **demo}) for demo in demos]
        blocks.append(fill(s["examples"], common) + "\n" + "\n\n".join(shown))
    blocks.append(fill(s["query"], {**common, **query}))
    return "\n\n".join(blocks)
