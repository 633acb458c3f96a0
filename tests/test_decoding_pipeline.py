"""Issue 17's done-means on the toy random model, end to end through core.pipeline on the hf backend: free decoding
gives no parseable answer; schema decoding gives 100% parseable answers whose relations are all allowed and whose
heads/tails all occur in the input, batched and one at a time; each parsed line and the report say which decoding
produced the answer; parse-only / score-only keep it."""

import json

import pytest
import torch

from core.llm import LLMConfig, create_backend
from core.pipeline import RunFiles, parse_only, run, score_only
from core.prompts import build_prompt
from core.tasks import get_task

CCKS = [  # the CCKS2023 instruction layout: each record brings its own relation list
    ("长江发源于青藏高原，流入东海。", ["发源地", "流入"], [["长江", "发源地", "青藏高原"]]),
    ("《红楼梦》是曹雪芹创作的小说，成书于清代。", ["作者", "类型", "成书年代"], [["红楼梦", "作者", "曹雪芹"]]),
    ("Mount Everest is in Nepal.", ["located in"], [["Mount Everest", "located in", "Nepal"]]),
    ("大熊猫生活在四川，以竹子为食，是中国的国宝。", ["食物", "分布"], [["大熊猫", "食物", "竹子"]]),
    ("弗雷泽代表澳大利亚参加北京奥运会女子水球比赛，赢得铜牌。", ["获奖", "国籍"], [["弗雷泽", "获奖", "铜牌"]]),
    ("The Eiffel Tower, designed by Gustave Eiffel, stands in Paris.", ["designer", "located in"],
     [["Eiffel Tower", "located in", "Paris"]]),
]
RTE_LABELS = ["发源地", "流入", "作者", "located in", "designer"]


def ccks_records():
    return [{"id": f"c{i}", "instruction": f"已知候选的关系列表：{rels}，请从以下输入中抽取三元组，以(头实体,关系,尾实体)的形式回答。",
             "input": text, "output": "".join(f"({h},{r},{t})" for h, r, t in gold), "kg": gold}
            for i, (text, rels, gold) in enumerate(CCKS)]


def rte_records():
    return [{"id": i, "text": text, "labels": gold} for i, (text, _, gold) in enumerate(CCKS)]


def plan(name):
    """(task, records, items, labels): CCKS records asked with their own instruction (InstructKGC style), RTE
    records with the LLMICL prompt (JSON answers, the relation list in the prompt)."""
    task = get_task(name)
    if name == "ccks":
        records = [task.check(r, "ccks.json", k + 1) for k, r in enumerate(ccks_records())]
        items = [(r["id"], f"{r['instruction']}\n输入：{r['input']}\n输出：") for r in records]
        return task, records, items, None
    records = [task.check(r, "rte.jsonl", k + 1) for k, r in enumerate(rte_records())]
    items = [(r["id"], build_prompt("rte", "cn", task.query_vars(r), [], labels=RTE_LABELS)) for r in records]
    return task, records, items, RTE_LABELS


def ask(toy_llama_path, tmp_path, name, decoding, batch_size=8, stem="pred"):
    torch.set_num_threads(1)
    task, records, items, labels = plan(name)
    files = RunFiles.beside(tmp_path / f"{stem}-{decoding}-{batch_size}.jsonl")
    config = LLMConfig(backend="hf", base_model=str(toy_llama_path), no_cache=True, decoding=decoding,
                       batch_size=batch_size)
    with create_backend(config) as backend:
        result = run(task, records, items, backend, files, labels=labels, language="cn", max_tokens=48,
                     stop=["\n"])
    return task, records, labels, files, result


def allowed_of(rec, labels):
    from core.parsing.ccks_instruction import relations_from_instruction

    return labels or relations_from_instruction(rec["instruction"])


def lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", ["ccks", "rte"])
def test_free_decoding_gives_no_parseable_answer(toy_llama_path, tmp_path, name):
    _, records, _, files, result = ask(toy_llama_path, tmp_path, name, "free")
    assert [p.status for _, p in result.pairs] == ["unparsable"] * len(records)
    assert "decoding" not in result.metrics  # a free run reports as before
    assert all("decoding" not in row for row in lines(files.parsed))


@pytest.mark.parametrize("name", ["ccks", "rte"])
def test_schema_decoding_gives_only_parseable_allowed_copied_answers_batched_and_single(toy_llama_path, tmp_path,
                                                                                      name):
    task, records, labels, files, result = ask(toy_llama_path, tmp_path, name, "schema")
    triples = 0
    for rec, parsed in result.pairs:
        assert parsed.status in ("ok", "repaired") and parsed.decoding == "schema", (parsed.raw, parsed.issues)
        assert parsed.pred, parsed.raw
        for head, relation, tail in parsed.pred:
            assert relation in allowed_of(rec, labels)
            assert head in task.text_of(rec) and tail in task.text_of(rec)
            triples += 1
    assert triples >= len(records)
    report = result.metrics["decoding"]
    assert report == {"schema": {"answers": 6, "parsed": 6, "valid": 6, "parse_rate": 1.0}}
    assert [row["decoding"] for row in lines(files.parsed)] == ["schema"] * len(records)
    raw = lines(files.raw)
    assert {c["decoding"] for r in raw for c in r["completions"]} == {"schema"}
    _, _, _, _, single = ask(toy_llama_path, tmp_path, name, "schema", batch_size=1)
    assert [p.raw for _, p in single.pairs] == [p.raw for _, p in result.pairs]


