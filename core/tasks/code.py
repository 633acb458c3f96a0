"""code: CodeKGC's triple extraction with code-style prompts; parse with `ast` only, vote over samples, score triples.

    python -c "from core.tasks.code import CodeTask; from core.tasks.code_schema import load_schema; t = CodeTask(load_schema('CodeKGC/data/schema.json')); print(t.prompt(t.schema.code, '', 'Ann Lee works for Acme .'))"

Record: {"text", "triple_list"?: [[head, relation, tail] | {"head", "head_type"?, "relation", "tail", "tail_type"?}],
"id"?}. The prompt is the schema as Python classes + the demos as code + the text as a docstring (the skeleton is
core/prompts/code.en.v1.txt; schema and demos are the user's data, core.tasks.code_schema turns them into code).
Completion models get the raw code and continue it; chat models get it after the prompt's instruction. Answers are
read by core.tasks.code_parse (never run). With n samples per text, `vote` keeps the triples at least a threshold of
them contain. Scoring: (head, relation, tail) stripped, case-sensitive, once per record, micro and per relation
through core.metrics.micro_prf; unparsable answers and failed requests are counted apart (`parse_failures`,
`request_failures`) and add no prediction, as CodeKGC always scored.

Documents (`kgllm extract --task code`, core.extract): `document_prompt(text, schema, language, found)` writes the
schema batch (a core.schema.Schema) as classes, then the passage as the docstring; a gleaning pass (`found`) puts
the triples found so far, as code, in comment lines (the kg prompt's `glean` wording) before the docstring. The
answer is read by `parse` as above (types are the class names the answer uses: the schema's names wherever they are
Python identifiers). Chat or completions as for records: `chat=False` gives the raw code a completion model
continues, `chat=True` the chat messages; when the caller does not say (None), the chat messages, which a
completion model reads as text ending in that same code. `document_stop(language, chat)` gives the matching stop
sequences (`stop_chat` when chat or not said: it also ends a completion at the next docstring).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

from core.io import DataError
from core.metrics import micro_prf
from core.records import FAILED, STATUSES, UNPARSABLE, Parsed
from core.tasks.base import Task, register_task
from core.tasks.code_parse import FIELDS, parse_code
from core.tasks.code_schema import (
    PROMPT,
    CodeSchema,
    demos_to_code,
    docstring,
    extract_code,
    read_text,
    schema_from_json,
    sections,
    triples_of,
)


def key(triple: dict | list | tuple) -> tuple[str, str, str]:
    """What scoring compares: (head, relation, tail), stripped."""
    if isinstance(triple, dict):
        return (str(triple["head"]).strip(), str(triple["relation"]).strip(), str(triple["tail"]).strip())
    return tuple(str(x).strip() for x in triple[:3])  # type: ignore[return-value]


class CodeTask(Task):
    """The registered task has no schema (nothing is flagged); a run uses `CodeTask(schema)`."""

    name = "code"
    pred_field = "triples"
    units = ()  # CodeKGC's scoring: an unreadable answer adds no prediction (counted in parse/request failures)
    optional = {"id": (str, int), "triple_list": list}

    def __init__(self, schema: CodeSchema | None = None, n: int = 1, threshold: float = 0.5):
        self.schema, self.n, self.threshold = schema, n, threshold

    def combine(self, samples: list[Parsed]) -> Parsed:
        return combine(samples, self.n, self.threshold)

    def sample_fields(self, texts: list[str], samples: list[Parsed]) -> dict:
        """The verbatim answers (`completions`), and each sample's status when there are several."""
        return {"completions": texts, **({"sample_status": [p.status for p in samples]} if len(samples) > 1 else {})}

    def check_more(self, rec: dict) -> None:
        if rec.get("triple_list") is not None:
            rec["__gold__"] = triples_of(rec["triple_list"])  # typed, for demos
            rec["triple_list"] = [[t["head"], t["relation"], t["tail"]] for t in rec["__gold__"]]

    # ---- prompts ----------------------------------------------------------------------------------------------
    @staticmethod
    def prompt(schema_code: str, icl_code: str, text: str) -> str:
        """schema + ICL examples + the text as a docstring; the model continues with `extract = ...`."""
        parts = [schema_code.strip("\n"), icl_code.strip("\n"), docstring(text)]
        return "\n\n".join(p for p in parts if p) + "\n"

    @staticmethod
    def chat_messages(prompt: str) -> list[dict]:
        """The same code for a chat model, after the instruction to continue it."""
        s = sections()
        return [{"role": "system", "content": s["system"]},
                {"role": "user", "content": f"{s['instruction']}\n\n{prompt}"}]

    @staticmethod
    def stop(chat: bool) -> list[str]:
        """Completion models: the next docstring or a second statement ends the answer; chat models often open a
        fence first ("```python\\nextract = ..."), so only the next docstring does (sections stop / stop_chat)."""
        from core.prompts import stop_sequences

        return stop_sequences(PROMPT, "stop_chat" if chat else "stop")

    # ---- documents (core.extract) ------------------------------------------------------------------------------
    def document_prompt(self, text: str, schema, language: str = "en", found: list[dict] | None = None,
                        chat: bool | None = None) -> str | list[dict]:
        """One passage and one schema batch (core.schema.Schema) as code; `found`: the gleaning pass's triples."""
        from core.prompts import fill, load_sections

        code_schema = schema_from_json(schema)
        glean = ""
        if found:
            lines = extract_code([{k: f[k] for k in FIELDS if f.get(k)} for f in found], code_schema)
            block = fill(load_sections(f"kg.{language}", required=("glean",))["glean"], {"found": lines})
            glean = "\n".join(f"# {line}".rstrip() for line in block.splitlines())
        code = self.prompt(code_schema.code, glean, text)
        return code if chat is False else self.chat_messages(code)

    def document_stop(self, language: str = "en", chat: bool | None = None) -> list[str]:
        """Stop sequences for `document_prompt`'s answers (the code prompt is the same in every language)."""
        return self.stop(chat is not False)

    def demos_code(self, path: str | Path) -> str:
        """A `.json`/`.jsonl` file of labelled records becomes code; anything else is DeepKE's 2023 ICL prompt, as is."""
        if Path(path).suffix.lower() in (".json", ".jsonl"):
            records = self.read(path)
            return demos_to_code([(r["text"], r.get("__gold__") or []) for r in records], self.schema or CodeSchema())
        return read_text(path)

    # ---- answers ----------------------------------------------------------------------------------------------
    def parse(self, text: str, rec: dict, labels: list[str] | None = None) -> Parsed:
        """`labels` is not used: the schema the prompt declared is what answers are checked against."""
        return parse_code(text, self.schema)

    def output_fields(self, rec: dict, parsed: Parsed) -> dict:
        return {"triples": parsed.pred}

    def has_gold(self, rec: dict) -> bool:
        return rec.get("__gold__") is not None

    def score(self, pairs: list[tuple[dict, Parsed]], labels: list[str] | None = None, language: str = "en") -> dict:
        gold = [{key(t) for t in rec["__gold__"]} for rec, _ in pairs]
        pred = [{key(t) for t in parsed.pred or []} for _, parsed in pairs]
        per_relation = {}
        for rel in sorted({k[1] for keys in gold + pred for k in keys}):
            per_relation[rel] = _counts(micro_prf([{k for k in g if k[1] == rel} for g in gold],
                                                  [{k for k in p if k[1] == rel} for p in pred]))
        statuses = Counter(parsed.status for _, parsed in pairs)
        return {"micro": _counts(micro_prf(gold, pred)), "per_relation": per_relation,
                "parse_failures": statuses[UNPARSABLE], "request_failures": statuses[FAILED],
                "out_of_schema": sum(1 for _, p in pairs for t in p.pred or [] if t.get("flags"))}

    def rows_to_pairs(self, rows: list[dict], path: str | Path) -> list[tuple[dict, Parsed]]:
        """Output lines (record + `triples` + envelope) back into (record, Parsed): what score-only reads."""
        pairs = []
        for row in rows:
            rec = self.check({k: v for k, v in row.items() if k != "__line__"}, path, row.get("__line__"))
            try:
                pairs.append((rec, Parsed.from_dict(row, pred_key=self.pred_field)))
            except ValueError as exc:
                raise DataError(path, row.get("__line__"), str(exc).split(": ", 1)[-1], field="status") from None
        return pairs


