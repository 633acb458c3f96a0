"""Convert records to IEPile instruction records (training or test) and IEPile records back to ours.

    python InstructKGC/iepile_convert.py --src_path InstructKGC/data/iepile_ner_en.json --tgt_path /tmp/iepile_ner_train.json --schema_path InstructKGC/data/iepile_ner_en_schema.json --language en --task NER --split train

IEPile's own flags (zjunlp/IEPile ie2instruction/convert_func.py) keep their names: `--src_path --tgt_path
--schema_path --language zh|en --task NER|RE|EE --split train|test --split_num --random_sort --neg_schema
--hard_negative_path --cluster_mode`; added: `--seed` (random seed), `--source`, and `--split back`.

Input (`--src_path`, JSON or JSONL): IEPile samples ({"text", "entity" | "relation" | "event"}), our records (ner
`data`, kg `triples`, ee `event_list`) or CCKS2023 records (`input`, `kg`, relations listed in `instruction`);
core.iepile.records. The schema: `--schema_path` (IEPile's schema.json, or a JSON list of types, or {event type:
[roles]}), else a record's own (CCKS: its candidate relations), else every type the file's gold shows.
- `--split train`: one record {task, source, instruction, input (empty), output} per schema batch; negatives, order and batches
  as core.iepile.batches says (`--split_num` default per task: NER 6, RE 4, EE 4; `--neg_schema` 1 = every
  negative; `--hard_negative_path` {type: [confusable types]}); the same `--seed` gives the same file.
- `--split test`: every schema batch of every input {id, task, source, instruction, label} (label when the input
  has gold); answer them with InstructKGC/iepile_predict.py.
- `--split back`: IEPile training or test records -> our records, one per input (core.iepile.records.our_record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "test", "back")


@dataclass
class Args:
    src_path: str | None = field(default=None, metadata={
        "help": "input records, JSON array or JSONL (see above for the shapes read)", "required": True})
    tgt_path: str | None = field(default=None, metadata={"help": "output file (JSONL)", "required": True})
    schema_path: str | None = field(default=None, metadata={
        "help": "the label set: IEPile's schema.json (3 lines: types, roles, {type: [roles]}), a JSON list of types or "
                "a JSON object {event type: [roles]}", "shown_default": "each record's own, else the gold's types"})
    language: str = field(default="zh", metadata={
        "help": "which task sentences the instructions use: zh or en (cn is taken for zh)"})
    task: str = field(default="NER", metadata={
        "help": "NER, RE or EE (--split back reads it from the records when they say it)"})
    split: str = field(default="train", metadata={
        "help": "train, test, or back (IEPile records -> our records)", "choices": SPLITS})
    split_num: int | None = field(default=None, metadata={
        "help": "schema items per instruction (-1: all in one)", "shown_default": "NER 6, RE 4, EE 4"})
    random_sort: bool = field(default=False, metadata={
        "help": "shuffle the schema items of an instruction (default: alphabetical)"})
    neg_schema: float = field(default=1.0, metadata={
        "help": "share of negative schema items drawn per training input: 1 all, 0 none"})
    hard_negative_path: str | None = field(default=None, metadata={
        "help": "JSON {type: [confusable types]}: training inputs also ask the types confused with their gold "
                "types, plus up to split_num others"})
    cluster_mode: bool = field(default=False, metadata={
        "help": "IEPile's switch for hard negatives; accepted, needs --hard_negative_path"})
    seed: int = field(default=42, metadata={"help": "random seed of the negative draws and shuffles"})
    source: str | None = field(default=None, metadata={
        "help": "the `source` of the records", "shown_default": "a record's own, else the name of the folder of "
                "--src_path (as IEPile names its datasets)"})


def main(**settings) -> None:
    """Write the converted records of --src_path to --tgt_path (JSONL, written atomically)."""
    from core.errors import UserError
    from core.flags import complete, flags_of
    from core.iepile.batches import read_hard_negatives, read_schema
    from core.iepile.convert import to_test_records, to_train_records
    from core.iepile.records import our_record, read_samples, samples_from_iepile
    from core.io import write_jsonl

    a = complete(flags_of(Args), settings, "iepile_convert.py")
    src_path, tgt_path, split, split_num, neg_schema = (a[k] for k in ("src_path", "tgt_path", "split", "split_num",
                                                                      "neg_schema"))
    task, language, hard_negative_path = a["task"], a["language"], a["hard_negative_path"]
    if a["cluster_mode"] and not hard_negative_path:
        raise UserError("--cluster_mode needs --hard_negative_path (the file of confusable types)")
    if split_num is not None and (split_num == 0 or split_num < -1):
        raise UserError(f"--split_num {split_num}: expected -1 or a positive number")
    if not 0 <= float(neg_schema) <= 1:
        raise UserError(f"--neg_schema {neg_schema}: expected a number from 0 to 1")
    source = a["source"] or Path(src_path).resolve().parent.name
    if split == "back":
        from core.io import read_records

        samples = samples_from_iepile(read_records(src_path, required={"instruction": (str, dict)}), src_path)
        out = [our_record(s["task"], s["id"], s["text"], s["gold"], source=s["source"]) for s in samples]
    else:
        samples = read_samples(src_path, task)
        schema = read_schema(a["schema_path"]) if a["schema_path"] else None
        if split == "train":
            hard = read_hard_negatives(hard_negative_path) if hard_negative_path else None
            out = to_train_records(samples, task, language, schema, split_num=split_num, seed=a["seed"],
                                neg_ratio=float(neg_schema), hard=hard, random_sort=a["random_sort"], source=source,
                                path=src_path)
        else:
            out = to_test_records(samples, task, language, schema, split_num=split_num, source=source, path=src_path)
    write_jsonl(tgt_path, out)
    print(f"{len(out)} {split} records from {len(samples)} inputs -> {tgt_path}")


def cli(argv: list[str] | None = None) -> None:
    from core.flags import flags_of, prog_name, run

    run(main, flags_of(Args), argv, prog=prog_name("iepile_convert.py"), doc=__doc__)


if __name__ == "__main__":
    cli()
