"""core.train: prompt masking, EOS, the cutoff_len policy (the response is never cut), collator, batching arithmetic,
padding share, and resume after an interrupt."""

import json
import warnings

import pytest

from core.errors import UserError
from core.io import DataError
from core.templates import get_template
from core.train import (
    IGNORE_INDEX,
    Collator,
    TrainConfig,
    encode_pair,
    encode_records,
    gradient_accumulation,
    grouped_order,
    padding_share,
    read_instruction_records,
    train,
)

ALPACA = get_template("alpaca")
REC = {"instruction": "抽取三元组，关系候选：['位于']", "input": "故宫位于北京。", "output": "(故宫,位于,北京)"}


@pytest.fixture(scope="module")
def tok(toy_llama_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(toy_llama_path)


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_prompt_tokens_get_label_minus_100_and_response_tokens_their_ids(tok):
    prompt = ALPACA.render(REC["instruction"], REC["input"])
    ex = encode_pair(prompt, REC["output"], tok)
    n = ex["prompt_len"]
    assert ex["input_ids"][:n] == tok(prompt)["input_ids"]  # exactly what inference feeds the model
    assert ex["input_ids"][0] == tok.bos_token_id
    assert ex["labels"][:n] == [IGNORE_INDEX] * n
    assert ex["labels"][n:] == ex["input_ids"][n:]
    assert IGNORE_INDEX not in ex["labels"][n:]
    assert ex["input_ids"][-1] == tok.eos_token_id  # generation learns to stop
    assert tok.decode(ex["input_ids"][n:-1]) == REC["output"]


def test_train_on_inputs_labels_every_token(tok):
    prompt = ALPACA.render(REC["instruction"], REC["input"])
    masked = encode_pair(prompt, REC["output"], tok)
    ex = encode_pair(prompt, REC["output"], tok, train_on_inputs=True)
    assert ex["labels"] == ex["input_ids"] == masked["input_ids"]


def test_record_longer_than_cutoff_len_is_an_error_naming_file_and_line(tok, tmp_path):
    records = [dict(REC, __line__=1), dict(REC, input="长" * 300, __line__=2)]
    with pytest.raises(DataError, match=r"^train.json:2: record is \d+ tokens \(prompt \d+ \+ response \d+\), "
                                        r"longer than --cutoff_len 80"):
        encode_records(records, ALPACA, tok, 80, path=tmp_path / "train.json")


def test_truncate_shortens_the_input_and_never_the_response(tok):
    records = [dict(REC, __line__=1), dict(REC, input="故宫位于北京。" * 40, __line__=2)]
    with pytest.warns(UserWarning, match=r"1 of 2 records had their input shortened and 0 were skipped"):
        examples, stats = encode_records(records, ALPACA, tok, 90, overlong="truncate")
    assert (stats.truncated, stats.skipped, len(examples)) == (1, 0, 2)
    short = examples[1]
    assert len(short["input_ids"]) <= 90
    response = short["input_ids"][short["prompt_len"]:]
    assert response == examples[0]["input_ids"][examples[0]["prompt_len"]:]  # same full response + EOS
    assert tok.decode(response[:-1]) == REC["output"] and response[-1] == tok.eos_token_id


def test_record_whose_instruction_and_response_alone_exceed_cutoff_is_skipped_with_a_count(tok):
    records = [dict(REC, __line__=1), dict(REC, instruction="长" * 200, __line__=7)]
    with pytest.warns(UserWarning, match=r"0 of 2 records had their input shortened and 1 were skipped \(lines 7\)"):
        examples, stats = encode_records(records, ALPACA, tok, 80, overlong="truncate")
    assert (stats.skipped, stats.skipped_lines, len(examples)) == (1, (7,), 1)


def test_skip_policy_drops_overlong_records_and_all_dropped_is_an_error(tok):
    long = dict(REC, input="长" * 300, __line__=2)
    with pytest.warns(UserWarning, match="1 were skipped"):
        examples, _ = encode_records([dict(REC, __line__=1), long], ALPACA, tok, 80, overlong="skip")
    assert len(examples) == 1
    with warnings.catch_warnings(), pytest.raises(DataError, match="no record fits --cutoff_len 80"):
        warnings.simplefilter("ignore")
        encode_records([long], ALPACA, tok, 80, overlong="skip")
    with pytest.raises(UserError, match="--overlong must be one of"):
        encode_records([long], ALPACA, tok, 80, overlong="cut")


@pytest.mark.parametrize(("line", "message"), [
    ({"instruction": "x", "input": "y"}, 'train.json:2: field "output": missing'),
    ({"instruction": "x", "input": "y", "output": "  "}, 'train.json:2: field "output": empty'),
    ({"instruction": "x", "input": 3, "output": "(a,b,c)"}, 'train.json:2: field "input": expected a string'),
    ({"instruction": "", "input": "y", "output": "(a,b,c)"}, 'train.json:2: field "instruction": empty'),
])
def test_bad_records_name_file_line_and_field(tmp_path, line, message):
    path = write_jsonl(tmp_path / "train.json", [REC, line])
    with pytest.raises(DataError) as err:
        read_instruction_records(path)
    assert str(err.value).startswith(message)


def test_collator_right_pads_ids_labels_mask_and_gives_positions_from_zero():
    features = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8], "labels": [8]}]
    batch = Collator(0, position_ids=True)(features)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["position_ids"].tolist() == [[0, 1, 2], [0, 1, 2]]
    assert "position_ids" not in Collator(0)(features)
    assert Collator(0, pad_to_multiple_of=8)(features)["input_ids"].shape == (2, 8)


