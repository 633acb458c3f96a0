"""LLM data generation for RE: k demos per relation in a prompt, the model writes more samples, valid new ones kept.

    python UnleashLLMRE/gpt3DA.py --help
    python UnleashLLMRE/gpt3DA.py -dp UnleashLLMRE/data/train.json --output_dir out/da --dataset tacred --k 3 --num_per_relation 5 --base_url http://127.0.0.1:8000/v1

Per relation of the demo file, one prompt with k demos asks for --num_per_relation more samples as JSON lines.
Writes `<output_dir>/generated.json` (JSON lines: TACRED records with tokens and inclusive token offsets, plus `text`,
`subj`, `obj`; read back by gpt3ICL.py --da_path; rewritten atomically, merged with what is there, never duplicated),
`generated.raw.jsonl` (prompts and answers verbatim; a rerun sends only what is missing) and `da_report.json` (kept,
and dropped by reason).
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

import re_cli  # the case's sibling modules: python puts this script's folder on sys.path
import re_da
import re_data
import re_prompts

from core.errors import UserError
from core.io import DataError, read_records, write_json, write_jsonl


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--demo_path", "-dp", required=True, help="demo samples: TACRED records, or DeepKE's h/t layout "
                                                             "(with entity types)")
    p.add_argument("--output_dir", required=True, help="folder for generated.json, generated.raw.jsonl, da_report.json")
    p.add_argument("--dataset", required=True, choices=sorted(re_da.ENTITY_TYPES),
                   help="which entity types a generated sample may use")
    p.add_argument("--k", type=int, default=3, help="demos per relation in each prompt (all there are when fewer)")
    p.add_argument("--num_per_relation", type=int, default=10, help="samples asked for per relation")
    p.add_argument("--seed", type=int, default=42, help="seed of the demo sampling: same seed, same prompts")
    p.add_argument("--data_format", choices=re_data.FORMATS, default="auto", help="tacred | ht | auto (detected)")
    p.add_argument("--max_tokens", type=int, default=3500, help="answer length limit (the seed's 3500)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (the seed's 1)")
    re_cli.add_llm_flags(p)
    return p


def build_prompts(args: argparse.Namespace) -> tuple[list[tuple[str, str]], set[str]]:
    """One prompt per relation of the demo file (first-seen order), and the keys of all demos (to drop copies)."""
    demos = re_data.load_samples(args.demo_path, args.data_format)
    for s in demos:
        for name in ("subj_type", "obj_type"):
            if getattr(s, name) is None:
                raise DataError(s.path, s.line, "missing (the DA prompt shows entity types)", field=name)
    template = re_prompts.read_template("da", allowed={"types", "relation", "n", "sample"})
    types = ", ".join(re_da.display_type(t) for t in re_da.ENTITY_TYPES[args.dataset])
    by_rel: dict[str, list] = {}
    for s in demos:
        by_rel.setdefault(s.relation, []).append(s)
    few = [f"{r} ({len(v)})" for r, v in by_rel.items() if len(v) < args.k]
    if few:
        re_cli.warn(f"fewer than k={args.k} demos, using all there are: {', '.join(few)}")
    items = []
    for rel, pool in by_rel.items():
        chosen = random.Random(f"{args.seed}:{rel}").sample(pool, min(args.k, len(pool)))
        lines = [template.header.format(types=types, relation=rel)]
        lines += [template.demo.format(sample=re_da.demo_line(d)) for d in chosen]
        lines.append(template.query.format(n=args.num_per_relation, relation=rel))
        items.append((rel, "\n".join(lines)))
    return items, {re_da.sample_key(s.relation, s.sentence, s.head, s.tail) for s in demos}


def main(args: argparse.Namespace) -> dict:
    from core.llm import create_backend, run_prompts

    if args.k < 1 or args.num_per_relation < 1:
        raise UserError("--k and --num_per_relation must be >= 1")
    cfg = re_cli.llm_config(args)
    items, demo_keys = build_prompts(args)
    out_dir = Path(args.output_dir)
    raw_file, out_file = out_dir / "generated.raw.jsonl", out_dir / "generated.json"
    re_cli.check_raw(raw_file, items, "--k, --seed, --dataset, --num_per_relation or the demos", "--output_dir")
    existing = read_records(out_file, required={"id": str}) if out_file.exists() else []
    with create_backend(cfg) as backend:
        results = run_prompts(backend, items, raw_file, max_tokens=args.max_tokens, temperature=args.temperature,
                              desc="gpt3DA")
    allowed = re_da.ENTITY_TYPES[args.dataset]
    collector = re_da.Collector(existing, demo_keys)
    failed, kept = 0, Counter()
    for rel, _ in items:
        for completion in results[rel]:
            if not completion.ok:
                failed += 1
                continue
            for fields in re_da.parse_generated(completion.text):
                kept[rel] += collector.add(fields, rel, allowed) is not None
    write_jsonl(out_file, collector.records.values())
    report = {"kept": collector.kept, "dropped": dict(collector.dropped), "failed_requests": failed,
              "kept_per_relation": {rel: kept[rel] for rel, _ in items}, "total_in_file": len(collector.records),
              "output": str(out_file)}
    write_json(out_dir / "da_report.json", report)
    dropped = ", ".join(f"{k} {v}" for k, v in collector.dropped.items() if v) or "none"
    print(f"kept {collector.kept} new samples ({len(collector.records)} in {out_file}); dropped: {dropped}; "
          f"failed requests: {failed}")
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    re_cli.run(make_parser, main)
