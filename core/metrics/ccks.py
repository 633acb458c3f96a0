"""The CCKS2023 instruction-KGC score (triple F1 and Rouge-2): used only where CCKS2023 records are scored.

    python -c "from core.metrics.ccks import rouge2; print(rouge2('(弗雷泽,获奖,铜牌)', '(弗雷泽,获奖,铜牌),(弗雷泽,国家,澳大利亚)'))"

CCKS2023, as DeepKE scores it:
- triple F1: micro over all triples of all records; `set` mode drops duplicates within each record's gold and within
  its prediction, `normal` mode matches them as multisets; elements compared exactly after stripping surrounding
  whitespace (case-sensitive); a division by zero gives 0;
- Rouge-2 per record on the answer texts: zh = jieba words, en = lowercase, punctuation to spaces, a/an/the dropped,
  whitespace words; then `rouge_chinese.Rouge().get_scores(hyp, ref)[0]["rouge-2"]["f"]`. Both empty -> 1, one
  empty -> 0. Averaged over records. (The package counts distinct bigrams, so a one-word text has none and scores 0.)
- score = 0.5 * F1 + 0.5 * Rouge-2.
"""

from __future__ import annotations

import logging
import string
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from core.io import DataError
from core.metrics import MATCHES, micro_prf
from core.parsing.ccks import format_triples, parse_triples
from core.parsing.ccks_instruction import relations_from_instruction
from core.records import Triple

LANGS = ("zh", "en")
_ARTICLES = {"a", "an", "the"}


def triple_keys(triples: Sequence[Triple | Sequence[str]]) -> list[tuple[str, str, str]]:
    """What triple scoring compares: (head, relation, tail), each stripped."""
    return [t.key() if isinstance(t, Triple) else tuple(str(x).strip() for x in t) for t in triples]


@lru_cache(maxsize=1)
def _rouge() -> Any:
    import jieba
    from rouge_chinese import Rouge

    jieba.setLogLevel(logging.WARNING)
    return Rouge()


def _words(text: str, lang: str) -> list[str]:
    text = (text or "").strip()
    if lang == "zh":
        import jieba

        jieba.setLogLevel(logging.WARNING)
        return [w for w in jieba.cut(text) if w.strip()]
    chars = [
        " " if ch in string.punctuation or unicodedata.category(ch).startswith("P") else ch for ch in text.lower()
    ]
    return [w for w in "".join(chars).split() if w not in _ARTICLES]


