"""Constrained generation on the toy random model: free answers do not parse, constrained ones always do, batched
(left-padded, each row its own input and relations) and one at a time, within any token budget, with adapters."""

import json

import pytest
import torch

from core.decoding import constraint_for, logits_processor
from core.parsing.ccks import R_DUPLICATE, parse_triples
from core.parsing.ccks_instruction import relations_from_instruction
from core.tasks.ner import ENTITIES_SCHEMA
from core.tasks.rte import TRIPLES_SCHEMA

RECORDS = [
    ("长江发源于青藏高原，流入东海。", ["发源地", "流入"]),
    ("《红楼梦》是曹雪芹创作的小说，成书于清代。", ["作者", "类型", "成书年代"]),
    ("Mount Everest is in Nepal.", ["located in"]),
    ("大熊猫生活在四川，以竹子为食，是中国的国宝。", ["食物", "分布", "保护级别", "别名"]),
    ("弗雷泽代表澳大利亚参加北京奥运会女子水球比赛，赢得铜牌。", ["获奖", "国籍"]),
    ("The Eiffel Tower, designed by Gustave Eiffel, stands in Paris and was finished in 1889.",
     ["designer", "located in", "completion year"]),
]
TYPES = ["地点", "人物", "作品"]


@pytest.fixture(scope="module")
def toy(toy_llama_path):
    from core.models import load_model_and_tokenizer

    torch.set_num_threads(1)
    return load_model_and_tokenizer(str(toy_llama_path))


def prompt(text: str, rels: list[str]) -> str:
    return f"已知候选的关系列表：{rels}，请从输入中抽取三元组。\n输入：{text}\n输出："


def run(model, tokenizer, prompts, constraints, max_new_tokens=40, guard=True):
    """Greedy, left-padded batch through model.generate with the constraint processor; (texts, reports).
    guard=False: the processor is not told the budget."""
    enc = tokenizer(prompts, return_tensors="pt", padding=True)
    assert tokenizer.padding_side == "left"
    processors = logits_processor(tokenizer, constraints, max_new_tokens=max_new_tokens if guard else None,
                                  model=model)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, logits_processor=processors,
                             pad_token_id=tokenizer.pad_token_id)
    texts = [tokenizer.decode(row, skip_special_tokens=True) for row in out[:, enc["input_ids"].shape[1]:]]
    return texts, processors[0].reports(out)


def valid_triples(text: str, source: str, rels: list[str]) -> bool:
    """The CCKS answer parses (no repair but dropping a repeated triple), has triples, and every one is allowed and
    copied from the input."""
    parsed = parse_triples(text, input_text=source, relations=rels)
    return set(parsed.repairs) <= {R_DUPLICATE} and not parsed.failed and bool(parsed.triples) and all(
        t.relation in rels and t.head in source and t.tail in source for t in parsed.triples)


def valid_json(text: str, source: str, rels: list[str]) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, list) and all(
        isinstance(t, list) and len(t) == 3 and t[1] in rels and t[0] in source and t[2] in source for t in value)


def test_free_decoding_gives_no_valid_answer(toy):
    model, tok = toy
    texts, reports = run(model, tok, [prompt(t, r) for t, r in RECORDS], [None] * len(RECORDS))
    assert reports == [None] * len(RECORDS)
    assert sum(valid_triples(x, t, r) for x, (t, r) in zip(texts, RECORDS, strict=True)) == 0
    assert sum(valid_json(x, t, r) for x, (t, r) in zip(texts, RECORDS, strict=True)) == 0


def test_triples_constraint_batched_equals_single_and_every_answer_is_valid(toy):
    model, tok = toy
    prompts = [prompt(t, r) for t, r in RECORDS]
    cons = [constraint_for("schema", answer_format="triples", input_text=t, relations=r, min_items=1)
            for t, r in RECORDS]
    texts, reports = run(model, tok, prompts, cons)
    assert all(valid_triples(x, t, r) for x, (t, r) in zip(texts, RECORDS, strict=True)), texts
    assert all(rep.complete and rep.guarded and rep.error is None for rep in reports)
    for i in (0, 2, 5):  # rows of different lengths, alone: the same answer as in the batch
        alone, _ = run(model, tok, [prompts[i]], [cons[i]])
        assert alone == [texts[i]]


def test_json_schema_constraint_gives_parseable_allowed_copied_answers(toy):
    model, tok = toy
    cons = [constraint_for("schema", schema=TRIPLES_SCHEMA, input_text=t, relations=r) for t, r in RECORDS]
    texts, reports = run(model, tok, [prompt(t, r) for t, r in RECORDS], cons, max_new_tokens=48)
    assert all(valid_json(x, t, r) for x, (t, r) in zip(texts, RECORDS, strict=True)), texts
    assert sum(len(json.loads(x)) for x in texts) >= len(RECORDS)  # not only empty lists
    ents = [constraint_for("schema", schema=ENTITIES_SCHEMA, input_text=t, entity_types=TYPES) for t, _ in RECORDS]
    texts, _ = run(model, tok, [prompt(t, r) for t, r in RECORDS], ents, max_new_tokens=48)
    for x, (t, _) in zip(texts, RECORDS, strict=True):
        assert all(e["E"] in TYPES and e["W"] in t and list(e) == ["E", "W"] for e in json.loads(x)), x


