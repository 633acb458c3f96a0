"""core.generate: batched == one at a time, input order, stop strings, finish reasons, P-Tuning v2 prefix kept.
The one local generation path above it (core.llm's hf backend + run_prompts, which replaced generate_to_file): every
id once in input order, crash + rerun resumes from the raw file, and shards under torch.distributed.run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import UserError
from core.generate import GenOutput, generate
from core.llm import LLMConfig, create_backend, run_prompts
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
    from core.loader import load_for_inference
    from core.testing.adapters import memorised_adapter, memorised_records

    loaded = load_for_inference(None, memorised_adapter("llama", "lora"))
    return loaded.model, loaded.tokenizer, loaded.template, memorised_records()


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


def triples(text, relations):
    from core.decoding import constraint_for

    return constraint_for("schema", answer_format="triples", input_text=text, relations=relations, min_items=1)


def test_constrained_rows_are_whole_answers_never_cut_at_a_stop_string_and_free_rows_are_unchanged(llama):
    model, tok = llama
    texts = ["北京是中国的首都，上海是中国最大的城市。", None, "Beijing is the capital of China."]
    cons = [triples(texts[0], ["首都", "最大城市"]), None, triples(texts[2], ["capital of"])]
    free = generate(model, tok, PROMPTS[:3], max_new_tokens=40, stop=[","], progress=False)
    outs = generate(model, tok, PROMPTS[:3], max_new_tokens=40, stop=[","], progress=False, constraints=cons)
    single = [generate(model, tok, [p], max_new_tokens=40, stop=[","], progress=False, constraints=[c])[0]
              for p, c in zip(PROMPTS[:3], cons, strict=True)]
    assert outs == single
    assert outs[1] == free[1] and outs[1].complete is None and not outs[1].forced_close
    for k in (0, 2):
        assert "," in outs[k].text and cons[k].accepts(tok, outs[k].text), outs[k].text  # "," did not cut it
        assert outs[k].complete is True
    with pytest.raises(UserError, match="2 constraints for 3 prompts"):
        generate(model, tok, PROMPTS[:3], progress=False, constraints=cons[:2])


def test_a_constrained_lora_adapter_still_gives_its_memorised_answers(memorised):
    from core.parsing.ccks_instruction import relations_from_instruction

    model, tok, template, records = memorised
    cons = [triples(r["input"], relations_from_instruction(r["instruction"])) for r in records]
    outs = generate(model, tok, prompts_of(template, tok, records), batch_size=3, max_new_tokens=64, progress=False,
                    constraints=cons)
    assert [o.text for o in outs] == [r["output"] for r in records]
    assert all(o.complete and not o.forced_close and o.finish_reason == "stop" for o in outs)


def test_a_constrained_p_tuning_adapter_keeps_its_prefix_and_the_constraint_overrides_a_forbidden_answer():
    """P-Tuning v2 on the toy GLM (core.loader.load_model_with_adapter): under the constraint the prefix still gives
    the memorised answers; a relation list without the memorised relation changes exactly that answer."""
    from core.loader import load_model_with_adapter
    from core.parsing.ccks_instruction import relations_from_instruction
    from core.testing.adapters import memorised_adapter, memorised_records
    from core.tuning import adapter_template

    model, tok, meta = load_model_with_adapter(None, memorised_adapter("glm", "ptuning"))
    template, records = adapter_template(meta), memorised_records()
    prompts = [template.render(r["instruction"], r["input"], tok) for r in records]
    cons = [triples(r["input"], relations_from_instruction(r["instruction"])) for r in records]
    outs = generate(model, tok, prompts, batch_size=5, max_new_tokens=48, progress=False, constraints=cons)
    assert [template.response(o.text) for o in outs] == [r["output"] for r in records]
    other = [triples(records[0]["input"], ["流入"]), *cons[1:]]  # mem-1's relation 发源地 is not allowed here
    changed = generate(model, tok, prompts, batch_size=5, max_new_tokens=48, progress=False, constraints=other)
    assert changed[0].text != records[0]["output"] and ",流入," in changed[0].text and changed[0].complete
    assert [o.text for o in changed[1:]] == [o.text for o in outs[1:]]


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


def local(path, **kw):
    """The hf backend on a local folder, text prompts sent verbatim (as InstructKGC/inference.py sends them)."""
    return create_backend(LLMConfig(backend="hf", base_model=str(path), chat=False, no_cache=True, **kw))


def items_of(records, template=None, tokenizer=None):
    template = template or get_template("alpaca")
    return [(r["id"], template.render(r["instruction"], r.get("input") or None, tokenizer)) for r in records]


def test_local_path_answers_every_id_once_with_the_batched_answers(llama, toy_llama_path, tmp_path):
    model, tok = llama
    records, raw = records_for(5), tmp_path / "out.raw.jsonl"
    items = items_of(records)
    results = run_prompts(local(toy_llama_path, batch_size=2), items, raw, max_tokens=5)
    expected = generate(model, tok, [p for _, p in items], max_new_tokens=5, progress=False)
    assert list(results) == [r["id"] for r in records]  # input order
    assert [results[r["id"]][0].text for r in records] == [o.text for o in expected]
    assert sorted(r["id"] for r in read_jsonl(raw)) == sorted(r["id"] for r in records)


def test_batches_are_sorted_by_token_length(toy_llama_path, tmp_path, monkeypatch):
    import core.generate as cg

    batches, real = [], cg.generate
    monkeypatch.setattr(cg, "generate", lambda *a, **k: (batches.append(list(a[2])), real(*a, **k))[1])
    prompts = ["a", "a b c d e f g h i j k l", "a b", "a b c d e f", "a b c d e f g h i j", "a b c"]
    run_prompts(local(toy_llama_path, batch_size=2), list(enumerate(prompts)), tmp_path / "raw.jsonl", max_tokens=2)
    assert batches == [[prompts[1], prompts[4]], [prompts[3], prompts[5]], [prompts[2], prompts[0]]]


def test_crash_after_two_batches_then_rerun_gives_every_id_exactly_once(toy_llama_path, tmp_path, monkeypatch):
    import core.generate as cg

    records, raw, calls = records_for(7), tmp_path / "out.raw.jsonl", []
    real = cg.generate

    def crashing(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(len(args[2]))
        return real(*args, **kwargs)

    monkeypatch.setattr(cg, "generate", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_prompts(local(toy_llama_path, batch_size=2), items_of(records), raw, max_tokens=4)
    assert len(read_jsonl(raw)) == 4  # two whole batches survived

    calls.clear()
    monkeypatch.setattr(cg, "generate", lambda *a, **k: (calls.append(len(a[2])), real(*a, **k))[1])
    backend = local(toy_llama_path, batch_size=2)
    run_prompts(backend, items_of(records), raw, max_tokens=4)
    assert sum(calls) == 3 and backend.stats.sent == 3  # only the missing ones
    assert sorted(r["id"] for r in read_jsonl(raw)) == sorted(r["id"] for r in records)

    calls.clear()
    results = run_prompts(local(toy_llama_path, batch_size=2), items_of(records), raw, max_tokens=4)
    assert calls == [] and len(read_jsonl(raw)) == 7 and list(results) == [r["id"] for r in records]


def test_a_rank_above_zero_does_not_send_prompts(toy_llama_path, monkeypatch):
    from core.llm.shards import Shards

    backend = local(toy_llama_path)
    backend.shards = Shards(rank=1, size=2)
    assert backend.follower
    with pytest.raises(UserError, match="only rank 0 sends prompts"):
        backend.complete(["x"], max_tokens=2)
    backend.shards = None


TORCHRUN_SCRIPT = """
import json, sys
from core.llm import LLMConfig, create_backend, run_prompts
records = [(i, "Extract " * (i % 3 + 1) + str(i)) for i in range(5)]
cfg = LLMConfig(backend="hf", base_model=sys.argv[1], chat=False, no_cache=True, batch_size=2)
with create_backend(cfg) as llm:
    if llm.follower:
        llm.follow()
        print(json.dumps({"rank": llm.shards.rank, "sent": llm.stats.sent}))
    else:
        results = run_prompts(llm, records, sys.argv[2], max_tokens=3)
        print(json.dumps({"rank": 0, "sent": llm.stats.sent, "texts": [results[i][0].text for i in range(5)]}))
"""


def test_torchrun_two_processes_with_gloo_share_the_batches_and_rank_zero_writes(toy_llama_path, llama, tmp_path):
    script, raw = tmp_path / "run.py", tmp_path / "out.raw.jsonl"
    script.write_text(TORCHRUN_SCRIPT, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(script), str(toy_llama_path), str(raw)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    reports = sorted((json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")),
                     key=lambda r: r["rank"])
    # 5 prompts in batches of 2 (longest first): rank 0 answers batches 0 and 2, rank 1 batch 1; rank 0 counts all
    assert [(r["rank"], r["sent"]) for r in reports] == [(0, 5), (1, 2)]
    prompts = ["Extract " * (i % 3 + 1) + str(i) for i in range(5)]
    expected = generate(*llama, prompts, max_new_tokens=3, progress=False)
    assert reports[0]["texts"] == [o.text for o in expected]
    assert sorted(r["id"] for r in read_jsonl(raw)) == [0, 1, 2, 3, 4]
    assert not list(tmp_path.glob("*.rank*"))


def test_gen_output_is_a_plain_dataclass():
    out = GenOutput("a", "stop", 3, 2)
    assert (out.text, out.finish_reason, out.prompt_tokens, out.completion_tokens) == ("a", "stop", 3, 2)
