"""Prompt files (LLMICL/prompts/<task>_<language>.txt) and how a prompt is put together from them.

    python -c "import sys; sys.path.insert(0, 'LLMICL'); from icl.prompt import load_sections; print(sorted(load_sections('ner', 'en')))"

A file is a few sections, each starting with a line `## name`; text before the first one is a comment.
Placeholders are `$name` (string.Template), so JSON braces need no escaping. Sections:
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
from pathlib import Path
from string import Template
from typing import Any

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
REQUIRED = ("instruction", "domain_clause", "labels_clause", "format", "examples", "demo", "query")


@functools.cache
def load_sections(task: str, language: str) -> dict[str, str]:
    path = PROMPTS / f"{task}_{language}.txt"
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
    missing = [name for name in REQUIRED if name not in out]
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
    s = load_sections(task, language)
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
