"""Read one model answer back into typed triples with core's `code` parser (`ast` only: nothing is ever run).

    python CodeKGC/codeparse.py "extract = Extract([Triple(person('A'), Rel('Kill'), person('B')),])"

Prints {"triples", "status", "issues"}: status is one of ok, repaired, invalid, unparsable (core.records); the rules
are in core/tasks/code_parse.py. Without --schema no class or relation is flagged.
"""

from __future__ import annotations

import argparse
import json

from core.errors import guard


@guard
def main(argv: list[str] | None = None) -> None:
    from core.tasks.code_parse import parse_code
    from core.tasks.code_schema import load_schema

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("answer", nargs="?", default="", help="the model's answer (code)")
    parser.add_argument("--schema", help="check classes and relations against this schema (.json or Python)")
    args = parser.parse_args(argv)
    parsed = parse_code(args.answer, load_schema(args.schema) if args.schema else None)
    print(json.dumps({"triples": parsed.pred, "status": parsed.status, "issues": parsed.issues}, ensure_ascii=False))


if __name__ == "__main__":
    main()