def test_sampling_with_several_answers_per_prompt(toy):
    """num_return_sequences rows per constraint; the mask comes before temperature/top-p, so sampling stays valid."""
    model, tok = toy
    torch.manual_seed(0)
    cons = [constraint_for("schema", answer_format="triples", input_text=t, relations=r, min_items=1)
            for t, r in RECORDS[:3]]
    enc = tok([prompt(t, r) for t, r in RECORDS[:3]], return_tensors="pt", padding=True)
    processors = logits_processor(tok, cons, max_new_tokens=30, model=model)
    out = model.generate(**enc, max_new_tokens=30, do_sample=True, temperature=1.5, top_p=0.9,
                         num_return_sequences=2, logits_processor=processors, pad_token_id=tok.pad_token_id)
    texts = [tok.decode(row, skip_special_tokens=True) for row in out[:, enc["input_ids"].shape[1]:]]
    assert len(texts) == 6 and len(set(texts)) > 3
    assert all(valid_triples(x, *RECORDS[i // 2]) for i, x in enumerate(texts)), texts
    assert all(rep.complete for rep in processors[0].reports(out))


def test_mixed_batch_keeps_free_rows_free_and_json_rows_json(toy):
    model, tok = toy
    prompts = [prompt(t, r) for t, r in RECORDS[:4]]
    free, _ = run(model, tok, prompts, [None] * 4)
    mixed, reports = run(model, tok, prompts, [None, constraint_for("json"), None, constraint_for("json")])
    assert mixed[0] == free[0] and mixed[2] == free[2]
    assert isinstance(json.loads(mixed[1]), dict) and isinstance(json.loads(mixed[3]), dict)
    assert reports[0] is None and reports[1].complete


def shortest_answer_tokens(tok, constraint) -> int:
    """Tokens of the shortest whole answer (what the guard would force from the start)."""
    from core.decoding.track import Tracker
    from core.decoding.vocab import vocab_of

    return vocab_of(tok).count_tokens(Tracker(constraint.tree).rest())


@pytest.mark.parametrize("extra", [0, 1, 3, 6, 10, 16])
def test_every_answer_closes_within_the_token_budget(toy, extra):
    model, tok = toy
    prompts = [prompt(t, r) for t, r in RECORDS]
    triples = [constraint_for("schema", answer_format="triples", input_text=t, relations=r, min_items=1)
               for t, r in RECORDS]
    schema = [constraint_for("schema", schema=TRIPLES_SCHEMA, input_text=t, relations=r, min_items=1)
              for t, r in RECORDS]
    budget = max(shortest_answer_tokens(tok, c) for c in triples + schema) + extra
    texts, reports = run(model, tok, prompts, triples, max_new_tokens=budget)
    assert all(valid_triples(x, t, r) for x, (t, r) in zip(texts, RECORDS, strict=True)), texts
    assert all(rep.complete for rep in reports)
    forced = sum(rep.forced_close for rep in reports)
    texts, reports = run(model, tok, prompts, schema, max_new_tokens=budget)
    assert all(valid_json(x, t, r) and json.loads(x) for x, (t, r) in zip(texts, RECORDS, strict=True)), texts
    assert all(rep.complete for rep in reports)
    forced += sum(rep.forced_close for rep in reports)
    assert forced >= len(RECORDS)  # the random model rarely stops by itself: the guard steered them to close
    texts, reports = run(model, tok, prompts, schema, max_new_tokens=budget, guard=False)
    cut = [not rep.complete for rep in reports]
    assert any(cut)  # without the guard the budget cuts answers, and the report flags exactly those
    assert cut == [not valid_json(x, t, r) for x, (t, r) in zip(texts, RECORDS, strict=True)]


def test_a_budget_below_the_shortest_answer_is_flagged(toy):
    model, tok = toy
    cons = [constraint_for("schema", answer_format="triples", input_text=t, relations=r, min_items=1)
            for t, r in RECORDS[:2]]
    texts, reports = run(model, tok, [prompt(t, r) for t, r in RECORDS[:2]], cons, max_new_tokens=2)
    assert [rep.complete for rep in reports] == [False, False]
    assert not any(c.accepts(tok, x) for c, x in zip(cons, texts, strict=True))


@pytest.mark.parametrize("kind, method", [("llama", "lora"), ("glm", "ptuning")])
def test_constrained_adapter_still_gives_its_memorised_answers(kind, method):
    """A model that knows the answers is not disturbed: every memorised output is valid, so it comes out unchanged."""
    from core.loader import fix_prefix_generation, load_model_with_adapter
    from core.testing.adapters import memorised_adapter, memorised_records
    from core.tuning import adapter_template

    model, tok, meta = load_model_with_adapter(None, memorised_adapter(kind, method))
    if method == "ptuning":
        fix_prefix_generation(model)
    model.eval()
    template = adapter_template(meta)
    records = memorised_records()
    prompts = [template.render(r["instruction"], r["input"], tok) for r in records]
    cons = [constraint_for("schema", answer_format="triples", input_text=r["input"],
                           relations=relations_from_instruction(r["instruction"]), min_items=1) for r in records]
    texts, reports = run(model, tok, prompts, cons, max_new_tokens=48)
    assert [template.response(x) for x in texts] == [r["output"] for r in records]
    assert all(rep.complete and not rep.forced_close for rep in reports)
