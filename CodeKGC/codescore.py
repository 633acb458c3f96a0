"""Score a CodeKGC output file again (no model, no parsing): micro and per-relation P/R/F1, statuses.

    python CodeKGC/codescore.py CodeKGC/output/pred.jsonl

Reads the lines codekgc.py wrote (`triples` predicted, `triple_list` gold, `status`) and prints the summary
codekgc.py prints, through core's `code` task scorer. Records without `triple_list` are not scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROG = "codescore.py"
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


@dataclass
class Args:
    pred_file: str = field(default=str(DEFAULT), metadata={"help": "codekgc.py's output JSONL", "positional": True})


def main(pred_file: str) -> None:
    from core.tasks.code import summary_lines

    print("\n".join(summary_lines(score_file(pred_file))))


def cli(argv: list[str] | None = None) -> None:
    from core.flags import flags_of, prog_name, run

    run(main, flags_of(Args), argv, prog=prog_name(PROG), doc=__doc__)


if __name__ == "__main__":
    cli()
