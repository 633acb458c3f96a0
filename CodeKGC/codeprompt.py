"""Print the code-style prompt CodeKGC sends for one text (core's `code` task; nothing is sent).

    python CodeKGC/codeprompt.py CodeKGC/data/schema.json CodeKGC/data/demos.json "Ann Lee works for Acme ."

SCHEMA: a JSON schema (generates the Python classes) or the seed's schema prompt (Python, read with `ast`, never
run). DEMOS: labelled records (.json/.jsonl, written as code) or the seed's ICL prompt (code, used as it is).
This is the completion-model prompt; chat models get it after the instruction in core/prompts/code.en.v1.txt.
"""

from __future__ import annotations

import argparse

from core.errors import guard


@guard
def main(argv: list[str] | None = None) -> None:
    from core.tasks.code import CodeTask
    from core.tasks.code_schema import load_schema

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("schema", help="schema: .json (JSON schema) or the seed's Python schema prompt")
    parser.add_argument("demos", help="demos: .json/.jsonl labelled records or the seed's ICL prompt (code)")
    parser.add_argument("text", help="the text to extract from")
    args = parser.parse_args(argv)
    task = CodeTask(load_schema(args.schema))
    print(task.prompt(task.schema.code, task.demos_code(args.demos), args.text), end="")


if __name__ == "__main__":
    main()
