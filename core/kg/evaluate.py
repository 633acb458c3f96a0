"""How good is a graph? Node and edge P/R/F1 against a gold graph, and what no triple F1 shows.

    python -m core.kg eval --gold tests/data/resolve/gold.jsonl --pred tests/data/resolve/records.jsonl --resolve

A predicted node *matches* a gold entity when they share a name (strict: the node's name = the entity's name;
alias-aware: any of the node's name and aliases = any of the entity's name and aliases) and their types are
compatible (same type class, or either has no type). Nodes and entities are paired one to one (a maximum matching),
so two nodes for one entity give one correct node and one wrong one. A predicted edge is correct when its relation
equals a gold edge's and its two ends match that edge's two entities; edges are paired one to one too. P/R/F1 come
from `core.metrics.prf` (correct, predicted, gold). Beside them:

- per relation: the same edge P/R/F1, one relation at a time;
- duplicates: gold entities that two or more predicted nodes match (alias-aware), as a share of the gold entities
  found at all; `pairs`: the node pairs the gold says are one entity;
- over-merges: predicted nodes that match two or more gold entities, as a share of the nodes that match any;
- grounding (when edges carry it, see core.kg.evidence): each edge counts as its best-grounded statement, a statement
  as its worse end (exact > fuzzy > ungrounded; any other status counts as ungrounded); shares over the edges that
  carry a status, `null` when none does;
- schema conformance (with --schema, core.schema's file): edges whose relation is in the schema and, where the schema
  gives the relation a [head type, tail type], whose ends have those types (by class); node types in the schema;
- cost (with --run_report): requests and tokens per correct (alias-aware) edge.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from core.extract.resolve_rules import type_class
from core.kg.gold import Gold
from core.kg.graph import Graph
from core.kg.names import normalize_name
from core.metrics import prf

RANK = {"exact": 0, "fuzzy": 1, "ungrounded": 2}
MAX_EXAMPLES = 20


def matching(cands: list[list[int]], n_right: int) -> list[int]:
    """A maximum one-to-one matching (augmenting paths, iterative): right index -> left index or -1."""
    match_r = [-1] * n_right
    for left, options in enumerate(cands):
        if not options:
            continue
        visited: set[int] = set()
        stack = [[left, iter(options), -1]]
        while stack:
            frame = stack[-1]
            r = next((r for r in frame[1] if r not in visited), None)
            if r is None:
                stack.pop()
                continue
            visited.add(r)
            frame[2] = r
            if match_r[r] == -1:
                for f in stack:
                    match_r[f[2]] = f[0]
                break
            stack.append([match_r[r], iter(cands[match_r[r]]), -1])
    return match_r


def _classes(types: list[str]) -> set[str]:
    return {c for c in map(type_class, types) if c}


def node_candidates(gold: Gold, graph: Graph, aliases: bool) -> list[list[int]]:
    """For each predicted node, the gold entities it matches (see the module docstring)."""
    index: dict[str, list[int]] = {}
    for g, ent in enumerate(gold.entities):
        for name in (ent.name, *ent.aliases) if aliases else (ent.name,):
            index.setdefault(name, []).append(g)
    gcls = [ent.classes for ent in gold.entities]
    out = []
    for node in graph.nodes:
        names = (node.name, *node.aliases) if aliases else (node.name,)
        pcls = _classes(node.types)
        found = dict.fromkeys(g for n in names for g in index.get(normalize_name(n), ()))
        out.append([g for g in found if not pcls or not gcls[g] or pcls & gcls[g]])
    return out


def _edge_scores(gold: Gold, graph: Graph, cands: list[list[int]]) -> tuple[dict, dict, list[int]]:
    gidx = {key: i for i, key in enumerate(gold.edges)}
    ecands = []
    for e in graph.edges:
        rel = normalize_name(e.relation)
        ecands.append([gidx[k] for gh in cands[e.head] for gt in cands[e.tail] if (k := (gh, rel, gt)) in gidx])
    match = matching(ecands, len(gold.edges))
    correct_pred = [0] * len(graph.edges)
    for left in match:
        if left >= 0:
            correct_pred[left] = 1
    tp = sum(correct_pred)
    overall = {**prf(tp, len(graph.edges), len(gold.edges)), "correct": tp, "pred": len(graph.edges),
               "gold": len(gold.edges)}  # fmt: skip
    per: dict[str, Counter] = {}
    for e, ok in zip(graph.edges, correct_pred, strict=True):
        c = per.setdefault(normalize_name(e.relation), Counter())
        c["pred"] += 1
        c["correct"] += ok
    for _, rel, _ in gold.edges:
        per.setdefault(rel, Counter())["gold"] += 1
    rels = {r: {**prf(c["correct"], c["pred"], c["gold"]), "correct": c["correct"], "pred": c["pred"],
                "gold": c["gold"]} for r, c in sorted(per.items())}  # fmt: skip
    return overall, rels, correct_pred


def _nodes(gold: Gold, graph: Graph, cands: list[list[int]]) -> dict:
    tp = sum(1 for left in matching(cands, len(gold.entities)) if left >= 0)
    return {**prf(tp, len(graph.nodes), len(gold.entities)), "correct": tp, "pred": len(graph.nodes),
            "gold": len(gold.entities)}  # fmt: skip


def _merges(gold: Gold, graph: Graph, cands: list[list[int]]) -> tuple[dict, dict]:
    nodes_of: dict[int, list[int]] = {}
    for p, gs in enumerate(cands):
        for g in gs:
            nodes_of.setdefault(g, []).append(p)
    split = [g for g, ps in nodes_of.items() if len(ps) > 1]
    pairs = sum(len(ps) * (len(ps) - 1) // 2 for ps in nodes_of.values())
    over = [p for p, gs in enumerate(cands) if len(gs) > 1]
    matched = sum(1 for gs in cands if gs)
    dup = {"rate": len(split) / len(nodes_of) if nodes_of else 0.0, "entities_split": len(split),
           "entities_found": len(nodes_of), "pairs": pairs,
           "examples": [[graph.nodes[p].name for p in nodes_of[g]] for g in split[:MAX_EXAMPLES]]}  # fmt: skip
    om = {"rate": len(over) / matched if matched else 0.0, "nodes": len(over), "nodes_matched": matched,
          "examples": [{"node": graph.nodes[p].name, "gold": [gold.entities[g].id for g in cands[p]]}
                       for p in over[:MAX_EXAMPLES]]}  # fmt: skip
    return dup, om


def grounding(graph: Graph) -> dict | None:
    counts: Counter = Counter()
    for e in graph.edges:
        best = None
        for p in e.provenance:
            g = p.get("grounding") if isinstance(p, dict) else None
            if not isinstance(g, dict):
                continue
            worst = max(RANK.get(g.get("head"), 2), RANK.get(g.get("tail"), 2))
            best = worst if best is None else min(best, worst)
        counts["unknown" if best is None else ("exact", "fuzzy", "ungrounded")[best]] += 1
    n = sum(counts[k] for k in RANK)
    if not n:
        return None
    return {"edges": n, **{k: counts[k] / n for k in RANK}, **{f"{k}_edges": counts[k] for k in RANK},
            "without_status": counts["unknown"]}  # fmt: skip


def schema_conformance(graph: Graph, schema: Any) -> dict:
    known = {type_class(t) for t in schema.entity_types}
    rels = {normalize_name(r) for r in schema.relation_types}
    sigs = {normalize_name(r): (type_class(h), type_class(t)) for r, (h, t) in schema.signatures.items()}
    ok_edges = 0
    for e in graph.edges:
        rel = normalize_name(e.relation)
        ok = not rels or rel in rels
        if ok and rel in sigs:
            h, t = sigs[rel]
            ok = h in _classes(graph.nodes[e.head].types) and t in _classes(graph.nodes[e.tail].types)
        ok_edges += ok
    typed = [n for n in graph.nodes if n.types]
    ok_nodes = sum(1 for n in typed if not known or all(type_class(t) in known for t in n.types))
    return {"edges": ok_edges / len(graph.edges) if graph.edges else 0.0, "edges_conforming": ok_edges,
            "edges_total": len(graph.edges), "node_types": ok_nodes / len(typed) if typed else 0.0,
            "nodes_conforming": ok_nodes, "nodes_typed": len(typed)}  # fmt: skip


def cost(report: dict, correct: int) -> dict:
    def per(v: int | None) -> float | None:
        return v / correct if v is not None and correct else None

    return {"requests": report["requests"], "tokens": report["tokens"], "correct_triples": correct,
            "requests_per_correct_triple": per(report["requests"]),
            "tokens_per_correct_triple": per(report["tokens"])}  # fmt: skip


def evaluate(gold: Gold, graph: Graph, schema: Any = None, run_report: dict | None = None) -> dict:
    """Every figure of `core.kg eval` as one JSON-ready dict (see the module docstring)."""
    out: dict[str, Any] = {"gold": {"entities": len(gold.entities), "edges": len(gold.edges)},
                           "pred": {"nodes": len(graph.nodes), "edges": len(graph.edges)},
                           "nodes": {}, "edges": {}, "relations": {}}  # fmt: skip
    for mode, aliases in (("strict", False), ("alias", True)):
        cands = node_candidates(gold, graph, aliases)
        out["nodes"][mode] = _nodes(gold, graph, cands)
        out["edges"][mode], rels, _ = _edge_scores(gold, graph, cands)
        for rel, scores in rels.items():
            out["relations"].setdefault(rel, {})[mode] = scores
        if aliases:
            out["duplicates"], out["over_merges"] = _merges(gold, graph, cands)
    out["grounding"] = grounding(graph)
    out["schema"] = schema_conformance(graph, schema) if schema is not None else None
    out["cost"] = cost(run_report, out["edges"]["alias"]["correct"]) if run_report is not None else None
    return out


def read_run_report(path: Any) -> dict:
    """`requests` and `tokens` from a run report (JSON object): top level or under `usage`; tokens as `tokens`,
    `total_tokens`, or `prompt_tokens` + `completion_tokens`. DataError naming the file when neither is there."""
    from core.io import DataError, read_json

    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(path, None, "a run report must be a JSON object")
    src = {**data, **data["usage"]} if isinstance(data.get("usage"), dict) else data

    def number(key: str) -> int | None:
        v = src.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise DataError(path, None, "expected a whole number >= 0", field=key)
        return v

    tokens = number("tokens")
    tokens = number("total_tokens") if tokens is None else tokens
    if tokens is None and (number("prompt_tokens") is not None or number("completion_tokens") is not None):
        tokens = (number("prompt_tokens") or 0) + (number("completion_tokens") or 0)
    requests = number("requests")
    if requests is None and tokens is None:
        raise DataError(path, None, "a run report needs requests and/or tokens (or usage.prompt_tokens ...)")
    return {"requests": requests, "tokens": tokens}


def _pad(text: str, width: int) -> str:
    """Left-aligned in `width` terminal columns (a Chinese character takes two)."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def _row(label: str, s: dict) -> str:
    return f"{_pad(label, 34)} {s['precision']:9.4f} {s['recall']:9.4f} {s['f1']:9.4f} {s['correct']:8d} {s['pred']:6d} " \
           f"{s['gold']:6d}"  # fmt: skip