def _counts(m: dict) -> dict:
    """micro_prf's result in CodeKGC's metric fields: precision, recall, f1, tp, pred, gold."""
    return {"precision": m["precision"], "recall": m["recall"], "f1": m["f1"], "tp": m["correct"],
            "pred": m["pred"], "gold": m["gold"]}


def vote(samples: list[list[dict]], n: int, threshold: float) -> list[dict]:
    """Triples found in at least `threshold` of the `n` samples (failed samples vote for nothing).

    Each sample votes once per (head, relation, tail); the typed form most samples used is kept, and the triples come
    out in the order they were first seen. n == 1 keeps the one sample as it is.
    """
    if n <= 1 and len(samples) <= 1:
        return list(samples[0]) if samples else []
    need = max(1, math.ceil(threshold * n - 1e-9))
    votes: Counter = Counter()
    forms: dict[tuple, Counter] = defaultdict(Counter)
    first: dict[tuple, dict] = {}
    for triples in samples:
        seen = set()
        for t in triples:
            k = key(t)
            forms[k][tuple(t.get(f) for f in FIELDS)] += 1
            first.setdefault(k, t)
            if k not in seen:
                seen.add(k)
                votes[k] += 1
    out = []
    for k in first:
        if votes[k] >= need:
            form = forms[k].most_common(1)[0][0]
            triple = next(t for s in samples for t in s if tuple(t.get(f) for f in FIELDS) == form)
            out.append({**triple, "votes": votes[k]})
    return out


