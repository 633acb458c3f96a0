"""Few-shot relation extraction: k demos per relation in one prompt, the model names the test pair's relation.

    python UnleashLLMRE/gpt3ICL.py --help
    python UnleashLLMRE/gpt3ICL.py -tp UnleashLLMRE/data/train.json -ttp UnleashLLMRE/data/test.json -os out/re -on out/re --prompt text_schema --k 1 --base_url http://127.0.0.1:8000/v1

Writes `<-os>/os.json` (JSON lines: each parsed test record + `pr`, the predicted relation), `<-on>/no.json` (JSON
array: records whose answer named no label or whose request failed, `pr` = the raw answer), `<-os>/raw.jsonl`
(every prompt and answer verbatim; a rerun sends only what is missing) and the metrics (`--metrics_file`, default
`<-os>/metrics.json`).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import re_cli  # the case's sibling modules: python puts this script's folder on sys.path
import re_data
import re_metrics
import re_prompts

from core.errors import UserError
from core.io import DataError, atomic_write, dumps, strip_private, write_json


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train_path", "-tp", required=True, help="demo pool: TACRED records, or DeepKE's h/t layout")
    p.add_argument("--test_path", "-ttp", required=True, help="test records (same layouts), each with its gold relation")
    p.add_argument("--output_success", "-os", required=True, help="folder for os.json, raw.jsonl and metrics.json")
    p.add_argument("--output_nores", "-on", required=True, help="folder for no.json (unparsed and failed answers)")
    p.add_argument("--prompt", required=True, choices=re_prompts.VARIANTS,
                   help="prompt variant (UnleashLLMRE/prompts/<name>.txt); *_schema shows the entity types")
    p.add_argument("--k", type=int, default=1, help="demos per relation (all there are when a relation has fewer)")
    p.add_argument("--seed", type=int, default=42, help="seed of the demo sampling: same seed, same prompts")
    p.add_argument("--da_path", nargs="+", default=[], help="generated samples (gpt3DA.py's generated.json) added to "
                                                            "the demo pool")
    p.add_argument("--data_format", choices=re_data.FORMATS, default="auto",
                   help="tacred | ht (DeepKE few-shot: h/t + rel2id.json) | auto: detected from the first record")
    p.add_argument("--rel2id_path", default=None, help="relation list as {relation: id}; default: rel2id.json beside "
                                                       "--train_path in the ht layout, else the relations of the data")
    p.add_argument("--metrics_file", default=None, help="where the scores go as JSON (default <-os>/metrics.json)")
    p.add_argument("--max_tokens", type=int, default=128, help="answer length limit (the seed's 128)")
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (the seed's 0)")
    re_cli.add_llm_flags(p)
    return p


def load_data(args: argparse.Namespace, template: re_prompts.Template):
    fmt = args.data_format
    pool = re_data.load_samples(args.train_path, fmt)
    for path in args.da_path:
        pool += re_data.load_samples(path, "tacred")
    test = re_data.load_samples(args.test_path, fmt)
    rel2id_path = args.rel2id_path
    if rel2id_path is None and (fmt == "ht" or (fmt == "auto" and re_data.file_format(args.train_path) == "ht")):
        rel2id_path = re_data.find_rel2id(args.train_path)
    rel2id = re_data.load_rel2id(rel2id_path) if rel2id_path else None
    labels, no_demo = re_data.relation_list(pool, test, rel2id, str(rel2id_path or ""))
    if no_demo:
        re_cli.warn(f"{len(no_demo)} relation(s) have no demo in the pool but stay candidates: {', '.join(no_demo)}")
    if template.uses_types:
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


def main(args: argparse.Namespace) -> dict:
    from core.llm import create_backend, run_prompts

    if args.k < 1:
        raise UserError(f"--k must be >= 1, got {args.k}")
    cfg = re_cli.llm_config(args)
    template = re_prompts.read_template(args.prompt)
    pool, test, labels = load_data(args, template)
    label_set = re_prompts.LabelSet(labels)
    items = []
    for s in test:
        demos = re_prompts.choose_demos(pool, label_set.relations, args.k, re_prompts.item_rng(args.seed, s.id))
        items.append((s.id, re_prompts.build_prompt(template, label_set, demos, s)))
    out_dir, nores_dir = Path(args.output_success), Path(args.output_nores)
    raw_file = out_dir / "raw.jsonl"
    re_cli.check_raw(raw_file, items, "--prompt, --k, --seed or the data", "--output_success folder")
    with create_backend(cfg) as backend:
        results = run_prompts(backend, items, raw_file, max_tokens=args.max_tokens, temperature=args.temperature,
                              desc="gpt3ICL")
    success, nores, preds, failed = [], [], [], 0
    for s in test:
        answer = results[s.id][0]
        record = strip_private(s.record)
        rel = label_set.parse(answer.text) if answer.ok else None
        preds.append(rel)
        if rel is not None:
            success.append({**record, "pr": rel})
        else:
            failed += not answer.ok
            nores.append({**record, "pr": answer.text, **({"error": answer.error} if not answer.ok else {})})
    with atomic_write(out_dir / "os.json") as fh:
        fh.writelines(dumps(r) + "\n" for r in success)
    no_file = nores_dir / "no.json"
    if nores:
        write_json(no_file, nores)
    elif no_file.exists():
        no_file.unlink()  # left from an earlier run whose failures are now answered
    metrics = re_metrics.score([s.relation for s in test], preds, labels, failed=failed)
    metrics_file = Path(args.metrics_file) if args.metrics_file else out_dir / "metrics.json"
    write_json(metrics_file, metrics)
    print(re_metrics.format_table(metrics))
    print(json.dumps({k: metrics[k] for k in ("acc", "micro_p", "micro_r", "micro_f1", "unparsed", "failed")}))
    return metrics


if __name__ == "__main__":
    re_cli.run(make_parser, main)
