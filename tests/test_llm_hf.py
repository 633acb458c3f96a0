"""core.llm's hf backend: the same run_prompts over a local toy model (+ a memorising adapter when available)."""

import json

import pytest

from core.errors import UserError
from core.llm import LLMConfig, create_backend, run_prompts


def hf(path, tmp_path, **kw):
    return create_backend(LLMConfig(backend="hf", base_model=str(path), cache_dir=str(tmp_path / "cache"),
                                    batch_size=2, **kw))


def test_hf_backend_gives_core_generate_output_through_run_prompts_and_caches_it(toy_llama_path, tmp_path):
    from core.generate import generate
    from core.models import load_model_and_tokenizer

    prompts = ["The cat sat", "A much longer prompt about knowledge graphs and triples", "Hi", "Beijing is"]
    backend = hf(toy_llama_path, tmp_path)
    assert not backend.chat and backend.model == toy_llama_path.name
    results = run_prompts(backend, list(enumerate(prompts)), tmp_path / "raw.jsonl", max_tokens=6)
    model, tok = load_model_and_tokenizer(str(toy_llama_path), padding_side="left")
    expected = generate(model, tok, prompts, batch_size=1, max_new_tokens=6, progress=False)
    assert [results[i][0].text for i in range(4)] == [o.text for o in expected]
    assert results[0][0].usage["completion_tokens"] == expected[0].completion_tokens
    assert backend.stats.sent == 4

    fresh = hf(toy_llama_path, tmp_path)
    again = run_prompts(fresh, list(enumerate(prompts)), tmp_path / "raw2.jsonl", max_tokens=6)
    assert fresh._loaded is None  # answered from the cache: the model was never loaded
    assert [again[i][0].text for i in range(4)] == [o.text for o in expected]
    recs = [json.loads(x) for x in (tmp_path / "raw2.jsonl").read_text().splitlines()]
    assert {r["backend"] for r in recs} == {"hf"} and sorted(r["id"] for r in recs) == [0, 1, 2, 3]


def test_chat_mode_renders_messages_with_the_template(toy_llama_path, tmp_path):
    from core.templates import get_template

    backend = hf(toy_llama_path, tmp_path, prompt_template_name="alpaca", no_cache=True)
    assert backend.chat
    msgs = [{"role": "user", "content": "Extract triples"}]
    assert backend.render(msgs) == backend.render("Extract triples") == get_template("alpaca").render("Extract triples")
    raw = hf(toy_llama_path, tmp_path, no_cache=True, chat=False)
    assert raw.render(msgs) == "Extract triples"


def test_hf_backend_without_a_model_is_a_user_error():
    with pytest.raises(UserError, match="needs --base_model"):
        create_backend(LLMConfig(backend="hf", no_cache=True))


def test_memorising_adapter_gives_its_answers_through_run_prompts(tmp_path):
    from core.testing.adapters import memorised_adapter, memorised_records

    adapter, records = memorised_adapter("llama", "lora"), memorised_records()
    backend = create_backend(LLMConfig(backend="hf", lora_weights=str(adapter), cache_dir=str(tmp_path / "cache"),
                                       batch_size=4, chat=False))
    assert backend.model == f"llama+{adapter.name}"
    chat = create_backend(LLMConfig(backend="hf", lora_weights=str(adapter), no_cache=True))
    assert chat.chat and "template alpaca" in chat.describe()  # the template the adapter recorded
    template = chat.load()[2]
    # the adapter was trained on instruction + input, so the prompts are that rendering, sent as text
    items = [(r["id"], template.render(r["instruction"], r["input"])) for r in records]
    results = run_prompts(backend, items, tmp_path / "raw.jsonl", max_tokens=48)
    assert [results[r["id"]][0].text.strip() for r in records] == [r["output"] for r in records]
    assert all(results[r["id"]][0].finish_reason == "stop" for r in records)


SOURCES = ["长江发源于青藏高原，流入东海。", "Mount Everest is in Nepal.", "《红楼梦》是曹雪芹创作的小说。"]
RELATIONS = ["发源地", "流入", "located in", "作者"]


def triple_specs(prompts):
    from core.decoding.spec import AnswerSpec
    from core.llm.base import prompt_key
    from core.tasks.rte import TRIPLES_SCHEMA

    schema = {**TRIPLES_SCHEMA, "items": {**TRIPLES_SCHEMA["items"], "prefixItems": [
        {"type": "string", "x-kgllm": "copy"}, {"type": "string", "x-kgllm": "relation", "enum": RELATIONS},
        {"type": "string", "x-kgllm": "copy"}]}}
    return {prompt_key(p): AnswerSpec("json", schema, text) for p, text in zip(prompts, SOURCES, strict=True)}


def test_schema_decoding_answers_record_their_mode_and_are_cached_apart_from_free_ones(toy_llama_path, tmp_path):
    prompts = [f"{text}\n答案：" for text in SOURCES]
    items, specs = list(enumerate(prompts)), triple_specs(prompts)
    free = run_prompts(hf(toy_llama_path, tmp_path), items, tmp_path / "free.jsonl", max_tokens=40, answer_specs=specs)
    assert all(free[i][0].decoding is None for i in range(3))  # a free backend ignores the specs
    backend = hf(toy_llama_path, tmp_path, decoding="schema")
    got = run_prompts(backend, items, tmp_path / "schema.jsonl", max_tokens=40, answer_specs=specs)
    assert backend.stats.cached == 0 and backend.stats.sent == 3  # the free answers were not taken from the cache
    assert backend.describe().endswith("batch 2, decoding schema)")
    for i, text in enumerate(SOURCES):
        answer = got[i][0]
        assert answer.decoding == "schema" and answer.fallback is None
        triples = json.loads(answer.text)
        assert all(r in RELATIONS and h in text and t in text for h, r, t in triples), answer.text
        assert answer.text != free[i][0].text
    raw = [json.loads(x) for x in (tmp_path / "schema.jsonl").read_text().splitlines()]
    assert [r["completions"][0]["decoding"] for r in raw] == ["schema"] * 3
    again = hf(toy_llama_path, tmp_path, decoding="schema")
    cached = run_prompts(again, items, tmp_path / "again.jsonl", max_tokens=40, answer_specs=specs)
    assert again.stats.cached == 3 and [cached[i][0].decoding for i in range(3)] == ["schema"] * 3
    assert [cached[i][0].text for i in range(3)] == [got[i][0].text for i in range(3)]


def test_a_prompt_without_a_spec_is_asked_free_in_schema_mode_and_as_any_object_in_json_mode(toy_llama_path,
                                                                                             tmp_path):
    from core.decoding.spec import NO_SCHEMA

    items = [(0, "The cat sat"), (1, "Hi")]
    schema = run_prompts(hf(toy_llama_path, tmp_path, decoding="schema", no_cache=True), items,
                         tmp_path / "s.jsonl", max_tokens=24)
    assert [(schema[i][0].decoding, schema[i][0].fallback) for i in (0, 1)] == [("free", NO_SCHEMA)] * 2
    as_json = run_prompts(hf(toy_llama_path, tmp_path, decoding="json", no_cache=True), items,
                          tmp_path / "j.jsonl", max_tokens=24)
    for i in (0, 1):
        assert as_json[i][0].decoding == "json" and isinstance(json.loads(as_json[i][0].text), dict)