def combine(samples: list[Parsed], n: int, threshold: float) -> Parsed:
    """One envelope for the n parsed samples of a text: the voted triples, the best sample status, every sample's
    issues ("sample k: ..."), the first sample's raw answer."""
    if len(samples) == 1 and (n <= 1 or samples[0].status == FAILED):
        return samples[0]  # one answer, or a failed request (run_prompts gives one failed completion for it)
    issues = [f"sample {k}: {issue}" for k, p in enumerate(samples, start=1) for issue in p.issues]
    status = min((p.status for p in samples), key=STATUSES.index)
    return Parsed(vote([p.pred or [] for p in samples], n, threshold), status, issues,
                  raw=samples[0].raw if samples else "")


def summary_lines(metrics: dict) -> list[str]:
    """The metrics as a few aligned lines for the terminal."""
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(metrics.get("status", {}).items()))
    lines = [f"records {metrics['records']} ({statuses}); parse failures {metrics.get('parse_failures', 0)}, "
             f"request failures {metrics.get('request_failures', 0)}, out-of-schema triples "
             f"{metrics.get('out_of_schema', 0)}"]
    if not metrics.get("scored"):
        return lines + ["no gold triple_list in the input: nothing scored"]
    width = max([5] + [len(r) for r in metrics["per_relation"]])
    for name, s in [("micro", metrics["micro"]), *metrics["per_relation"].items()]:
        lines.append(f"{name:<{width}}  P {s['precision']:.4f}  R {s['recall']:.4f}  F1 {s['f1']:.4f}  "
                     f"(tp {s['tp']}, pred {s['pred']}, gold {s['gold']})")
    return lines


register_task(CodeTask())
