"""LLM data generation for RE: k demos per relation in a prompt, the model writes more samples, valid new ones kept.

    python UnleashLLMRE/gpt3DA.py --help
    python UnleashLLMRE/gpt3DA.py -dp UnleashLLMRE/data/train.json --output_dir out/da --dataset tacred --k 3 --num_per_relation 5 --base_url http://127.0.0.1:8000/v1

DeepKE's 2023 flags and files on top of the one data augmentation (core.tasks.da): per relation of the demo file (or, with
`--per types`, per head/tail entity-type pair), one prompt (core/prompts/da.tacred[-types].v1.txt) with k demos asks
for --num_per_relation more samples as JSON lines. Writes `<output_dir>/generated.json` (JSON lines: TACRED records
with tokens and inclusive token offsets, plus `text`, `subj`, `obj`; read back by gpt3ICL.py --da_path; rewritten
atomically, merged with what is there, never duplicated), generated.prompts.jsonl, generated.raw.jsonl (answers
verbatim; a rerun asks only what is missing or whose prompt changed) and da_report.json (kept, dropped by reason).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import re_cli  # the case's sibling module: python puts this script's folder on sys.path

from core import pipeline
from core.errors import UserError
from core.io import DataError, write_json, write_jsonl
from core.tasks import da, get_task
from core.tasks import tacred_data as data

PROG = "gpt3DA.py"


@dataclass
class Args:
    demo_path: str | None = field(default=None, metadata={
        "help": "demo samples: TACRED records, or DeepKE's h/t layout (with entity types)", "aliases": ("-dp",),
        "required": True})
    output_dir: str | None = field(default=None, metadata={
        "help": "folder for generated.json, generated.raw.jsonl, da_report.json", "required": True})
    dataset: str | None = field(default=None, metadata={
        "help": "which entity types a generated sample may use", "choices": tuple(sorted(data.ENTITY_TYPES)),
        "required": True})
    k: int = field(default=3, metadata={"help": "demos per request (all there are when fewer)"})
    num_per_relation: int = field(default=10, metadata={
        "help": "samples asked for per request (at most this many are kept per request)"})
    per: str = field(default="relation", metadata={
        "help": "one request per relation (DeepKE's 2023 way), or per (head type, tail type) pair of the demos",
        "choices": da.BY})
    seed: int = field(default=42, metadata={"help": "random seed of the demo sampling: same seed, same prompts"})
    data_format: str = field(default="auto", metadata={"help": "tacred | ht | auto (detected)",
                                                       "choices": data.FORMATS})
    max_tokens: int = field(default=3500, metadata={"help": "answer length limit (DeepKE's 2023 value)",
                                                    "aliases": ("--max_new_tokens",)})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature (DeepKE's 2023 value)"})


def load_demos(args: SimpleNamespace) -> list[dict]:
    """The demo file's samples in the DA layout; entity types are required (the prompt shows them)."""
    samples = data.load_samples(args.demo_path, args.data_format)
    for s in samples:
        for name in ("subj_type", "obj_type"):
            if getattr(s, name) is None:
                raise DataError(s.path, s.line, "missing (the DA prompt shows entity types)", field=name)
    demos = [data.da_demo(s) for s in samples]
    few = [f"{key} ({n})" for key, group in da.groups_of(demos, args.per).items()
           if (n := sum(group.holds(d) for d in demos)) < args.k]
    if few:
        re_cli.warn(f"fewer than k={args.k} demos, using all there are: {', '.join(few)}")
    return demos


def main(**given) -> dict:
    """Ask for new samples per relation (or type pair), keep the valid new ones; returns the report."""
    from core.llm import create_backend

    args, cfg = re_cli.settings(Args, given, PROG)
    if args.k < 1 or args.num_per_relation < 1:
        raise UserError("--k and --num_per_relation must be >= 1")
    task, demos = get_task("da"), load_demos(args)
    allowed = data.ENTITY_TYPES[args.dataset]
    plan = da.augment_plan(task, demos, relations=None, labels=allowed, number=args.num_per_relation, k=args.k,
                           domain=None, language="en", by=args.per, seed=args.seed,
                           prompt="da.tacred" if args.per == "relation" else "da.tacred-types",
                           extra={"types": ", ".join(data.display_type(t) for t in allowed)})
    out = Path(args.output_dir)
    files = pipeline.RunFiles.beside(out / "generated.json", metrics=out / "da_report.json")
    earlier = data.load_samples(files.parsed, "tacred") if files.parsed.exists() else []
    with create_backend(cfg) as backend:
        answers = pipeline.ask(backend, plan.items, files, desc="gpt3DA", max_tokens=args.max_tokens,
                               temperature=args.temperature)
    kept, report = da.augment_report(task, demos, plan, answers, "en", seen=[data.da_demo(s) for s in earlier])
    records = [*(s.record for s in earlier), *(data.da_record(s) for s in kept)]
    write_jsonl(files.parsed, records)
    report.update(total_in_file=len(records), output=str(files.parsed))
    write_json(files.metrics, report)
    dropped = ", ".join(f"{k} {v}" for k, v in report["dropped"].items()) or "none"
    print(f"kept {len(kept)} new samples ({len(records)} in {files.parsed}); dropped: {dropped}")
    print(json.dumps(report, ensure_ascii=False))
    return report


if __name__ == "__main__":
    re_cli.cli(main, Args, PROG, __doc__)
