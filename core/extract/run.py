"""The document run: read -> chunk -> ask per (chunk, schema batch, pass) -> parse -> ground -> resolve -> graph.

    python -c "from core.extract.run import OUTPUT_FILES; print(OUTPUT_FILES)"

Files in the output folder (each written atomically, except raw.jsonl, which grows as answers arrive):
  chunks.jsonl       one line per chunk: id `doc::chunk`, document, index, start, end (characters), tokens, text
  raw.jsonl          every answer verbatim (core.llm.run_prompts: the one resume rule). Request ids are
                     `doc::chunk::batch::pass`; a rerun asks only what is not answered there for the same prompt
  extractions.jsonl  one line per request: id, document, chunk, batch, pass, status (core.records' vocabulary),
                     issues, the facts read, how many were new, raw
  mentions.jsonl     one line per distinct fact and evidence, grounded and flagged (core.extract.mentions)
  merges.jsonl       entity resolution's merge log (core.extract.resolve), unless --no_resolve
  graph.jsonl (+ graph.html, ...)  the graph (core.kg), every edge with its evidence
  report.json        documents, chunks, requests, tokens (and usage), cache hits, seconds, per-pass additions, triples kept /
                     flagged / dropped by reason (also printed)
Gleaning: pass 1 asks every (chunk, batch); pass k > 1 asks again, listing what was found, only those whose pass
k-1 added a new fact; `--passes N` is the most.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.extract import graph as kg
from core.extract.chunking import CJK, TokenCounter, chunk_document
from core.extract.config import ExtractConfig
from core.extract.extractors import Extractor, facts, get_extractor
from core.extract.mentions import MentionBuilder, fact_key
from core.extract.readers import read_inputs
from core.io import write_json, write_jsonl
from core.records import FAILED, Parsed
from core.schema import Schema

OUTPUT_FILES = ("chunks.jsonl", "raw.jsonl", "extractions.jsonl", "mentions.jsonl", "merges.jsonl", "graph.jsonl",
                "report.json")


def language_of(text: str, sample: int = 4000) -> str:
    """cn when at least a fifth of the letters (of the first `sample` characters) are CJK, else en."""
    import re

    head = text[:sample]
    letters = sum(ch.isalpha() for ch in head)
    cjk = len(re.findall(f"[{CJK}]", head))
    return "cn" if letters and cjk / letters >= 0.2 else "en"


def token_counter(config: ExtractConfig, llm: Any = None) -> TokenCounter:
    path = config.tokenizer or (llm.base_model if llm is not None and llm.backend == "hf" else None)
    return TokenCounter.from_tokenizer(path) if path else TokenCounter.estimate()


def run(config: ExtractConfig, backend: Any = None, llm: Any = None, *, counter: TokenCounter | None = None,
        quiet: bool = False) -> dict:
    """Run everything; returns the report. `backend`: a core.llm backend (the caller closes it), else one is made
    from `llm` (a core.llm.LLMConfig)."""
    config.check_required()
    started = time.monotonic()
    schema = Schema.load(config.schema)
    extractor = get_extractor(config.task)
    resolving = _resolving(config, quiet)  # a bad --decisions file stops the run before anything is asked
    docs, unreadable = read_inputs(config.input, config.text_field, quiet=quiet)
    if not docs:
        raise UserError("no document could be read" + (f" ({len(unreadable)} skipped)" if unreadable else ""))
    counter = counter or token_counter(config, llm)
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    chunks, sentences = [], {}
    for doc in docs:
        doc_chunks, sentences[doc.id] = chunk_document(doc.text, config.chunk_tokens, config.overlap_tokens, counter,
                                                       doc.id)
        chunks.extend(doc_chunks)
    write_jsonl(out / "chunks.jsonl", [{"id": c.id, "document": c.document, "index": c.index, "start": c.start,
                                        "end": c.end, "tokens": c.tokens, "text": c.text} for c in chunks])
    languages = {d.id: language_of(d.text) if config.language == "auto" else config.language for d in docs}
    batches = schema.batches(config.schema_batch)
    own = backend is None
    if own:
        from core.llm import create_backend

        if llm is None:
            raise UserError("no model: give a backend or an LLMConfig")
        backend = create_backend(llm)
    try:
        before = backend.stats.as_dict() if getattr(backend, "stats", None) else {}
        rows, passes, resumed = _ask_all(backend, extractor, chunks, batches, languages, config, out)
        after = backend.stats.as_dict() if getattr(backend, "stats", None) else {}
        model = getattr(backend, "model", None)
    finally:
        if own:
            backend.close()
    builder = MentionBuilder(schema, {c.id: c for c in chunks}, {d.id: d.text for d in docs}, sentences,
                             float(config.fuzzy_threshold))
    malformed = 0
    for row in rows:
        builder.add(row, row.pop("__new__"))
        malformed += row.pop("__bad__")
    write_jsonl(out / "extractions.jsonl", rows)
    write_jsonl(out / "mentions.jsonl", builder.mentions)
    for line, m in enumerate(builder.mentions, start=1):
        m["__line__"] = line
    chosen = builder.in_graph(config.keep_ungrounded, config.keep_invalid)
    if not resolving:
        (out / "merges.jsonl").unlink(missing_ok=True)  # an earlier run's merge log is not this graph's
    graph = kg.build(chosen, str(out / "mentions.jsonl"), resolving, config.decisions,
                     out / "merges.jsonl" if resolving else None)
    graph.meta["extract"] = {"model": model, "task": config.task, "schema": str(config.schema)}
    written = kg.export_all(graph, out, config.formats)
    statuses = Counter(r["status"] for r in rows)
    usage = Counter()
    for r in rows:
        for k, v in (r.get("usage") or {}).items():
            if isinstance(v, int):
                usage[k] += v
    dropped = dict(builder.dropped)
    if malformed:
        dropped["malformed"] = malformed
    report = {
        "documents": len(docs), "unreadable": unreadable, "chunks": len(chunks),
        "chunk_tokens": config.chunk_tokens, "overlap_tokens": config.overlap_tokens, "token_counter": counter.name,
        "schema_batches": len(batches), "task": config.task, "model": model,
        "requests": sum(p["requests"] for p in passes), "sent": after.get("sent", 0) - before.get("sent", 0),
        "cache_hits": after.get("cached", 0) - before.get("cached", 0), "resumed": resumed,
        "failed": statuses.get(FAILED, 0), "status": dict(statuses),
        "tokens": usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0),
        "usage": {k: usage.get(k, 0) for k in ("prompt_tokens", "completion_tokens")},
        "passes": passes,
        "triples": {"extracted": sum(len(r["facts"]) for r in rows), "mentions": len(builder.mentions),
                    "kept": sum(m["kept"] for m in builder.mentions), "flagged": dict(builder.flagged),
                    "dropped": dropped, "in_graph": len(chosen)},
        "resolution": graph.meta.get("resolution") or ("off" if config.no_resolve else "not available"),
        "graph": {"nodes": len(graph.nodes), "edges": len(graph.edges)},
        "files": {"folder": str(out), **written},
        "seconds": round(time.monotonic() - started, 3),
    }
    write_json(out / "report.json", report)
    if not quiet:
        print("\n".join(summary_lines(report)), file=sys.stderr)
    return report


def summary_lines(r: dict) -> list[str]:
    """The report in a few lines (report.json has everything)."""
    t, res = r["triples"], r["resolution"]
    lines = [f"extract: {_n(r['documents'], 'document')}, {_n(r['chunks'], 'chunk')} "
             f"({r['chunk_tokens']}-token budget, {r['overlap_tokens']} overlap; {r['token_counter']}), "
             f"{_n(r['schema_batches'], 'schema batch')}; "
             f"{r['requests']} requests: {r['sent']} sent, {r['cache_hits']} from cache, {r['resumed']} resumed, "
             f"{r['failed']} failed; tokens {r['usage']['prompt_tokens']} prompt + "
             f"{r['usage']['completion_tokens']} completion; {r['seconds']:.1f} s",
             "passes: " + "; ".join(f"{p['pass']}: {p['requests']} requests, {p['added']} new facts"
                                    for p in r["passes"]),
             f"answers: {r['status']}",
             f"triples: {t['extracted']} read, {t['mentions']} mentions: {t['kept']} kept, flagged {t['flagged']}, "
             f"dropped {t['dropped']}; {t['in_graph']} go to the graph"]
    if isinstance(res, dict):
        lines.append(f"resolution: {res.get('mentions', 0)} entity mentions -> {res.get('clusters', 0)} entities "
                     f"({res.get('merges', 0)} merges {res.get('by_rule', {})}; "
                     f"{len(res.get('decisions_unmatched') or [])} decisions matched nothing) -> merges.jsonl")
    else:
        lines.append(f"resolution: {res}")
    if r["unreadable"]:
        lines.append(f"unreadable ({len(r['unreadable'])}): " + "; ".join(u["error"] for u in r["unreadable"]))
    lines.append(f"graph: {r['files']['jsonl']} ({r['graph']['nodes']} nodes, {r['graph']['edges']} edges); "
                 f"report: {Path(r['files']['folder']) / 'report.json'}")
    return lines


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 'es' if noun.endswith('ch') else 's'}"


def _resolving(config: ExtractConfig, quiet: bool) -> bool:
    if config.no_resolve:
        return False
    if kg.resolver_available():
        if config.decisions:
            from core.extract.resolve_decisions import read_decisions

            read_decisions(config.decisions)
        return True
    if config.decisions:
        raise UserError("--decisions needs entity resolution (core.extract.resolve), which is not installed here")
    if not quiet:
        print("note: entity resolution (core.extract.resolve) is not available: one node per name", file=sys.stderr)
    return False


def _answered(raw: Path) -> dict:
    """id -> prompt of the answered lines already in the raw file (to count what a rerun does not ask again)."""
    done = {}
    if raw.exists():
        for line in raw.read_text(encoding="utf-8").split("\n"):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and not rec.get("error"):
                done[rec.get("id")] = rec.get("prompt")
    return done


def _read(extractor: Extractor, completion: Any, text: str, batch: Schema) -> Parsed:
    if completion.error is not None:
        return Parsed([], FAILED, [f"request failed: {completion.error}"], raw=completion.text)
    parsed = extractor.parse(completion.text, text, batch)
    parsed.raw = completion.text
    return parsed


def _ask_all(backend: Any, extractor: Extractor, chunks: list, batches: list[Schema], languages: dict,
             config: ExtractConfig, out: Path) -> tuple[list[dict], list[dict], int]:
    from core.pipeline import ask

    raw = out / "raw.jsonl"
    found: dict[tuple[str, int], list[dict]] = {}
    seen: dict[tuple[str, int], set] = {}
    active = [(c, b) for c in chunks for b in range(len(batches))]
    rows, passes, resumed = [], [], 0
    stop = sorted({s for lang in set(languages.values()) for s in extractor.stop(lang)}) or None
    for p in range(1, config.passes + 1):
        if not active:
            break
        items = [(f"{c.id}::{b}::{p}", extractor.prompt(c.text, batches[b], languages[c.document],
                                                         found.get((c.id, b), []) if p > 1 else None))
                 for c, b in active]
        done = _answered(raw)
        resumed += sum(done.get(i) == prompt for i, prompt in items)
        specs = {}
        if getattr(backend, "decoding", "free") != "free" and extractor.spec is not None:
            specs = {rid: spec for (c, b), (rid, _) in zip(active, items, strict=True)
                     if (spec := extractor.spec(c.text, batches[b])) is not None}
        answers = ask(backend, items, raw, desc=f"extract pass {p}", max_tokens=config.max_tokens,
                      temperature=config.temperature, stop=stop, specs=specs)
        next_active, added = [], 0
        for (chunk, b), (rid, _) in zip(active, items, strict=True):
            completion = answers[rid][0]
            parsed = _read(extractor, completion, chunk.text, batches[b])
            got, bad = facts(parsed.pred)
            keys = seen.setdefault((chunk.id, b), set())
            new = []
            for fact in got:
                if fact_key(fact) not in keys:
                    keys.add(fact_key(fact))
                    new.append(fact)
            found.setdefault((chunk.id, b), []).extend(new)
            added += len(new)
            if new:
                next_active.append((chunk, b))
            rows.append({"id": rid, "document": chunk.document, "chunk": chunk.index, "batch": b, "pass": p,
                         "status": parsed.status, "issues": parsed.issues, "facts": got, "new": len(new),
                         "usage": completion.usage, "raw": parsed.raw, "__new__": new,
                         "__bad__": bad + parsed.bad.get("triple", 0)})
        passes.append({"pass": p, "requests": len(items), "added": added})
        active = next_active
    return rows, passes, resumed