def test_gradient_accumulation_is_batch_over_micro_over_world_size():
    assert gradient_accumulation(128, 4) == 32
    assert gradient_accumulation(128, 4, 2) == 16
    assert gradient_accumulation(960, 10, 3) == 32  # the seed's 3-GPU script
    assert gradient_accumulation(4, 8) == 1
    with pytest.raises(UserError, match="--micro_batch_size must be an integer >= 1"):
        gradient_accumulation(128, 0)


def test_padding_share_is_padding_over_all_tokens():
    lengths = [1, 1, 9, 9]
    assert padding_share(lengths, [0, 2, 1, 3], 2) == pytest.approx(16 / 36)  # (1,9) (1,9)
    assert padding_share(lengths, [0, 1, 2, 3], 2) == 0.0  # (1,1) (9,9)
    assert padding_share([3, 5, 4], [0, 1, 2], 2) == pytest.approx(2 / 14)  # (3,5) -> 10, (4) -> 4


def test_length_grouped_order_is_a_permutation_with_less_padding():
    import random

    rng = random.Random(0)
    lengths = [rng.randint(10, 400) for _ in range(256)]
    order = grouped_order(lengths, 16)
    assert sorted(order) == list(range(256))
    naive = padding_share(lengths, list(range(256)), 4)
    assert padding_share(lengths, order, 4) < naive / 5


def test_val_set_size_must_leave_training_records(toy_llama_path, tmp_path):
    path = write_jsonl(tmp_path / "train.json", [REC] * 3)
    cfg = TrainConfig(base_model=str(toy_llama_path), train_path=str(path), output_dir=str(tmp_path / "out"),
                      val_set_size=3, device="cpu")
    with pytest.raises(UserError, match="--val_set_size must be between 1 and 2 for the 3 training records"):
        train(cfg)
    assert not (tmp_path / "out").exists()  # nothing started


def test_resume_after_an_interrupt_ends_at_the_same_step_with_the_same_weights(toy_llama_path, tmp_path):
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    class CrashAtStep3(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise KeyboardInterrupt

    records = [dict(REC, input=f"故宫位于北京。{i}" * (1 + i % 3)) for i in range(8)]
    data = write_jsonl(tmp_path / "train.json", records)

    def cfg(out, **kw):
        return TrainConfig(base_model=str(toy_llama_path), train_path=str(data), output_dir=str(tmp_path / out),
                           batch_size=4, micro_batch_size=2, max_steps=6, save_steps=2, learning_rate=1e-2,
                           device="cpu", logging_steps=1, **kw)

    straight = train(cfg("a"))
    with pytest.raises(KeyboardInterrupt):
        train(cfg("b"), callbacks=[CrashAtStep3()])
    assert sorted(p.name for p in (tmp_path / "b").glob("checkpoint-*")) == ["checkpoint-2"]
    assert not (tmp_path / "b" / "kgllm_adapter.json").exists()  # no adapter from a crashed run
    resumed = train(cfg("b", resume_from_checkpoint=True))
    assert straight.steps == resumed.steps == 6
    a, b = (load_file(tmp_path / d / "adapter_model.safetensors") for d in ("a", "b"))
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)
    losses = [[h["loss"] for h in r.log_history if "loss" in h] for r in (straight, resumed)]
    assert losses[0] == losses[1] and len(losses[0]) == 6
