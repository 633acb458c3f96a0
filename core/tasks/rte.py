"""RTE: (head, relation, tail) triples from a text; triple micro P/R/F1, and the CCKS2023 score for CCKS records.

    python -c "import sys; from core.tasks import get_task; print(get_task('rte').parse('(Ann,born in,Oslo)', {'text': 'Ann was born in Oslo.'}, None))"

Record (few-shot file data/rte_<lang>.json, DeepKE's 2023 format; labels is the gold, optional in an input file):
    {"text": "...", "labels": [["head", "relation", "tail"], ...]}
A CCKS2023 record {"id", "instruction", "input", "output"?, "kg"?} works too: `input` is the text, its own
instruction is used, the answer is asked for in the CCKS form `(h,r,t)(h,r,t)` and read with core.parsing (the
InstructKGC parser); the output line keeps the record with `output` = the raw answer and `kg` = the triples, so
`python InstructKGC/evaluate.py --gold_file <input> --pred_file <output>` scores it with core.metrics.ccks.ccks_scores,
the function this task calls too. Every prediction line carries the triples in `kg` ([[h, r, t]]).
"""

from __future__ import annotations

from core.metrics import micro_prf
from core.metrics.ccks import ccks_scores, triple_keys
from core.parsing.answers import dumps, load_json, pick, short, unwrap
from core.parsing.ccks import format_triples, parse_triples
from core.parsing.ccks_instruction import relations_from_instruction
from core.records import INVALID, REPAIRED, UNPARSABLE, Parsed
from core.tasks.base import Task, in_text, marked, register_task

UNIT = "triple"
CCKS = "ccks"
# the answer the prompt asks for: [["head", "relation", "tail"]] (core.decoding marks: per record, heads and tails are
# copied from the text and relations are the allowed ones); the CCKS text form writes the same triples as (h,r,t)
TRIPLES_SCHEMA: dict = {
    "type": "array",
    "items": {"type": "array", "prefixItems": [marked("copy"), marked("relation"), marked("copy")],
              "items": False, "minItems": 3, "maxItems": 3},
}


def is_ccks(rec: dict) -> bool:
    return rec.get("text") is None and isinstance(rec.get("input"), str)


def _triple(item) -> list[str] | None:
    if isinstance(item, (list, tuple)) and len(item) == 3:
        parts = [str(x).strip() if isinstance(x, (str, int, float)) else "" for x in item]
    elif isinstance(item, dict):
        parts = [pick(item, keys) or "" for keys in (("head", "subject", "h"), ("relation", "predicate", "r"),
                                                     ("tail", "object", "t"))]
    else:
        return None
    return parts if all(parts) else None


