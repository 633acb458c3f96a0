"""Prompts built from the prompt files and the few-shot data files: right instruction, labels, k demos, no seed bug."""

from __future__ import annotations

import json

import pytest

TASKS = ("ner", "re", "ee", "rte")
INSTRUCTION = {
    ("ner", "en"): "named-entity recognition (NER) system", ("ner", "cn"): "命名实体识别（NER）系统",
    ("re", "en"): "relation extraction (RE) system", ("re", "cn"): "关系抽取（RE）系统",
    ("ee", "en"): "event extraction system", ("ee", "cn"): "事件抽取系统",
    ("rte", "en"): "knowledge-graph construction system", ("rte", "cn"): "知识图谱构建系统",
}
MARKER = {"en": "Passage: ", "cn": "文本："}
RE_MARKER = {"en": "Context: ", "cn": "上下文："}
QUERY = {"en": "Nobody lives here.", "cn": "这里没有人。", "ch": "这里没有人。"}


def build(m, argv):
    settings = m.config.load_settings(argv)
    return m.runner.prompts(settings)


def demo_texts(m, task, language):
    found = m.icl.get_task(task)
    return [d["text"] for d in found.read(found.demo_path(m.runner.DATA, language))]


def argv_for(task, language, *extra):
    return [f"task={task}", f"language={language}", f"text_input={QUERY[language]}", "head_entity=Nobody",
            "tail_entity=here", *extra]


@pytest.mark.parametrize("language", ["en", "cn"])
@pytest.mark.parametrize("task", TASKS)
def test_few_shot_prompt_has_instruction_labels_and_exactly_k_demos(m, task, language):
    [(_, prompt)] = build(m, argv_for(task, language, "zero_shot=False", "k=2", "labels=[Alpha, Beta]"))
    texts = demo_texts(m, task, language)
    assert len(texts) >= 3
    assert prompt.count(INSTRUCTION[task, language]) == 1
    assert prompt.count("Alpha, Beta") == 1
    assert "JSON" in prompt
    for shown in texts[:2]:
        assert prompt.count(shown) == 1
    for hidden in texts[2:]:
        assert hidden not in prompt
    marker = (RE_MARKER if task == "re" else MARKER)[language]
    assert prompt.count(marker) == 3  # two demos and the query
    assert QUERY[language] in prompt.rstrip().rsplit("\n\n", 1)[-1]


@pytest.mark.parametrize("language", ["en", "cn"])
@pytest.mark.parametrize("task", TASKS)
def test_zero_shot_prompt_has_no_demos(m, task, language):
    [(_, prompt)] = build(m, argv_for(task, language, "zero_shot=True"))
    for text in demo_texts(m, task, language):
        assert text not in prompt
    assert "Examples:" not in prompt and "示例：" not in prompt
    assert prompt.count(INSTRUCTION[task, language]) == 1


@pytest.mark.parametrize("language", ["en", "cn"])
def test_demo_answers_are_the_gold_of_the_data_file_as_json(m, language):
    [(_, prompt)] = build(m, argv_for("ner", language, "zero_shot=False", "k=1"))
    found = m.icl.get_task("ner")
    first = found.read(found.demo_path(m.runner.DATA, language))[0]
    answer = json.dumps([{"E": e["E"], "W": e["W"]} for e in first["data"]], ensure_ascii=False)
    assert answer in prompt


@pytest.mark.parametrize("language", ["en", "cn"])
def test_da_prompt_shows_k_demos_of_its_own_relation_and_the_allowed_types(m, language):
    relation = {"en": "org:founded_by", "cn": "创始人"}[language]
    [(rec_id, prompt)] = build(m, ["task=da", f"language={language}", f"text_input={relation}", "k=2", "number=4"])
    found = m.icl.get_task("da")
    demos = found.read(found.demo_path(m.runner.DATA, language))
    own = [d["text"] for d in demos if d["relation"] == relation]
    other = [d["text"] for d in demos if d["relation"] != relation]
    assert rec_id == relation and len(own) >= 3
    assert all(prompt.count(t) == 1 for t in own[:2]) and not any(t in prompt for t in own[2:] + other)
    types = sorted({d[k] for d in demos for k in ("head_type", "tail_type")})
    assert ", ".join(types) in prompt
    assert "4" in prompt.rsplit("\n\n", 1)[-1]


# ---- the seed's prompt bugs, one test each ---------------------------------------------------------------------

def test_seed_bug_english_ner_prompt_describes_entities_not_relation_extraction(m):
    [(_, prompt)] = build(m, argv_for("ner", "en", "zero_shot=True"))
    assert "named-entity" in prompt and "entity type" in prompt
    assert "relation" not in prompt.lower()


@pytest.mark.parametrize("language", ["en", "cn"])
def test_seed_bug_re_prompt_states_the_context_once_and_not_the_prompt_again(m, language):
    [(_, prompt)] = build(m, argv_for("re", language, "zero_shot=True"))
    assert prompt.count(QUERY[language]) == 1
    assert prompt.count(INSTRUCTION["re", language]) == 1
    assert prompt.count(RE_MARKER[language]) == 1