@pytest.mark.parametrize("max_tokens", [12, 48])
def test_without_a_relation_list_every_relation_is_a_non_empty_name(toy_llama_path, tmp_path, max_tokens):
    """LLMICL's few-shot RTE gives no relation list: the relation is free, but never "" nor padded with spaces."""
    torch.set_num_threads(1)
    task = get_task("rte")
    records = [task.check({"id": i, "text": text}, "rte.jsonl", i + 1) for i, (text, _, _) in enumerate(CCKS)]
    items = [(r["id"], build_prompt("rte", "cn", task.query_vars(r), [])) for r in records]
    config = LLMConfig(backend="hf", base_model=str(toy_llama_path), no_cache=True, decoding="schema")
    with create_backend(config) as backend:
        result = run(task, records, items, backend, RunFiles.beside(tmp_path / "p.jsonl"), language="cn",
                     max_tokens=max_tokens)
    relations = [r for _, parsed in result.pairs for _, r, _ in parsed.pred]
    assert result.metrics["decoding"]["schema"]["valid"] == len(records), [p.raw for _, p in result.pairs]
    assert relations and all(r and r == r.strip() for r in relations), relations


def test_parse_only_and_score_only_keep_the_decoding_of_each_answer(toy_llama_path, tmp_path):
    task, records, labels, files, result = ask(toy_llama_path, tmp_path, "ccks", "schema")
    parsed_bytes, metrics_bytes = files.parsed.read_bytes(), files.metrics.read_bytes()
    files.parsed.unlink()
    files.metrics.unlink()
    again = parse_only(task, records, files, labels=labels, language="cn")
    assert files.parsed.read_bytes() == parsed_bytes and files.metrics.read_bytes() == metrics_bytes
    assert again.metrics["decoding"]["schema"]["parse_rate"] == 1.0
    files.metrics.unlink()
    score_only(task, records, files, labels=labels, language="cn")
    assert files.metrics.read_bytes() == metrics_bytes


def test_json_mode_on_the_ccks_text_format_keeps_the_syntax_but_not_the_record(toy_llama_path, tmp_path):
    """decoding json = the (h,r,t) syntax only: every answer parses, but relations and names are not the record's."""
    task, records, labels, _, result = ask(toy_llama_path, tmp_path, "ccks", "json")
    report = result.metrics["decoding"]["json"]
    assert report["parsed"] == report["answers"] == len(records)
    assert all(parsed.pred and parsed.decoding == "json" for _, parsed in result.pairs)
    outside = [(h, r, t) for rec, parsed in result.pairs for h, r, t in parsed.pred
               if r not in allowed_of(rec, labels) or h not in rec["input"] or t not in rec["input"]]
    assert outside  # the syntax alone lets the random model write any relation and any name


@pytest.mark.parametrize("name, labels, text_key", [
    ("ner", ["地点", "人物", "作品"], "W"),
    ("re", ["作者", "发源地", "no_relation"], None),
    ("kg", ["发源地", "作者", "located in"], "head"),
])
def test_every_task_with_an_answer_schema_parses_every_constrained_answer(toy_llama_path, tmp_path, name, labels,
                                                                         text_key):
    torch.set_num_threads(1)
    task = get_task(name)
    records = []
    for i, (text, _, gold) in enumerate(CCKS):
        rec = {"id": i, "text": text}
        if name == "re":
            rec.update(head_entity=gold[0][0], tail_entity=gold[0][2])
        records.append(task.check(rec, "in.jsonl", i + 1))
    items = [(r["id"], f"{r['text']}\n答案：") for r in records]
    config = LLMConfig(backend="hf", base_model=str(toy_llama_path), no_cache=True, decoding="schema")
    with create_backend(config) as backend:
        result = run(task, records, items, backend, RunFiles.beside(tmp_path / "p.jsonl"), labels=labels,
                     language="cn", max_tokens=48)
    assert result.metrics["decoding"]["schema"]["valid"] == len(records), [p.raw for _, p in result.pairs]
    for rec, parsed in result.pairs:
        assert parsed.status == "ok", (parsed.raw, parsed.issues)
        if name == "re":
            assert parsed.pred in labels
        elif name == "ner":
            assert all(e["E"] in labels and e["W"] in rec["text"] for e in parsed.pred)
        else:
            assert all(f["relation"] in labels and f["head"] in rec["text"] and f["tail"] in rec["text"]
                       for f in parsed.pred)


def test_two_records_with_one_prompt_but_two_answer_specs_are_refused():
    from core.decoding.spec import AnswerSpec
    from core.io import DataError
    from core.pipeline import specs_by_prompt

    same = {1: AnswerSpec("json", None, "a"), 2: AnswerSpec("json", None, "a")}
    assert specs_by_prompt([(1, "p"), (2, "p")], same) == {"p": same[1]}
    with pytest.raises(DataError, match="id 2 has the prompt of another record but another answer schema"):
        specs_by_prompt([(1, "p"), (2, "p")], {1: same[1], 2: AnswerSpec("json", None, "b")})
    chat = [{"role": "user", "content": "q"}]
    assert specs_by_prompt([(1, chat)], same) == {'[{"content": "q", "role": "user"}]': same[1]}
