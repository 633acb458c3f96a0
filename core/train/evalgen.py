"""Evaluation that reports what CCKS2023 users care about: generate on the valid set, parse, score.

    python InstructKGC/finetune.py --base_model "$(python -m core.toy build llama)" --valid_path InstructKGC/data/valid.json --eval_generate --max_steps 10 --save_steps 5 --output_dir /tmp/kgc-evalgen

Each evaluation (every epoch, or every --save_steps) greedily answers the valid records with the model being
trained, parses the answers with core.parsing and scores them with core.metrics.ccks.ccks_scores; `eval_f1`,
`eval_rouge2`, `eval_score` (and precision/recall) join `eval_loss` in the Trainer's log and metrics, so
`--metric_for_best_model score` keeps the best checkpoint by the task's own metric. Under several processes every
process scores the whole (small) valid set, so all of them agree on the best checkpoint.
"""

from __future__ import annotations

from typing import Any

from core.io import record_ids

METRICS = ("precision", "recall", "f1", "rouge2", "score")


class GenerateEval:
    """Callable `(model) -> {"f1": ..., "rouge2": ..., "score": ...}` over fixed valid records."""

    def __init__(self, records: list[dict], template: Any, tokenizer: Any, *, lang: str = "zh",
                 max_new_tokens: int = 128, batch_size: int = 8):
        self.records = [dict(r) for r in records]
        record_ids(self.records)
        self.prompts = [template.render(r["instruction"], r.get("input") or "", tokenizer=tokenizer)
                        for r in self.records]
        self.template, self.tokenizer, self.lang = template, tokenizer, lang
        self.max_new_tokens, self.batch_size = max_new_tokens, batch_size

    def __call__(self, model: Any) -> dict[str, float]:
        from core.generate import generate
        from core.metrics.ccks import ccks_scores

        was_training, side = model.training, self.tokenizer.padding_side
        model.eval()
        try:
            outs = generate(model, self.tokenizer, self.prompts, batch_size=self.batch_size,
                            max_new_tokens=self.max_new_tokens, progress=False)
        finally:
            self.tokenizer.padding_side = side
            model.train(was_training)
        preds = [{"id": r["id"], "output": self.template.response(o.text)} for r, o in zip(self.records, outs, strict=True)]
        scores = ccks_scores(self.records, preds, lang=self.lang, gold_name="valid", pred_name="generated")
        return {k: float(scores[k]) for k in METRICS}


def trainer_class(base: type, evaluator: GenerateEval | None) -> type:
    """`base` (a transformers Trainer class) whose evaluate() adds the generated metrics, prefixed like eval_loss."""
    if evaluator is None:
        return base

    class GenerateEvalTrainer(base):  # type: ignore[misc, valid-type]
        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval"):
            metrics = super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
            extra = {f"{metric_key_prefix}_{k}": v for k, v in evaluator(self.model).items()}
            self.log(extra)
            metrics.update(extra)
            return metrics

    return GenerateEvalTrainer
