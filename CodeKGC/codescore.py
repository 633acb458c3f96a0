"""Score a CodeKGC output file again (no model, no parsing): micro and per-relation P/R/F1, statuses.

    python CodeKGC/codescore.py CodeKGC/output/pred.jsonl

Reads the lines codekgc.py wrote (`triples` predicted, `triple_list` gold, `status`) and prints the summary
codekgc.py prints, through core's `code` task scorer. Records without `triple_list` are not scored.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import guard

HERE = Path(__file__).resolve().parent
DEFAULT = HERE / "output" / "pred.jsonl"


def score_file(path: str | Path) -> dict:
    """The metrics of an output file: its lines back into (record, envelope) pairs, scored as codekgc.py scores."""
    from core import pipeline
    from core.io import read_records
    from core.modload import load_module
    from core.tasks.code import CodeTask

    task = CodeTask()
    codekgc = load_module(HERE / "codekgc.py", "_codekgc_codekgc")
    return codekgc.score(task, pipeline.Result([], task.rows_to_pairs(read_records(path), path), {}))


@guard
def main(argv: list[str] | None = None) -> None:
    from core.tasks.code import summary_lines

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pred_file", nargs="?", default=str(DEFAULT), help="codekgc.py's output JSONL")
    print("\n".join(summary_lines(score_file(parser.parse_args(argv).pred_file))))


if __name__ == "__main__":
    main()