def test_seed_bug_chinese_few_shot_loops_over_the_chinese_demos_in_order(m):
    [(_, prompt)] = build(m, argv_for("ner", "cn", "zero_shot=False"))
    texts = demo_texts(m, "ner", "cn")
    positions = [prompt.index(t) for t in texts]
    assert positions == sorted(positions)
    assert not any(t in prompt for t in demo_texts(m, "ner", "en"))


@pytest.mark.parametrize("task", TASKS + ("da",))
def test_seed_bug_ch_and_cn_read_the_same_cn_file(m, task):
    """The seed looked for <task>_ch.json while shipping <task>_cn.json; both spellings now read the _cn file."""
    as_ch = build(m, argv_for(task, "ch", "zero_shot=False") if task != "da" else ["task=da", "language=ch"])
    as_cn = build(m, argv_for(task, "cn", "zero_shot=False") if task != "da" else ["task=da", "language=cn"])
    assert as_ch == as_cn
    assert m.icl.get_task(task).demo_path(m.runner.DATA, "cn").name == f"{task}_cn.json"


def test_seed_bug_yaml_none_never_reaches_the_prompt(m):
    [(_, prompt)] = build(m, argv_for("ner", "en", "instruction=None", "labels=None", "domain=None"))
    assert "None" not in prompt
    assert INSTRUCTION["ner", "en"] in prompt


def test_custom_instruction_replaces_ours_but_the_answer_format_stays(m):
    [(_, prompt)] = build(m, argv_for("ner", "en", "instruction=Find the people."))
    assert prompt.startswith("Find the people.\n")
    assert INSTRUCTION["ner", "en"] not in prompt and '"E"' in prompt


def test_record_being_asked_about_is_never_shown_as_its_own_demo(m):
    first = demo_texts(m, "rte", "en")[0]
    [(_, prompt)] = build(m, ["task=rte", "language=en", "zero_shot=False", f"text_input={first}"])
    assert prompt.count(first) == 1


def test_ccks_record_brings_its_instruction_and_ccks_answer_form(m, tmp_path):
    demos = tmp_path / "rte_cn.json"
    demos.write_text(json.dumps([{"text": "甲位于乙。", "labels": [["甲", "位于", "乙"]]}], ensure_ascii=False))
    record = {"id": 7, "instruction": "抽取关系类型为{'位于'}的三元组", "input": "丙位于丁。"}
    source = tmp_path / "in.json"
    source.write_text(json.dumps(record, ensure_ascii=False) + "\n")
    [(rec_id, prompt)] = build(m, ["task=rte", "language=cn", "zero_shot=False", f"data_path={tmp_path}",
                                   f"input_file={source}"])
    assert rec_id == 7
    assert prompt.startswith("抽取关系类型为{'位于'}的三元组\n")
    assert "答案：(甲,位于,乙)" in prompt and prompt.endswith("文本：丙位于丁。\n答案：")


def test_preprocess_prints_the_prompts_without_a_model(h):
    done = h.run_cli("task=ner", "language=en", "zero_shot=False", "k=1", "text_input=Ann met Bob.",
                     script="preprocess.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("===== 0\nYou are an accurate named-entity recognition")
    assert "Passage: Ann met Bob.\nAnswer:" in done.stdout


def test_seed_prepare_examples_reads_the_cn_file_for_ch(h):
    from core.modload import load_module

    module = load_module(h.CASE / "preprocess.py", "llmicl_preprocess")
    demos = module.prepare_examples("", "re", "ch")
    assert demos and all("__line__" not in d for d in demos)
    assert demos[0]["text"] == json.loads((h.CASE / "data" / "re_cn.json").read_text(encoding="utf-8"))[0]["text"]


@pytest.mark.parametrize("task, content, message", [
    ("ner", '{"samples": [{"id": "1", "text": "a", "data": [{"E": "PER"}]}]}',
     'ner_en.json:1: field "samples[0].data": item 0 needs string E (type) and W (words)'),
    ("ee", '[{"text": "x", "event_list": [{"event_type": 3}]}]',
     'ee_en.json:1: field "event_list": event 0 needs a string event_type'),
    ("rte", '[{"text": "x", "labels": [["a", "b"]]}]',
     'rte_en.json:1: field "labels": expected a list of [head, relation, tail] strings'),
    ("re", '[{"text": "x", "head_entity": "x"}]', 're_en.json:1: field "tail_entity": missing'),
])
def test_bad_few_shot_file_is_named_with_line_and_field(m, tmp_path, task, content, message):
    from core.io import DataError

    (tmp_path / f"{task}_en.json").write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        build(m, argv_for(task, "en", "zero_shot=False", f"data_path={tmp_path}"))
    assert str(caught.value) == message