def render_table(r: dict) -> str:
    lines = [f"{'':<34} {'precision':>9} {'recall':>9} {'f1':>9} {'correct':>8} {'pred':>6} {'gold':>6}"]
    for what in ("nodes", "edges"):
        for mode in ("strict", "alias"):
            lines.append(_row(f"{what} ({mode})", r[what][mode]))
    for rel, modes in r["relations"].items():
        for mode in ("strict", "alias"):
            lines.append(_row(f"  {rel[:22]} ({mode})", modes[mode]))
    d, o = r["duplicates"], r["over_merges"]
    lines.append(f"duplicates: {d['entities_split']} of {d['entities_found']} gold entities found are split over "
                 f"several nodes (rate {d['rate']:.4f}); {d['pairs']} node pairs are one gold entity")
    lines.append(f"over-merges: {o['nodes']} of {o['nodes_matched']} matched nodes join two or more gold entities "
                 f"(rate {o['rate']:.4f})")
    g = r["grounding"]
    lines.append("grounding: n/a (no edge carries a grounding status)" if g is None else
                 f"grounding: exact {g['exact']:.4f} ({g['exact_edges']}), fuzzy {g['fuzzy']:.4f} ({g['fuzzy_edges']}),"
                 f" ungrounded {g['ungrounded']:.4f} ({g['ungrounded_edges']}) of {g['edges']} edges with a status"
                 f" ({g['without_status']} without)")  # fmt: skip
    s = r["schema"]
    lines.append("schema: n/a (no --schema)" if s is None else
                 f"schema: edges {s['edges']:.4f} ({s['edges_conforming']}/{s['edges_total']}), node types "
                 f"{s['node_types']:.4f} ({s['nodes_conforming']}/{s['nodes_typed']})")  # fmt: skip
    c = r["cost"]
    if c is None:
        lines.append("cost: n/a (no --run_report)")
    else:
        def f(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.4f}"

        lines.append(f"cost: {c['requests']} requests, {c['tokens']} tokens, {c['correct_triples']} correct triples: "
                     f"{f(c['requests_per_correct_triple'])} requests and {f(c['tokens_per_correct_triple'])} tokens "
                     "per correct triple")  # fmt: skip
    return "\n".join(lines)