def rouge2(hyp: str, ref: str, lang: str = "zh") -> float:
    """Rouge-2 F of one answer against its reference (CCKS2023 rules above)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    h, r = _words(hyp, lang), _words(ref, lang)
    if not h and not r:
        return 1.0
    if not h or not r:
        return 0.0
    return float(_rouge().get_scores(" ".join(h), " ".join(r))[0]["rouge-2"]["f"])


def mean_rouge2(hyps: Sequence[str], refs: Sequence[str], lang: str = "zh") -> float:
    """Rouge-2 averaged over records (0 for no records)."""
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} predictions but {len(refs)} references")
    return sum(rouge2(h, r, lang) for h, r in zip(hyps, refs, strict=True)) / len(refs) if refs else 0.0


def _kg(rec: dict, name: str) -> list[tuple[str, str, str]] | None:
    """Triples given in `kg` ([[h,r,t]]) or `triples` ([{head,relation,tail}]) of a record; None if neither."""
    line = rec.get("__line__")
    if rec.get("kg") is not None:
        kg = rec["kg"]
        if not isinstance(kg, list) or not all(
            isinstance(t, (list, tuple)) and len(t) == 3 and all(isinstance(x, str) for x in t) for t in kg
        ):
            raise DataError(name, line, "expected a list of [head, relation, tail] strings", field="kg")
        return triple_keys(kg)
    if rec.get("triples") is not None:
        if not isinstance(rec["triples"], list):
            raise DataError(name, line, "expected a list of {head, relation, tail}", field="triples")
        return triple_keys([Triple.from_any(t, name, line) for t in rec["triples"]])
    return None


def _text(rec: dict, key: str, name: str) -> str | None:
    value = rec.get(key)
    if value is not None and not isinstance(value, str):
        raise DataError(name, rec.get("__line__"), "expected a string", field=key)
    return value


def _key(rec: dict, name: str) -> str:
    if rec.get("id") is None:
        raise DataError(name, rec.get("__line__"), "missing", field="id")
    return str(rec["id"])


def ccks_scores(
    gold_records: Sequence[dict],
    pred_records: Sequence[dict],
    lang: str = "zh",
    match: str = "set",
    *,
    gold_name: str = "gold",
    pred_name: str = "pred",
) -> dict[str, Any]:
    """The CCKS2023 score of predictions against gold, records matched by `id`.

    Gold: `output` (answer text) required; triples from `kg` if present, else parsed from `output`.
    Pred: convert output (has `raw` or `status`) gives its triples in `kg`/`triples`; a record with an `output`
    answer is raw inference output and its triples are parsed from that text (a `kg` copied from the input record
    would be the gold's, so it is not used); a record with only `kg`/`triples` uses those. Rouge-2 compares the pred
    answer (`raw`, else `output`, else its triples formatted) with gold `output`. Gold ids without a prediction
    count as empty predictions (`missing_pred`). Bad records raise DataError naming gold_name/pred_name:line:field.
    """
    if lang not in LANGS:
        raise DataError(gold_name, None, f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
    if match not in MATCHES:
        raise DataError(gold_name, None, f"--match must be one of {', '.join(MATCHES)}, got {match!r}")
    if not gold_records:
        raise DataError(gold_name, None, "no gold records")
    gold_by_id: dict[str, dict] = {}
    for rec in gold_records:
        key = _key(rec, gold_name)
        if key in gold_by_id:
            raise DataError(gold_name, rec.get("__line__"), f"duplicate id {rec['id']!r}", field="id")
        if _text(rec, "output", gold_name) is None:
            raise DataError(gold_name, rec.get("__line__"), "missing", field="output")
        gold_by_id[key] = rec
    pred_by_id: dict[str, dict] = {}
    for rec in pred_records:
        key = _key(rec, pred_name)
        if key not in gold_by_id:
            raise DataError(pred_name, rec.get("__line__"), f"id {rec['id']!r} is not in the gold file", field="id")
        if key in pred_by_id:
            raise DataError(pred_name, rec.get("__line__"), f"duplicate id {rec['id']!r}", field="id")
        pred_by_id[key] = rec

    dedupe = match == "set"
    gold_sets, pred_sets, hyps, refs = [], [], [], []
    parsed_from_text = gold_unparsed = pred_unparsed = 0
    for key, gold in gold_by_id.items():
        instruction = _text(gold, "instruction", gold_name)
        hints = {"input_text": _text(gold, "input", gold_name), "relations": relations_from_instruction(instruction)}
        gold_triples = _kg(gold, gold_name)
        if gold_triples is None:
            parsed = parse_triples(gold["output"], dedupe=dedupe, **hints)
            gold_triples = triple_keys(parsed.triples)
            gold_unparsed += len(parsed.failed)
        pred = pred_by_id.get(key)
        answer, pred_triples = "", []
        if pred is not None:
            raw = _text(pred, "raw", pred_name)
            output = _text(pred, "output", pred_name)
            given = _kg(pred, pred_name)
            is_converted = "raw" in pred or "status" in pred
            if output is not None and not (is_converted and given is not None):
                parsed = parse_triples(output, dedupe=dedupe, **hints)
                pred_triples = triple_keys(parsed.triples)
                parsed_from_text += 1
                pred_unparsed += len(parsed.failed)
            elif given is not None:
                pred_triples = given
                if isinstance(pred.get("failed"), list):
                    pred_unparsed += len(pred["failed"])
            else:
                raise DataError(pred_name, pred.get("__line__"), "missing (or kg / triples)", field="output")
            answer = raw if raw is not None else output if output is not None else format_triples(pred_triples)
        gold_sets.append(gold_triples)
        pred_sets.append(pred_triples)
        hyps.append(answer)
        refs.append(gold["output"])

    triples = micro_prf(gold_sets, pred_sets, match)
    rouge = mean_rouge2(hyps, refs, lang)
    return {
        "precision": triples["precision"],
        "recall": triples["recall"],
        "f1": triples["f1"],
        "rouge2": rouge,
        "score": 0.5 * triples["f1"] + 0.5 * rouge,
        "n_gold_records": len(gold_by_id),
        "n_pred_records": len(pred_by_id),
        "missing_pred": len(gold_by_id) - len(pred_by_id),
        "gold_triples": triples["gold"],
        "pred_triples": triples["pred"],
        "correct": triples["correct"],
        "pred_parsed_from_text": parsed_from_text,
        "pred_fragments_unparsed": pred_unparsed,
        "gold_fragments_unparsed": gold_unparsed,
        "lang": lang,
        "match": match,
    }
