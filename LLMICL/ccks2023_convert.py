"""CCKS2023 records <-> LLMICL: demos for RTE prompts (train), or triples from model answers (test).

    python LLMICL/ccks2023_convert.py --input_file LLMICL/data/ccks_train.json --output_file /tmp/ccks/rte_cn.json --number 3

--mode train (default): JSONL/JSON CCKS records {id, instruction, input, output, kg?} -> shuffled (--seed), the first
--number written as a JSON array of RTE demos {id, text, labels: [[h, r, t]], instruction}; `text` is the record's
input and `labels` its `kg` (else its `output` read with core.parsing, the parser InstructKGC uses). Save it as
<data_path>/rte_cn.json and run `python LLMICL/run.py task=rte language=cn zero_shot=False data_path=<data_path> ...`.
--mode test: JSONL records whose `output` is a model answer -> the same records with `kg` (the triples read from it)
and `status` (ok | repaired | failed), JSONL, ready for InstructKGC/evaluate.py.
The seed's crashes are gone: `--number` is an int, test mode reads --input_file/--output_file, train mode writes the
first N records (not record N). Output files are written whole or not at all.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

MODES = ("train", "test")


def _triples(rec: dict) -> tuple[list[list[str]], str]:
    from core.parsing.ccks import parse_triples, relations_from_instruction

    if rec.get("kg") is not None:
        return [list(t) for t in rec["kg"]], "ok"
    parsed = parse_triples(rec.get("output") or "", input_text=rec.get("input"),
                           relations=relations_from_instruction(rec.get("instruction")) or None)
    return [t.to_list() for t in parsed.triples], parsed.status


def main(
    input_file: str = "LLMICL/data/ccks_train.json",
    output_file: str | None = None,
    number: int = 5,
    mode: str = "train",
    seed: int = 42,
) -> None:
    """Convert and write `output_file`.

    Args:
        input_file: CCKS2023 records, JSONL (or a JSON array).
        output_file: where to write (default: <input stem>_input.json for train, <input stem>_kg.json for test).
        number: train: how many demos to keep.
        mode: train (demos) or test (triples from answers).
        seed: train: shuffle seed, so the same demos come back each time.
    """
    from core.errors import UserError
    from core.io import DataError, read_records, strip_private, write_json, write_jsonl

    if mode not in MODES:
        raise UserError(f"--mode must be train or test, got {mode!r}")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise UserError(f"--number must be a whole number >= 1, got {number!r}")
    source = Path(input_file)
    suffix = "_input.json" if mode == "train" else "_kg.json"
    target = Path(output_file) if output_file else source.with_name(source.stem + suffix)
    if target.resolve() == source.resolve():
        raise UserError(f"--output_file would overwrite --input_file {source}")
    if mode == "train":
        records = read_records(source, required={"input": str},
                               optional={"instruction": str, "output": str, "kg": list, "id": (str, int)})
        for rec in records:
            kg = rec.get("kg")
            if kg is None and rec.get("output") is None:
                raise DataError(source, rec["__line__"], "missing (or kg)", field="output")
            if kg is not None and not all(isinstance(t, list) and len(t) == 3 and all(isinstance(x, str) for x in t)
                                          for t in kg):
                raise DataError(source, rec["__line__"], "expected a list of [head, relation, tail]", field="kg")
        random.Random(seed).shuffle(records)
        demos = []
        for rec in records[:number]:
            labels, _ = _triples(rec)
            demo = {"id": rec.get("id"), "text": rec["input"], "labels": labels, "instruction": rec.get("instruction")}
            demos.append({k: v for k, v in demo.items() if v is not None})
        write_json(target, demos)
        note = f" (only {len(records)} records)" if len(records) < number else ""
        print(f"{len(demos)} demos{note} -> {target}", file=sys.stderr)
    else:
        records = read_records(source, required={"output": str}, optional={"input": str, "instruction": str})
        out = []
        for rec in records:
            rec = strip_private(rec)
            rec.pop("kg", None)
            rec["kg"], rec["status"] = _triples(rec)
            out.append(rec)
        write_jsonl(target, out)
        print(f"{len(out)} records with kg -> {target}", file=sys.stderr)


if __name__ == "__main__":
    from core.errors import cli_main

    cli_main(main)
