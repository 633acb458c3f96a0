"""The "label" answer format (core.decoding, core.tasks.tacred): a k-shot relation classification answer is exactly
one allowed label word. On the toy random model through core.pipeline: free decoding names no known label, schema
decoding names one for every record, batched and one at a time; servers: vLLM gets `choice`, OpenAI asks free."""

import json
from pathlib import Path

import pytest
import torch

from core.decoding import constraint_for
from core.decoding.spec import LABEL_JSON, LABEL_OPENAI, AnswerSpec, local_plan
from core.llm import LLMConfig, create_backend
from core.pipeline import RunFiles, run
from core.tasks import get_task, tacred
from core.tasks.tacred_data import as_record, load_samples

DATA = Path(__file__).resolve().parents[1] / "UnleashLLMRE" / "data"
RELATIONS = ["org:founded_by", "per:employee_of", "per:city_of_birth", "org:country_of_headquarters", "no_relation"]
WORDS = ["organization:founded by", "person:employee of", "person:city of birth",
         "organization:country of headquarters", "no relation"]  # label_word of each, written out by hand


def test_the_tacred_answer_schema_is_the_label_words_as_a_string_enum():
    task = get_task("tacred")
    assert task.answer_format({}) == "label"
    assert task.answer_schema({}, RELATIONS) == {"type": "string", "enum": WORDS}
    assert task.answer_schema({}, None) is None  # no labels: nothing to choose from, asked free


def test_a_label_constraint_accepts_a_label_with_a_space_before_and_a_period_after_and_nothing_else(
        toy_llama_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(toy_llama_path))
    cons = constraint_for("schema", answer_format="label", choices=WORDS)
    for text in ["no relation", " person:city of birth", "person:employee of.", " organization:founded by."]:
        assert cons.accepts(tok, text), text
    for text in ["person:city of death", "no relation..", "  no relation", "no relation\n", "no", "",
                 " person:city of birth. Context:"]:
        assert not cons.accepts(tok, text), text


def test_every_answer_the_label_constraint_accepts_reads_back_as_ok():
    task = get_task("tacred")
    for relation, word in zip(RELATIONS, WORDS, strict=True):
        for text in (word, f" {word}", f"{word}.", f" {word}."):
            parsed = task.parse(text, {}, RELATIONS)
            assert (parsed.pred, parsed.status) == (relation, "ok"), text


def test_label_constraints_refuse_json_mode_and_an_empty_label_list():
    with pytest.raises(ValueError, match="a label answer takes 'schema'"):
        constraint_for("json", answer_format="label", choices=WORDS)
    with pytest.raises(ValueError, match="at least one allowed label"):
        constraint_for("schema", answer_format="label", choices=["", " ", "two\nlines"])
    with pytest.raises(ValueError, match=r"answer\.schema: a label answer needs"):
        AnswerSpec.from_dict({"format": "label", "schema": {"type": "string"}})


def test_servers_get_vllm_choice_the_whole_spec_for_kgllm_and_free_for_openai():
    spec = AnswerSpec("label", {"type": "string", "enum": WORDS})
    assert spec.server_body("schema", "vllm") == ({"structured_outputs": {"choice": WORDS}}, "schema", None)
    assert spec.server_body("schema", "openai") == ({}, "free", LABEL_OPENAI)
    body, applied, why = spec.server_body("schema", "kgllm")
    assert (applied, why) == ("schema", None)
    assert AnswerSpec.from_dict(json.loads(json.dumps(body))["kgllm"]["answer"]) == spec  # what core.serve reads
    for kind in ("vllm", "openai", "kgllm"):
        assert spec.server_body("json", kind) == ({}, "free", LABEL_JSON)
    assert local_plan("json", spec) == (None, "free", LABEL_JSON)
    constraint, applied, why = local_plan("schema", spec)
    assert (constraint.answer_format, applied, why) == ("label", "schema", None)


