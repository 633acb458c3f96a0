"""Few-shot relation extraction: k demos per relation in one prompt, the model names the test pair's relation.

    python UnleashLLMRE/gpt3ICL.py --help
    python UnleashLLMRE/gpt3ICL.py -tp UnleashLLMRE/data/train.json -ttp UnleashLLMRE/data/test.json -os out/re -on out/re --prompt text_schema --k 1 --base_url http://127.0.0.1:8000/v1

DeepKE's 2023 flags and files on top of the `tacred` task (core.tasks.tacred) and core.pipeline. Writes `<-os>/os.json`
(JSON lines: each test record + `pr`, the predicted relation), `<-on>/no.json` (JSON array: records whose answer
named no known label or whose request failed, `pr` = the raw answer), and the pipeline's files in `<-os>`:
prompts.jsonl, raw.jsonl (every answer verbatim; a rerun asks only what is missing or whose prompt changed),
parsed.jsonl (every record with `pr`, status, issues, raw) and the metrics (`--metrics_file`, default metrics.json).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import re_cli  # the case's sibling module: python puts this script's folder on sys.path

from core import pipeline
from core.errors import UserError
from core.io import DataError, atomic_write, dumps, strip_private, write_json
from core.prompts import stop_sequences
from core.records import FAILED
from core.tasks import get_task, tacred
from core.tasks import tacred_data as data

PROG = "gpt3ICL.py"


@dataclass
class Args:
    train_path: str | None = field(default=None, metadata={
        "help": "demo pool: TACRED records, or DeepKE's h/t layout", "aliases": ("-tp",), "required": True})
    test_path: str | None = field(default=None, metadata={
        "help": "test records (same layouts), each with its gold relation", "aliases": ("-ttp",), "required": True})
    output_success: str | None = field(default=None, metadata={
        "help": "folder for os.json, raw.jsonl, parsed.jsonl, prompts.jsonl and metrics.json", "aliases": ("-os",),
        "required": True})
    output_nores: str | None = field(default=None, metadata={
        "help": "folder for no.json (unparsed and failed answers)", "aliases": ("-on",), "required": True})
    prompt: str | None = field(default=None, metadata={
        "help": "prompt variant (core/prompts/tacred.<name>.v1.txt); *_schema shows the entity types",
        "choices": tacred.VARIANTS, "required": True})
    k: int = field(default=1, metadata={"help": "demos per relation (all there are when a relation has fewer)"})
    seed: int = field(default=42, metadata={"help": "random seed of the demo sampling: same seed, same prompts"})
    da_path: list[str] = field(default_factory=list, metadata={
        "help": "generated samples (gpt3DA.py's generated.json) added to the demo pool; several: a.json b.json"})
    data_format: str = field(default="auto", metadata={
        "help": "tacred | ht (DeepKE few-shot: h/t + rel2id.json) | auto: detected from the first record",
        "choices": data.FORMATS})
    rel2id_path: str | None = field(default=None, metadata={
        "help": "relation list as {relation: id}", "shown_default": "rel2id.json beside --train_path in the ht "
                "layout, else the relations of the data"})
    metrics_file: str | None = field(default=None, metadata={
        "help": "where the scores go as JSON", "shown_default": "<-os>/metrics.json"})
    max_tokens: int = field(default=128, metadata={"help": "answer length limit (DeepKE's 2023 value)",
                                                   "aliases": ("--max_new_tokens",)})
    temperature: float = field(default=0.0, metadata={"help": "sampling temperature (DeepKE's 2023 value)"})


def load_data(args: SimpleNamespace) -> tuple[dict, list, list[str]]:
    """(demo pool by relation, test samples, label list); warns about relations with no or fewer than k demos."""
    fmt = args.data_format
    pool = data.load_samples(args.train_path, fmt)
    for path in args.da_path or []:
        pool += data.load_samples(path, "tacred")
    test = data.load_samples(args.test_path, fmt)
    rel2id_path = args.rel2id_path
    if rel2id_path is None and (fmt == "ht" or (fmt == "auto" and data.file_format(args.train_path) == "ht")):
        rel2id_path = data.find_rel2id(args.train_path)
    rel2id = data.load_rel2id(rel2id_path) if rel2id_path else None
    labels, no_demo = data.relation_list(pool, test, rel2id, str(rel2id_path or ""))
    if no_demo:
        re_cli.warn(f"{len(no_demo)} relation(s) have no demo in the pool but stay candidates: {', '.join(no_demo)}")
    if tacred.uses_types(args.prompt):
        for s in [*pool, *test]:
            for name in ("subj_type", "obj_type"):
                if getattr(s, name) is None:
                    raise DataError(s.path, s.line, f"missing (--prompt {args.prompt} shows entity types)", field=name)
    by_rel: dict[str, list] = defaultdict(list)
    for s in pool:
        by_rel[s.relation].append(s)
    few = [f"{r} ({len(v)})" for r, v in by_rel.items() if len(v) < args.k]
    if few:
        re_cli.warn(f"fewer than k={args.k} demos, using all there are: {', '.join(few)}")
    return dict(by_rel), test, labels


def write_outputs(result: pipeline.Result, success_dir: Path, nores_dir: Path) -> None:
    """os.json: records whose answer named a label, + `pr`; no.json: the others, `pr` = the raw answer (+ error)."""
    success, nores = [], []
    for rec, parsed in result.pairs:
        record = strip_private(rec["__sample__"].record)
        if parsed.pred is not None:
            success.append({**record, "pr": parsed.pred})
        else:
            error = {"error": parsed.issues[0].removeprefix("request failed: ")} if parsed.status == FAILED else {}
            nores.append({**record, "pr": parsed.raw, **error})
    with atomic_write(success_dir / "os.json") as fh:
        fh.writelines(dumps(r) + "\n" for r in success)
    no_file = nores_dir / "no.json"
    if nores:
        write_json(no_file, nores)
    elif no_file.exists():
        no_file.unlink()  # left from an earlier run whose failures are now answered


def main(**given) -> dict:
    """Ask, parse and score every test record; returns the metrics."""
    from core.llm import create_backend

    args, cfg = re_cli.settings(Args, given, PROG)
    if args.k < 1:
        raise UserError(f"--k must be >= 1, got {args.k}")
    pool, test, labels = load_data(args)
    label_set = tacred.LabelSet(labels)
    items = [(s.id, tacred.build_prompt(args.prompt, label_set, tacred.choose_demos(pool, labels, args.k,
                                                                           tacred.item_rng(args.seed, s.id)), s))
             for s in test]
    out = Path(args.output_success)
    files = pipeline.RunFiles(out / "parsed.jsonl", out / "prompts.jsonl", out / "raw.jsonl",
                              Path(args.metrics_file) if args.metrics_file else out / "metrics.json")
    with create_backend(cfg) as backend:
        result = pipeline.run(get_task("tacred"), [data.as_record(s) for s in test], items, backend, files,
                              labels=labels, desc="gpt3ICL", max_tokens=args.max_tokens, temperature=args.temperature,
                              stop=stop_sequences(f"tacred.{args.prompt}"))
    write_outputs(result, out, Path(args.output_nores))
    metrics = result.metrics
    print(tacred.format_table(metrics))
    print(json.dumps({k: metrics[k] for k in ("acc", "micro_p", "micro_r", "micro_f1", "unparsed", "failed")}))
    return metrics


if __name__ == "__main__":
    re_cli.cli(main, Args, PROG, __doc__)
