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


def main(
    gold_file: str,
    pred_file: str,
    lang: str = "zh",
    match: str = "set",
    output_file: str | None = None,
) -> None:
    """Print (and optionally write) the CCKS2023 metrics of `pred_file` against `gold_file`.

    Args:
        gold_file: JSONL/JSON with id, output (reference answer) and optionally kg, instruction, input.
        pred_file: convert.py output or raw inference output (id + output).
        lang: zh (jieba words) or en (lowercased words, punctuation and a/an/the dropped) for Rouge-2.
        match: set (duplicates within a record count once) or normal (duplicates count, multiset matching).
        output_file: also write the metrics JSON here.
    """
    from core.io import read_records, write_json
    from core.metrics.ccks import ccks_scores

    gold = read_records(gold_file)
    pred = read_records(pred_file)
    metrics = ccks_scores(gold, pred, lang=str(lang), match=str(match), gold_name=gold_file, pred_name=pred_file)
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


if __name__ == "__main__":
    from core.errors import cli_main

    cli_main(main)
