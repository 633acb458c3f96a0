"""Read one model answer back into typed triples with core's `code` parser (`ast` only: nothing is ever run).

    python CodeKGC/codeparse.py "extract = Extract([Triple(person('A'), Rel('Kill'), person('B')),])"

Prints {"triples", "status", "issues"}: status is one of ok, repaired, invalid, unparsable (core.records); the rules
are in core/tasks/code_parse.py. Without --schema no class or relation is flagged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

PROG = "codeparse.py"


@dataclass
class Args:
    answer: str = field(default="", metadata={"help": "the model's answer (code)", "positional": True,
                                              "shown_default": "empty"})
    schema: str | None = field(default=None, metadata={
        "help": "check classes and relations against this schema (.json or Python)"})


def main(answer: str | None = "", schema: str | None = None) -> None:
    from core.tasks.code_parse import parse_code
    from core.tasks.code_schema import load_schema

    parsed = parse_code(answer or "", load_schema(schema) if schema else None)
    print(json.dumps({"triples": parsed.pred, "status": parsed.status, "issues": parsed.issues}, ensure_ascii=False))


def cli(argv: list[str] | None = None) -> None:
    from core.flags import flags_of, prog_name, run

    run(main, flags_of(Args), argv, prog=prog_name(PROG), doc=__doc__)


if __name__ == "__main__":
    cli()