# ---- end to end on the toy model ---------------------------------------------------------------------------------
def ask(toy_llama_path, tmp_path, decoding, batch_size=8):
    """The 10 test samples with the "text" prompt (one demo per relation), through core.pipeline on the hf backend."""
    torch.set_num_threads(1)
    pool: dict = {}
    for sample in load_samples(DATA / "train.json"):
        pool.setdefault(sample.relation, []).append(sample)
    test = load_samples(DATA / "test.json")
    labels = tacred.LabelSet(RELATIONS)
    items = [(s.id, tacred.build_prompt("text", labels, tacred.choose_demos(pool, RELATIONS, 1,
                                                                           tacred.item_rng(0, s.id)), s))
             for s in test]
    files = RunFiles.beside(tmp_path / f"pred-{decoding}-{batch_size}.jsonl")
    config = LLMConfig(backend="hf", base_model=str(toy_llama_path), no_cache=True, decoding=decoding,
                       batch_size=batch_size)
    with create_backend(config) as backend:
        return run(get_task("tacred"), [as_record(s) for s in test], items, backend, files, labels=RELATIONS,
                   max_tokens=24, stop=["\nContext:"])


def test_free_decoding_names_no_known_label(toy_llama_path, tmp_path):
    result = ask(toy_llama_path, tmp_path, "free")
    assert len(result.pairs) == 10
    assert [p.pred for _, p in result.pairs] == [None] * 10, [p.raw for _, p in result.pairs]
    assert all(p.status in ("invalid", "unparsable") for _, p in result.pairs)


def test_schema_decoding_names_a_known_label_for_every_record_batched_and_single(toy_llama_path, tmp_path):
    result = ask(toy_llama_path, tmp_path, "schema")
    allowed = {before + word + after for word in WORDS for before in ("", " ") for after in ("", ".")}
    for _, parsed in result.pairs:
        assert parsed.raw in allowed and parsed.decoding == "schema", parsed.raw
        assert parsed.status == "ok" and parsed.pred in RELATIONS, (parsed.raw, parsed.issues)
    assert result.metrics["decoding"] == {"schema": {"answers": 10, "parsed": 10, "valid": 10, "parse_rate": 1.0}}
    single = ask(toy_llama_path, tmp_path, "schema", batch_size=1)
    assert [p.raw for _, p in single.pairs] == [p.raw for _, p in result.pairs]


def test_json_decoding_asks_a_label_answer_free(toy_llama_path, tmp_path):
    result = ask(toy_llama_path, tmp_path, "json", batch_size=10)
    assert {p.decoding for _, p in result.pairs} == {"free"}


def test_core_serve_takes_a_label_spec_in_its_kgllm_field(toy_llama_path):
    """What our backend sends core.serve (`server_body(..., "kgllm")`) constrains the served answer the same way."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from core.serve.__main__ import load_engine
    from core.serve.app import create_app

    torch.set_num_threads(1)
    spec = AnswerSpec("label", get_task("tacred").answer_schema({}, RELATIONS))
    body = spec.server_body("schema", "kgllm")[0]
    allowed = {before + word + after for word in WORDS for before in ("", " ") for after in ("", ".")}
    engine = load_engine(str(toy_llama_path), max_batch_size=4, max_wait_ms=10)
    try:
        with TestClient(create_app(engine, model_name="toy")) as client:
            for prompt in ["Context: Ann was born in Porto . The relation between 'Ann' and 'Porto' is", "x"]:
                free = client.post("/v1/completions", json={"model": "toy", "prompt": prompt, "max_tokens": 16})
                asked = client.post("/v1/completions", json={"model": "toy", "prompt": prompt, "max_tokens": 16,
                                                              **body})
                assert free.json()["choices"][0]["text"] not in allowed
                assert asked.json()["choices"][0]["text"] in allowed, asked.json()
    finally:
        engine.close()
