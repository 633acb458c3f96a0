"""CCKS2023 records <-> LLMICL: demos for RTE prompts (train), or triples from model answers (test).

    python LLMICL/ccks2023_convert.py --input_file LLMICL/data/ccks_train.json --output_file /tmp/ccks/rte_cn.json --number 3

--mode train (default): JSONL/JSON CCKS records {id, instruction, input, output, kg?} -> shuffled (--seed), the first
--number written as a JSON array of RTE demos {id, text, labels: [[h, r, t]], instruction}; `text` is the record's
input and `labels` its `kg` (else its `output` read with core.parsing, the parser InstructKGC uses). Save it as
<data_path>/rte_cn.json and run `python LLMICL/run.py task=rte language=cn zero_shot=False data_path=<data_path> ...`.
--mode test: JSONL records whose `output` is a model answer -> the same records with `kg` (the triples read from it)
and `status` (ok | repaired | failed), JSONL, ready for InstructKGC/evaluate.py.
The crashes of DeepKE's 2023 converter are gone: `--number` is an int, test mode reads --input_file/--output_file, train mode writes the
first N records (not record N). Output files are written whole or not at all.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

MODES = ("train", "test")
PROG = "ccks2023_convert.py"


def _triples(rec: dict) -> tuple[list[list[str]], str]:
    from core.parsing.ccks import parse_triples
    from core.parsing.ccks_instruction import relations_from_instruction

    if rec.get("kg") is not None:
        return [list(t) for t in rec["kg"]], "ok"
    parsed = parse_triples(rec.get("output") or "", input_text=rec.get("input"),
                           relations=relations_from_instruction(rec.get("instruction")) or None)
    return [t.to_list() for t in parsed.triples], parsed.status


@dataclass
class Args:
    input_file: str = field(default="LLMICL/data/ccks_train.json", metadata={
        "help": "CCKS2023 records, JSONL (or a JSON array)"})
    output_file: str | None = field(default=None, metadata={
        "help": "where to write", "shown_default": "<input stem>_input.json (train), <input stem>_kg.json (test)"})
    number: int = field(default=5, metadata={"help": "train: how many demos to keep"})
    mode: str = field(default="train", metadata={"help": "train (demos) or test (triples from answers)",
                                                 "choices": MODES})
    seed: int = field(default=42, metadata={"help": "train: random seed of the shuffle (the same demos each time)"})


def main(**settings) -> None:
    """Convert --input_file and write --output_file."""
    from core.errors import UserError
    from core.flags import complete, flags_of
    from core.io import DataError, read_records, strip_private, write_json, write_jsonl

    s = complete(flags_of(Args), settings, PROG)
    input_file, output_file, number, mode = s["input_file"], s["output_file"], s["number"], s["mode"]
    if number < 1:
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
        random.Random(s["seed"]).shuffle(records)
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


def cli(argv: list[str] | None = None) -> None:
    from core.flags import flags_of, prog_name, run

    run(main, flags_of(Args), argv, prog=prog_name(PROG), doc=__doc__)


if __name__ == "__main__":
    cli()
