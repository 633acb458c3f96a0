"""Score predictions with the CCKS2023 instruction-KGC metric: triple F1, Rouge-2, score = 0.5*F1 + 0.5*Rouge-2.

    python InstructKGC/evaluate.py --gold_file InstructKGC/tests/data/gold.json --pred_file InstructKGC/tests/data/raw_outputs.json

Gold and pred are JSONL (or JSON arrays) matched by `id`. Gold records need `output` (the reference answer); their
triples come from `kg` when present, else are parsed from `output`. Pred may be convert.py output (triples from
`kg`/`triples`) or raw inference output (triples parsed from the `output` answer with core.parsing; a `kg` field in
raw inference output is a copy of the input record's and is not used). Rouge-2 compares the pred answer text with the
gold `output`. Gold ids missing from pred are scored as empty predictions. The metrics JSON is printed and, with
--output_file, written atomically; on bad input nothing is written.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field


@dataclass
class Args:
    gold_file: str | None = field(default=None, metadata={
        "help": "JSONL/JSON with id, output (reference answer) and optionally kg, instruction, input", "required": True})
    pred_file: str | None = field(default=None, metadata={
        "help": "convert.py output or raw inference output (id + output)", "required": True})
    lang: str = field(default="zh", metadata={
        "help": "Rouge-2 words: zh (jieba) or en (lowercased, punctuation and a/an/the dropped)", "choices": ("zh", "en")})
    match: str = field(default="set", metadata={
        "help": "set (duplicates within a record count once) or normal (duplicates count, multiset matching)",
        "choices": ("set", "normal")})
    output_file: str | None = field(default=None, metadata={"help": "also write the metrics JSON here"})


def main(**settings) -> None:
    """Print (and with --output_file write) the CCKS2023 metrics of --pred_file against --gold_file."""
    from core.flags import complete, flags_of
    from core.io import read_records, write_json
    from core.metrics.ccks import ccks_scores

    s = complete(flags_of(Args), settings, "evaluate.py")
    gold_file, pred_file, output_file = s["gold_file"], s["pred_file"], s["output_file"]
    gold = read_records(gold_file)
    pred = read_records(pred_file)
    metrics = ccks_scores(gold, pred, lang=s["lang"], match=s["match"], gold_name=gold_file, pred_name=pred_file)
    if metrics["pred_parsed_from_text"]:
        print(
            f"note: {metrics['pred_parsed_from_text']} pred records are raw answers; their triples were parsed from "
            f"`output` with core.parsing ({metrics['pred_fragments_unparsed']} fragments could not be read)",
            file=sys.stderr,
        )
    if metrics["missing_pred"]:
        print(f"note: {metrics['missing_pred']} gold ids have no prediction; scored as empty", file=sys.stderr)
    if output_file:
        write_json(output_file, metrics)
    print(json.dumps(metrics, ensure_ascii=False, indent=2))


def cli(argv: list[str] | None = None) -> None:
    from core.flags import flags_of, prog_name, run

    run(main, flags_of(Args), argv, prog=prog_name("evaluate.py"), doc=__doc__)


if __name__ == "__main__":
    cli()