class RTE(Task):
    pred_field = "kg"
    name = "rte"
    units = (UNIT,)
    required: dict = {}
    optional = {"id": (str, int), "text": str, "input": str, "instruction": str, "output": str, "kg": list}

    def text_of(self, rec: dict) -> str | None:
        return rec["input"] if is_ccks(rec) else rec.get("text")

    def style(self, rec: dict) -> str:
        return CCKS if is_ccks(rec) else "json"

    def instruction(self, rec: dict, default: str | None) -> str | None:
        return rec.get("instruction") or default if is_ccks(rec) else default

    def check_more(self, rec: dict) -> None:
        if self.text_of(rec) is None:
            raise ValueError("text: missing (or input, for a CCKS2023 record)")
        gold = rec.get("labels")
        if isinstance(gold, str):  # DeepKE's 2023 converter wrote the answer text here
            gold = [t.to_list() for t in parse_triples(gold, input_text=self.text_of(rec)).triples]
        elif gold is None and rec.get("kg") is not None:
            gold = rec["kg"]
        elif gold is None and isinstance(rec.get("output"), str) and is_ccks(rec):
            relations = relations_from_instruction(rec.get("instruction"))
            gold = [t.to_list() for t in parse_triples(rec["output"], input_text=rec["input"],
                                                       relations=relations or None).triples]
        if gold is not None:
            if not isinstance(gold, list) or any(_triple(t) is None for t in gold):
                raise ValueError("labels: expected a list of [head, relation, tail] strings")
            gold = [_triple(t) for t in gold]
        rec["__gold__"] = gold

    def answer_format(self, rec: dict) -> str:
        return "triples" if self.style(rec) == CCKS else "json"

    def answer_schema(self, rec: dict, labels: list[str] | None) -> dict:
        """TRIPLES_SCHEMA with the relations the parser allows (`labels`, else the CCKS instruction's list); the CCKS
        text form has at least one triple (an empty answer says nothing, and every CCKS2023 record has one)."""
        relations = labels or relations_from_instruction(rec.get("instruction")) or None
        item = {**TRIPLES_SCHEMA["items"], "prefixItems": [marked("copy"), marked("relation", relations),
                                                           marked("copy")]}
        schema = {**TRIPLES_SCHEMA, "items": item}
        if self.answer_format(rec) == "triples":
            schema["minItems"] = 1
        return schema

    def demo_vars(self, rec: dict, style: str = "json") -> dict:
        triples = rec["__gold__"] or []
        return {"text": self.text_of(rec), "answer": format_triples(triples) if style == CCKS else dumps(triples)}

    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        source = self.text_of(rec) or ""
        relations = labels or relations_from_instruction(rec.get("instruction")) or None
        from_parens = parse_triples(text, input_text=source, relations=relations)
        if self.style(rec) == CCKS and (from_parens.status not in (INVALID, UNPARSABLE) or from_parens.triples):
            parsed = self._from_parens(from_parens)
        else:
            parsed = self._from_json(text)
            if parsed is not None and self.style(rec) == CCKS:
                parsed.status = REPAIRED  # JSON, though the CCKS form was asked for
            if parsed is None and from_parens.triples:
                parsed = self._from_parens(from_parens)
                parsed.status = REPAIRED if parsed.status == "ok" else parsed.status
            if parsed is None:
                parsed = Parsed([], UNPARSABLE)
                parsed.flag("no triples in the answer", UNIT)
                return parsed
        seen, kept = set(), []
        for triple in parsed.pred:
            if tuple(triple) in seen:
                continue
            seen.add(tuple(triple))
            kept.append(triple)
            head, relation, tail = triple
            if relations and relation not in relations:
                parsed.flag(f"{triple}: relation {relation!r} not allowed")
            for name, words in (("head", head), ("tail", tail)):
                if not in_text(words, source):
                    parsed.flag(f"{triple}: {name} {words!r} not in the text")
        parsed.pred = kept
        return parsed.finish()

    @staticmethod
    def _from_parens(result) -> Parsed:
        parsed = Parsed([t.to_list() for t in result.triples], "repaired" if result.repairs else "ok")
        for fragment in result.failed:
            parsed.flag(f"could not read {short(fragment)!r} as a triple", UNIT)
        return parsed

    @staticmethod
    def _from_json(text: str) -> Parsed | None:
        value, status = load_json(text)
        value = unwrap(value, ("triples", "kg", "labels", "output"))
        if not isinstance(value, list):
            return None
        if _triple(value) is not None and all(isinstance(x, str) for x in value):
            value = [value]  # one triple, not wrapped in a list
        parsed = Parsed([], status)
        for item in value:
            triple = _triple(item)
            if triple is None:
                parsed.flag(f"item {short(item)} is not [head, relation, tail]", UNIT)
            else:
                parsed.pred.append(triple)
        return parsed

    def output_fields(self, rec: dict, parsed: Parsed) -> dict:
        fields = {"kg": parsed.pred}
        if is_ccks(rec):
            fields["output"] = parsed.raw  # as InstructKGC's inference writes it: output = the model's answer
        return fields

    def has_gold(self, rec: dict) -> bool:
        return rec.get("__gold__") is not None

    def score(self, pairs: list[tuple[dict, Parsed]], labels: list[str] | None = None, language: str = "en") -> dict:
        ccks = [(rec, parsed) for rec, parsed in pairs if is_ccks(rec) and isinstance(rec.get("output"), str)]
        if ccks and len(ccks) == len(pairs):
            # CCKS2023 records are scored by the CCKS2023 rules only: one triple count, never two precisions
            preds = [{"id": rec["id"], "kg": parsed.pred, "raw": parsed.raw} for rec, parsed in ccks]
            scores = ccks_scores([rec for rec, _ in ccks], preds, lang="zh" if language == "cn" else "en")
            triples = {k: scores[k] for k in ("precision", "recall", "f1")}
            triples.update(gold=scores["gold_triples"], pred=scores["pred_triples"], correct=scores["correct"])
            return {UNIT: triples, CCKS: {k: scores[k] for k in ("precision", "recall", "f1", "rouge2", "score",
                                                                 "missing_pred")}}
        return {UNIT: micro_prf([triple_keys(rec["__gold__"]) for rec, _ in pairs],
                                [triple_keys(parsed.pred) for _, parsed in pairs],
                                extra_wrong=sum(parsed.bad.get(UNIT, 0) for _, parsed in pairs))}


register_task(RTE())
