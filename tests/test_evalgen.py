"""--eval_generate: evaluation generates on the valid set and reports the CCKS2023 metrics; best checkpoint by score."""

import json
import warnings

import pytest

from core.errors import UserError
from core.io import write_jsonl
from core.testing.adapters import ALL_LINEAR, RECIPES, memorised_records
from core.train import TrainConfig, train
from core.train.trainer import _best_model_args
from core.tuning import TuningArgs


def _cfg(tmp_path, toy, **kw):
    recs = memorised_records()
    data = tmp_path / "mem.jsonl"
    write_jsonl(data, recs)
    recipe = dict(RECIPES["lora"])
    steps, lr = recipe.pop("max_steps"), recipe.pop("learning_rate")
    return TrainConfig(base_model=str(toy), train_path=str(data), valid_path=str(data), output_dir=str(tmp_path / "out"),
                       batch_size=len(recs), micro_batch_size=len(recs), max_steps=steps, learning_rate=lr,
                       logging_steps=50, save_steps=50, device="cpu", seed=0,
                       tuning=TuningArgs(finetuning_type="lora", lora_target_modules=ALL_LINEAR["llama"], **recipe),
                       **kw)


def test_eval_generate_reports_task_metrics_and_keeps_the_best_checkpoint(tmp_path, toy_llama_path):
    cfg = _cfg(tmp_path, toy_llama_path, eval_generate=True, eval_max_new_tokens=48, metric_for_best_model="score")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train(cfg)
    evals = [h for h in result.log_history if "eval_score" in h]
    assert [h["step"] for h in evals] == [50, 100, 150]
    for h in evals:
        assert set(h) >= {"eval_f1", "eval_rouge2", "eval_score", "eval_precision", "eval_recall"}
        assert h["eval_score"] == pytest.approx(0.5 * h["eval_f1"] + 0.5 * h["eval_rouge2"])
    # the adapter memorises its records (the same recipe core.testing.adapters checks), so the last eval is perfect
    assert evals[-1]["eval_f1"] == 1.0 and evals[-1]["eval_score"] == pytest.approx(1.0)
    last = max((tmp_path / "out").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    state = json.loads((last / "trainer_state.json").read_text())
    assert state["best_metric"] == max(h["eval_score"] for h in evals)
    assert state["best_model_checkpoint"].endswith(f"checkpoint-{max(evals, key=lambda h: h['eval_score'])['step']}")


@pytest.mark.parametrize(
    "kw, has_eval, message",
    [
        ({"metric_for_best_model": "score"}, True, "needs --eval_generate"),
        ({"metric_for_best_model": "loss"}, False, "needs a valid set"),
        ({"metric_for_best_model": "bleu", "eval_generate": True}, True, "must be loss, precision"),
    ],
)
def test_best_model_flags_are_checked(kw, has_eval, message):
    with pytest.raises(UserError, match=message):
        _best_model_args(TrainConfig(**kw), has_eval)


def test_best_model_by_loss_is_lower_is_better():
    args = _best_model_args(TrainConfig(metric_for_best_model="eval_loss"), True)
    assert args == {"metric_for_best_model": "eval_loss", "greater_is_better": False, "load_best_model_at_end": True}
