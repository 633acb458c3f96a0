"""core.generate: batched == one at a time, input order, stop strings, finish reasons, P-Tuning v2 prefix kept,
resumable generate_to_file (crash + rerun), and sharding under torch.distributed.run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import UserError
from core.generate import GenOutput, generate, generate_to_file
from core.templates import get_template

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ["Hi", "A much longer prompt about knowledge graphs, triples and the relations between entities",
           "中文的句子：北京是中国的首都", "x y", "Beijing is the capital of"]


@pytest.fixture(scope="module")
def llama(toy_llama_path):
    from core.models import load_model_and_tokenizer

    return load_model_and_tokenizer(str(toy_llama_path))


@pytest.fixture(scope="module")
def memorised():
    """(model, tokenizer, template, records) of a LoRA adapter on the toy LLaMA that memorised its records."""
    from core.testing.adapters import memorised_adapter, memorised_records
    from core.tuning import adapter_template, load_model_with_adapter

    model, tokenizer, meta = load_model_with_adapter(None, memorised_adapter("llama", "lora"))
    return model, tokenizer, adapter_template(meta), memorised_records()


def prompts_of(template, tokenizer, records):
    return [template.render(r["instruction"], r.get("input") or None, tokenizer) for r in records]


@pytest.mark.parametrize("kind", ["llama", "glm"])
def test_batched_greedy_equals_one_at_a_time_for_prompts_of_different_lengths(kind, toy_llama_path, toy_glm_path):
    from core.models import load_model_and_tokenizer

    model, tok = load_model_and_tokenizer(str(toy_llama_path if kind == "llama" else toy_glm_path))
    batched = generate(model, tok, PROMPTS, batch_size=4, max_new_tokens=10, progress=False)
    single = [generate(model, tok, [p], batch_size=1, max_new_tokens=10, progress=False)[0] for p in PROMPTS]
    assert batched == single
    assert len({len(tok(p)["input_ids"]) for p in PROMPTS}) == len(PROMPTS)  # really different lengths
    assert [o.prompt_tokens for o in batched] == [len(tok(p)["input_ids"]) for p in PROMPTS]
    assert all(o.finish_reason == "length" and o.completion_tokens == 10 for o in batched)
    assert len({o.text for o in batched}) > 1


def test_memorised_adapter_batched_outputs_are_the_targets_in_input_order(memorised):
    model, tok, template, records = memorised
    prompts = prompts_of(template, tok, records)
    assert len({len(tok(p)["input_ids"]) for p in prompts}) > 1
    batched = generate(model, tok, prompts, batch_size=3, max_new_tokens=64, progress=False)
    single = [generate(model, tok, [p], batch_size=1, max_new_tokens=64, progress=False)[0] for p in prompts]
    assert [o.text for o in batched] == [r["output"] for r in records]
    assert batched == single
    eos_counts = [len(tok(r["output"], add_special_tokens=False)["input_ids"]) + 1 for r in records]
    assert all(o.finish_reason == "stop" for o in batched)
    assert [o.completion_tokens for o in batched] == pytest.approx(eos_counts, abs=1)


PREFIX_PAIRS = [("Extract: A is in B.", "(A,in,B)"), ("Extract: a much longer sentence where C works for D.",
                                                     "(C,works for,D)"), ("Hi", "(X,y,Z)")]


@pytest.fixture(scope="module")
def prefix_model(toy_llama_path):
    """A P-Tuning v2 (peft prefix tuning) model that memorised PREFIX_PAIRS, trained here with a plain loop (a few
    seconds), so this test depends on generation alone; returns (model, tokenizer, base greedy outputs)."""
    import torch
    from peft import PrefixTuningConfig, TaskType, get_peft_model

    from core.models import load_model_and_tokenizer

    torch.manual_seed(0)
    base, tok = load_model_and_tokenizer(str(toy_llama_path))
    base_out = generate(base, tok, [p for p, _ in PREFIX_PAIRS], max_new_tokens=16, progress=False)
    model = get_peft_model(base, PrefixTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=8,
                                                    prefix_projection=True, encoder_hidden_size=128))
    data = []
    for prompt, answer in PREFIX_PAIRS:
        p = tok(prompt)["input_ids"]
        a = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        data.append((torch.tensor([p + a]), torch.tensor([[-100] * len(p) + a])))
    opt = torch.optim.AdamW([x for x in model.parameters() if x.requires_grad], lr=1e-2)
    model.train()
    for _ in range(150):
        for ids, labels in data:
            model(input_ids=ids, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    return model, tok, base_out


def test_prefix_tuned_output_keeps_the_prefix_reproduces_the_targets_and_differs_from_the_base(prefix_model):
    """STACK.md trap: peft 0.21 + transformers 5 drop the P-Tuning v2 prefix in generate(); core.generate keeps it
    for any peft model (here one built with get_peft_model, not loaded through core.tuning)."""
    model, tok, base_out = prefix_model
    prompts = [p for p, _ in PREFIX_PAIRS]
    batched = generate(model, tok, prompts, batch_size=3, max_new_tokens=16, progress=False)
    single = [generate(model, tok, [p], batch_size=1, max_new_tokens=16, progress=False)[0] for p in prompts]
    assert [o.text for o in batched] == [a for _, a in PREFIX_PAIRS]
    assert single == batched
    assert all(b.text != o.text for b, o in zip(base_out, batched, strict=True))


def test_stop_string_cuts_the_answer_and_finishes_with_stop(llama):
    model, tok = llama
    full = generate(model, tok, PROMPTS[:2], max_new_tokens=12, progress=False)
    stop = full[0].text[3:5]
    assert stop and stop not in full[0].text[:3]
    cut = generate(model, tok, PROMPTS[:2], max_new_tokens=12, stop=[stop], progress=False)
    assert cut[0].text == full[0].text[: full[0].text.index(stop)]
    assert cut[0].finish_reason == "stop" and cut[0].completion_tokens < 12
    if stop not in full[1].text:  # the other row of the batch runs on unchanged
        assert cut[1] == full[1]


def test_num_return_sequences_lays_out_n_answers_per_prompt(llama):
    model, tok = llama
    greedy = generate(model, tok, PROMPTS[:3], max_new_tokens=6, progress=False)
    copies = generate(model, tok, PROMPTS[:3], max_new_tokens=6, num_return_sequences=2, progress=False)
    assert copies == [g for g in greedy for _ in range(2)]
    # sampling at a tiny temperature is greedy in practice: the layout is prompt-major
    sampled = generate(model, tok, PROMPTS[:3], max_new_tokens=6, do_sample=True, temperature=1e-4,
                       num_return_sequences=2, progress=False)
    assert [o.text for o in sampled] == [g.text for g in greedy for _ in range(2)]


def test_on_text_reports_growing_prefixes_of_the_final_answer(llama):
    model, tok = llama
    seen: dict = {}
    outs = generate(model, tok, PROMPTS[:3], max_new_tokens=8, progress=False,
                    on_text=lambda i, j, text: seen.setdefault(i, []).append(text))
    for i, out in enumerate(outs):
        assert len(seen[i]) >= 2
        assert all(out.text.startswith(t) for t in seen[i])
        assert seen[i] == sorted(seen[i], key=len)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size"), ({"max_new_tokens": -1}, "max_new_tokens"),
    ({"do_sample": True, "temperature": 0}, "temperature"), ({"top_p": 1.5}, "top_p"),
])
def test_bad_generation_arguments_are_user_errors(llama, kwargs, message):
    with pytest.raises(UserError, match=message):
        generate(*llama, ["Hi"], progress=False, **kwargs)


def records_for(n):
    return [{"id": f"r{i}", "instruction": f"Extract {'the ' * (i % 4)}triples {i}", "input": f"text {i}",
             "__line__": i + 1} for i in range(n)]


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_generate_to_file_writes_every_record_in_input_order_with_the_answer(llama, tmp_path):
    model, tok = llama
    template = get_template("alpaca")
    records = records_for(5)
    out = tmp_path / "out.json"
    summary = generate_to_file(records, model, tok, template, out, batch_size=2, max_new_tokens=5, progress=False)
    expected = generate(model, tok, prompts_of(template, tok, records), max_new_tokens=5, progress=False)
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert [r["output"] for r in rows] == [template.response(o.text) for o in expected]
    assert all("__line__" not in r and r["input"] == f"text {i}" for i, r in enumerate(rows))
    assert summary["generated"] == 5 and summary["merged"]


def test_crash_after_two_batches_then_rerun_gives_every_id_exactly_once(llama, tmp_path, monkeypatch):
    import core.generate as cg

    model, tok = llama
    records, out, calls = records_for(7), tmp_path / "out.json", []
    real = cg.generate

    def crashing(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(len(args[2]))
        return real(*args, **kwargs)

    monkeypatch.setattr(cg, "generate", crashing)
    with pytest.raises(KeyboardInterrupt):
        generate_to_file(records, model, tok, "alpaca", out, batch_size=2, max_new_tokens=4, progress=False)
    assert len(read_jsonl(out)) == 4  # two whole batches survived

    calls.clear()
    monkeypatch.setattr(cg, "generate", lambda *a, **k: (calls.append(len(a[2])), real(*a, **k))[1])
    summary = generate_to_file(records, model, tok, "alpaca", out, batch_size=2, max_new_tokens=4, progress=False)
    assert sum(calls) == 3 and summary["generated"] == 3  # only the missing ones
    assert [r["id"] for r in read_jsonl(out)] == [r["id"] for r in records]

    calls.clear()
    generate_to_file(records, model, tok, "alpaca", out, batch_size=2, max_new_tokens=4, progress=False)
    assert calls == [] and len(read_jsonl(out)) == 7


def test_duplicate_ids_are_refused_with_their_lines(llama, tmp_path):
    records = records_for(3)
    records[2]["id"] = "r0"
    with pytest.raises(UserError, match=r'records:3: field "id": duplicate id .r0. \(first on line 1\)'):
        generate_to_file(records, *llama, "alpaca", tmp_path / "o.json", progress=False)
    assert not (tmp_path / "o.json").exists()


def test_shards_of_two_ranks_are_merged_in_input_order_by_rank_zero(llama, tmp_path):
    model, tok = llama
    records, out = records_for(5), tmp_path / "out.json"
    one = generate_to_file(records, model, tok, "alpaca", out, batch_size=2, max_new_tokens=4, progress=False,
                           rank=1, world_size=2)
    assert not one["merged"] and sorted(r["id"] for r in read_jsonl(f"{out}.rank1")) == ["r1", "r3"]
    zero = generate_to_file(records, model, tok, "alpaca", out, batch_size=2, max_new_tokens=4, progress=False,
                            rank=0, world_size=2, merge_timeout=30)
    assert zero["merged"] and zero["generated"] == 3
    assert [r["id"] for r in read_jsonl(out)] == [r["id"] for r in records]
    assert not list(tmp_path.glob("out.json.rank*"))
    single = tmp_path / "single.json"
    generate_to_file(records, model, tok, "alpaca", single, batch_size=5, max_new_tokens=4, progress=False)
    assert read_jsonl(single) == read_jsonl(out)


TORCHRUN_SCRIPT = """
import json, sys
import torch.distributed as dist
from core.generate import generate_to_file
from core.models import load_model_and_tokenizer
dist.init_process_group("gloo")
model, tok = load_model_and_tokenizer(sys.argv[1])
records = [{"id": i, "instruction": "Extract " * (i % 3 + 1), "input": str(i)} for i in range(5)]
summary = generate_to_file(records, model, tok, "alpaca", sys.argv[2], batch_size=2, max_new_tokens=3,
                           progress=False)
print(json.dumps(summary))
dist.destroy_process_group()
"""


def test_torchrun_two_processes_with_gloo_merge_in_input_order(toy_llama_path, tmp_path):
    script, out = tmp_path / "run.py", tmp_path / "out.json"
    script.write_text(TORCHRUN_SCRIPT, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(script), str(toy_llama_path), str(out)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summaries = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert sorted((s["rank"], s["merged"]) for s in summaries) == [(0, True), (1, False)]
    assert [r["id"] for r in read_jsonl(out)] == [0, 1, 2, 3, 4]
    assert not list(tmp_path.glob("out.json.rank*"))


def test_gen_output_is_a_plain_dataclass():
    out = GenOutput("a", "stop", 3, 2)
    assert (out.text, out.finish_reason, out.prompt_tokens, out.completion_tokens) == ("a", "stop", 3, 2)
