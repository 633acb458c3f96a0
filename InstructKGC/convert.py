"""Turn raw model answers into triples, one record per line (the step of DeepKE's 2023 utils/convert.py).

    python InstructKGC/convert.py --pred_path InstructKGC/tests/data/raw_outputs.json --tgt_path /tmp/kgc_converted.json

Input: JSONL (or a JSON array) of inference records, each with `output` (the model's answer) and usually `id`,
`instruction` and `input`. Output: JSONL, every input field kept, plus
`raw` (the answer verbatim), `kg` ([[head, relation, tail]]), `triples` ([{head, relation, tail}]), `status`
(ok | repaired | failed), `repairs` (what the parser fixed) and `failed` (fragments it could not read).
The input text and the relation names listed in the instruction resolve names that contain commas.
`--input_file` / `--output_file` are accepted as aliases of `--pred_path` / `--tgt_path`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


def convert_record(record: dict) -> dict:
    """One inference record -> the same record plus raw, kg, triples, status, repairs, failed."""
    from core.io import strip_private
    from core.parsing.ccks import parse_triples
    from core.parsing.ccks_instruction import relations_from_instruction

    result = parse_triples(
        record["output"],
        input_text=record.get("input"),
        relations=relations_from_instruction(record.get("instruction")),
    )
    return {
        **strip_private(record),
        "raw": record["output"],
        "kg": [t.to_list() for t in result.triples],
        "triples": [t.to_dict() for t in result.triples],
        "status": result.status,
        "repairs": result.repairs,
        "failed": result.failed,
    }


@dataclass
class Args:
    pred_path: str | None = field(default=None, metadata={
        "help": "raw inference output, JSONL or JSON array; records need `output`", "aliases": ("--input_file",),
        "required": True})
    tgt_path: str | None = field(default=None, metadata={
        "help": "where to write the converted JSONL (atomically)", "aliases": ("--output_file",), "required": True})


def main(**settings) -> None:
    """Parse every answer of --pred_path (raw inference output) and write the records with triples to --tgt_path."""
    from core.flags import complete, flags_of
    from core.io import read_records, write_jsonl
    from core.records import INVALID, STATUSES, UNPARSABLE

    s = complete(flags_of(Args), settings, "convert.py")
    src, dst = s["pred_path"], s["tgt_path"]
    records = read_records(src, required={"output": str}, optional={"instruction": str, "input": str})
    converted = [convert_record(rec) for rec in records]
    write_jsonl(dst, converted)
    counts = Counter(rec["status"] for rec in converted)
    summary = ", ".join(f"{status} {counts.get(status, 0)}" for status in STATUSES[:4])
    print(f"converted {len(converted)} records -> {dst}: {summary}")
    failed_ids = [rec.get("id", f"line {src_rec['__line__']}") for rec, src_rec in zip(converted, records, strict=True)
                  if rec["status"] in (INVALID, UNPARSABLE)]
    if failed_ids:
        more = f" (+{len(failed_ids) - 10} more)" if len(failed_ids) > 10 else ""
        print(f"unreadable fragments (see their `failed` field): {', '.join(map(str, failed_ids[:10]))}{more}")


def cli(argv: list[str] | None = None) -> None:
    from core.flags import flags_of, prog_name, run

    run(main, flags_of(Args), argv, prog=prog_name("convert.py"), doc=__doc__)


if __name__ == "__main__":
    cli()
