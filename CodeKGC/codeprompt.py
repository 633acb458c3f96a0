"""Print the code-style prompt CodeKGC sends for one text (core's `code` task; nothing is sent).

    python CodeKGC/codeprompt.py CodeKGC/data/schema.json CodeKGC/data/demos.json "Ann Lee works for Acme ."

SCHEMA: a JSON schema (generates the Python classes) or DeepKE's 2023 schema prompt (Python, read with `ast`, never
run). DEMOS: labelled records (.json/.jsonl, written as code) or DeepKE's 2023 ICL prompt (code, used as it is).
This is the completion-model prompt; chat models get it after the instruction in core/prompts/code.en.v1.txt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROG = "codeprompt.py"


@dataclass
class Args:
    schema: str | None = field(default=None, metadata={
        "help": ".json (JSON schema) or DeepKE's 2023 Python schema prompt", "positional": True, "required": True})
    demos: str | None = field(default=None, metadata={
        "help": ".json/.jsonl labelled records or DeepKE's 2023 ICL prompt (code)", "positional": True,
        "required": True})
    text: str | None = field(default=None, metadata={
        "help": "the text to extract from", "positional": True, "required": True})


def main(schema: str, demos: str, text: str) -> None:
    from core.tasks.code import CodeTask
    from core.tasks.code_schema import load_schema

    task = CodeTask(load_schema(schema))
    print(task.prompt(task.schema.code, task.demos_code(demos), text), end="")


def cli(argv: list[str] | None = None) -> None:
    from core.flags import flags_of, prog_name, run

    run(main, flags_of(Args), argv, prog=prog_name(PROG), doc=__doc__)


if __name__ == "__main__":
    cli()
