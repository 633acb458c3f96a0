"""core.iepile and the task `iepile`: conversion tables, schema batches, negatives under a seed, round trips,
answer parsing, merging the batches of an input, IEPile's micro F1 per task and source, the OneKE template."""

import json
from pathlib import Path

import pytest

from core.iepile.batches import Schema, read_hard_negatives, read_schema, split_batches
from core.iepile.convert import to_test_records, to_train_records
from core.iepile.predict import from_answers, merge_status, prompt_items
from core.iepile.records import our_record, sample_of, samples_from_iepile
from core.iepile.spec import answer_text, instruction_text, parse_answer, sentence
from core.io import DataError
from core.records import INVALID, OK, UNPARSABLE
from core.tasks import get_task
from core.templates import get_template

ROOT_CORPUS = Path(__file__).resolve().parents[1] / "examples" / "corpus"

NER_EN = ("You are an expert in named entity recognition. Please extract entities that match the schema definition "
          "from the input. Return an empty list if the entity type does not exist. Please respond in the format of "
          "a JSON string.")
RE_ZH = "你是专门进行关系抽取的专家。请从input中抽取出符合schema定义的关系三元组，不存在的关系返回空列表。请按照JSON字符串的格式回答。"
EE_EN = ("You are an expert in event extraction. Please extract events from the input that conform to the schema "
         "definition. Return an empty list for events that do not exist, and return NAN for arguments that do not "
         "exist. If an argument has multiple values, please return a list. Respond in the format of a JSON string.")


def ent(e, t):
    return {"entity": e, "entity_type": t}


def rel(h, r, t):
    return {"head": h, "relation": r, "tail": t}


def event(etype, trigger, *args):
    return {"event_type": etype, "event_trigger": trigger, "arguments": [{"argument": a, "role": r} for r, a in args]}


@pytest.mark.parametrize("n, split_num, sizes", [
    (9, 4, [4, 5]), (10, 4, [4, 4, 2]), (11, 4, [4, 4, 3]), (7, 6, [7]), (9, 6, [6, 3]), (15, 6, [6, 6, 3]),
    (3, 4, [3]), (5, -1, [5]), (0, 4, []), (3, 2, [2, 1])])
def test_schema_batches_follow_iepiles_remainder_rule(n, split_num, sizes):
    batches = split_batches(list(range(n)), split_num)
    assert [len(b) for b in batches] == sizes
    assert [x for b in batches for x in b] == list(range(n))


CASES = [
    ("NER", "en", {"text": "Ann met Bob in Oslo.", "entity": [ent("Ann", "person"), ent("Bob", "person"),
                                                               ent("Oslo", "location")]},
     Schema(["work", "person", "location", "date", "event"]), 2, [
         ('{"instruction": "' + NER_EN + '", "schema": ["date", "event"], "input": "Ann met Bob in Oslo."}',
          '{"date": [], "event": []}'),
         ('{"instruction": "' + NER_EN + '", "schema": ["location", "person"], "input": "Ann met Bob in Oslo."}',
          '{"location": ["Oslo"], "person": ["Ann", "Bob"]}'),
         ('{"instruction": "' + NER_EN + '", "schema": ["work"], "input": "Ann met Bob in Oslo."}', '{"work": []}')]),
    ("RE", "zh", {"text": "鲁迅出生于绍兴。", "relation": [rel("鲁迅", "出生地", "绍兴")]}, Schema(["出生地", "作者"]), -1, [
        ('{"instruction": "' + RE_ZH + '", "schema": ["作者", "出生地"], "input": "鲁迅出生于绍兴。"}',
         '{"作者": [], "出生地": [{"subject": "鲁迅", "object": "绍兴"}]}')]),
    ("EE", "en", {"text": "Ann wed Bob.", "event": [event("marry", "wed", ("person", "Ann"), ("person", "Bob"))]},
     Schema(["marry", "die"], {"die": ["victim"], "marry": ["time", "person", "place"]}), 4, [
         ('{"instruction": "' + EE_EN + '", "schema": [{"event_type": "die", "trigger": true, "arguments": '
          '["victim"]}, {"event_type": "marry", "trigger": true, "arguments": ["person", "place", "time"]}], '
          '"input": "Ann wed Bob."}',
          '{"die": [], "marry": [{"trigger": "wed", "arguments": {"person": ["Ann", "Bob"], "place": "NAN", '
          '"time": "NAN"}}]}')]),
]


@pytest.mark.parametrize("task, lang, rec, schema, split_num, expected", CASES, ids=["ner-en", "re-zh", "ee-en"])
def test_conversion_table_gives_the_expected_instruction_records(task, lang, rec, schema, split_num, expected):
    samples = [sample_of(rec, task)]
    got = to_train_records(samples, task, lang, schema, split_num=split_num, source="toy")
    assert [(r["instruction"], r["output"]) for r in got] == expected
    assert all(r["task"] == task and r["source"] == "toy" for r in got)
    # with neg_ratio 1 and alphabetical order, test time asks exactly the training instructions
    tests = to_test_records(samples, task, lang, schema, split_num=split_num, source="toy")
    assert [r["instruction"] for r in tests] == [e[0] for e in expected]
    assert all(json.loads(r["label"]) == samples[0]["gold"] for r in tests)


def test_an_event_without_an_asked_role_has_empty_arguments_and_no_trigger_is_nan():
    gold = [event("die", "", ("place", "x")), event("die", "", )]  # the second has nothing to say: left out
    schema = [{"event_type": "die", "trigger": True, "arguments": ["victim"]}]
    assert answer_text("EE", schema, gold) == '{"die": [{"trigger": "NAN", "arguments": {}}]}'
    # training always asks the gold roles of a gold type, so its answer keeps the argument
    s = sample_of({"text": "x died.", "event": gold[:1]}, "EE")
    out = to_train_records([s], "EE", "en", Schema(["die"], {"die": ["victim"]}))[0]["output"]
    assert out == '{"die": [{"trigger": "NAN", "arguments": {"place": "x", "victim": "NAN"}}]}'


SCHEMA12 = Schema([f"t{i:02d}" for i in range(12)])


def _asked(records):
    return [t for r in records for t in json.loads(r["instruction"])["schema"]]


def test_random_negatives_come_only_from_the_schema_minus_the_gold_and_the_seed_fixes_them():
    sample = sample_of({"text": "a b", "entity": [ent("a", "t03"), ent("b", "t07")]}, "NER")
    draws = set()
    for seed in range(15):
        recs = to_train_records([sample], "NER", "en", SCHEMA12, split_num=4, seed=seed, neg_ratio=0.4,
                             random_sort=True)
        asked = _asked(recs)
        assert sorted(asked).count("t03") == 1 and asked.count("t07") == 1 and len(set(asked)) == len(asked)
        assert set(asked) - {"t03", "t07"} <= set(SCHEMA12.labels("NER")) - {"t03", "t07"}
        assert recs == to_train_records([sample], "NER", "en", SCHEMA12, split_num=4, seed=seed, neg_ratio=0.4,
                                     random_sort=True)
        draws.add(tuple(asked))
    assert len(draws) > 5  # the seed matters: shuffles and draws differ between seeds


def test_neg_ratio_one_asks_everything_zero_only_the_gold_and_nothing_for_an_input_without_gold():
    gold = sample_of({"text": "a", "entity": [ent("a", "t05")]}, "NER")
    empty = sample_of({"text": "c", "entity": []}, "NER")
    assert sorted(_asked(to_train_records([gold], "NER", "en", SCHEMA12, neg_ratio=1))) == SCHEMA12.labels("NER")
    assert _asked(to_train_records([gold], "NER", "en", SCHEMA12, neg_ratio=0)) == ["t05"]
    assert to_train_records([empty], "NER", "en", SCHEMA12, neg_ratio=0) == []
    assert len(_asked(to_train_records([empty], "NER", "en", SCHEMA12, neg_ratio=0.01, seed=3))) == 1  # at least one


def test_hard_negatives_always_ask_the_confusable_types_of_the_gold_plus_split_num_others():
    sample = sample_of({"text": "a", "entity": [ent("a", "t03")]}, "NER")
    hard = {"t03": ["t04", "t05", "not-in-schema"], "t09": ["t10"]}
    for seed in range(8):
        asked = _asked(to_train_records([sample], "NER", "en", SCHEMA12, split_num=4, seed=seed, hard=hard))
        assert {"t03", "t04", "t05"} <= set(asked) and "not-in-schema" not in asked
        assert len(asked) == 3 + 4 and len(set(asked)) == 7


def test_ee_negative_roles_are_drawn_from_the_types_own_roles():
    schema = Schema(["marry", "die"], {"marry": ["person", "place", "time"], "die": ["victim", "place", "time"]})
    sample = sample_of({"text": "Ann wed.", "event": [event("marry", "wed", ("person", "Ann"))]}, "EE")
    for seed in range(6):
        rec = to_train_records([sample], "EE", "en", schema, seed=seed, neg_ratio=0.3)[0]
        items = {i["event_type"]: i["arguments"] for i in json.loads(rec["instruction"])["schema"]}
        assert "person" in items["marry"] and set(items["marry"]) <= {"person", "place", "time"}
        assert set(items.get("die", ["victim"])) <= {"victim", "place", "time"} and items.get("die", [1])


ROUND = [
    ("NER", [{"text": "Ann met Bob in Oslo.", "entity": [ent("Ann", "person"), ent("Oslo", "location")]},
             {"text": "Nothing here.", "entity": []}]),
    ("RE", [{"text": "鲁迅出生于绍兴，著有《呐喊》。", "relation": [rel("鲁迅", "出生地", "绍兴"), rel("呐喊", "作者", "鲁迅")]}]),
    ("EE", [{"text": "Ann wed Bob; the king died.", "event": [
        event("marry", "wed", ("person", "Ann"), ("person", "Bob")), event("die", "died", ("victim", "the king"))]}]),
]


@pytest.mark.parametrize("task, recs", ROUND, ids=[t for t, _ in ROUND])
@pytest.mark.parametrize("seed", [0, 1])
def test_round_trip_records_to_iepile_and_back_keeps_every_item(task, recs, seed):
    samples = [sample_of(r, task, i) for i, r in enumerate(recs)]
    schema = Schema(["date", "location", "person", "work", "作者", "出生地", "死亡地"])
    if task == "EE":
        schema = Schema(["attack", "die", "marry"],
                        {"marry": ["person", "place"], "die": ["victim", "time"], "attack": ["target"]})
    train = to_train_records(samples, task, "en", schema, split_num=1, seed=seed, random_sort=True)
    back = samples_from_iepile([dict(r, __line__=i) for i, r in enumerate(train)])
    key = lambda items: sorted(json.dumps(i, sort_keys=True, ensure_ascii=False) for i in items)  # noqa: E731
    assert [(b["text"], key(b["gold"])) for b in back] == [(s["text"], key(s["gold"])) for s in samples]
    tests = to_test_records(samples, task, "en", schema, split_num=2)
    assert [key(b["gold"]) for b in samples_from_iepile(tests)] == [key(s["gold"]) for s in samples]


def test_our_records_in_and_out():
    ner = sample_of({"id": 3, "text": "Ann left.", "data": [{"E": "person", "W": "Ann"}]}, "NER")
    assert ner["gold"] == [ent("Ann", "person")] and ner["id"] == 3
    kg = sample_of({"text": "A is in B.", "triples": [["A", "in", "B"], {"head": "B", "relation": "has", "tail": "A"}]},
                   "RE")
    assert kg["gold"] == [rel("A", "in", "B"), rel("B", "has", "A")]
    ee = sample_of({"text": "Ann wed.", "event_list": [{"event_type": "marry", "trigger": "wed",
                                                        "arguments": [{"role": "person", "argument": "Ann"}]}]}, "EE")
    assert ee["gold"] == [event("marry", "wed", ("person", "Ann"))]
    assert our_record("EE", 1, "Ann wed.", ee["gold"]) == {
        "id": 1, "text": "Ann wed.", "event_list": [{"event_type": "marry", "trigger": "wed", "arguments": [
            {"role": "person", "argument": "Ann"}]}], "entities": [{"text": "wed", "type": "marry"}],
        "triples": [{"head": "wed", "relation": "person", "tail": "Ann", "head_type": "marry"}]}
    assert our_record("NER", 3, "Ann left.", ner["gold"])["data"] == [{"E": "person", "W": "Ann"}]
    with pytest.raises(ValueError, match=r"entity\[0\]\.entity_type"):
        sample_of({"text": "x", "entity": [{"entity": "x"}]}, "NER")


def test_parse_answer_reads_items_flags_and_counts_malformed_ones():
    schema = [{"event_type": "marry", "trigger": True, "arguments": ["person", "place"]}]
    p = parse_answer("EE", '{"marry": [{"trigger": "wed", "arguments": {"person": ["Ann", "Bob"], "place": "NAN"}}, '
                           '"junk"], "war": []}', schema, "Ann wed Bob.")
    assert p.pred == [event("marry", "wed", ("person", "Ann"), ("person", "Bob"))]
    assert p.bad == {"trigger": 1, "argument": 1} and p.status == INVALID
    assert any("'war' is not in the schema" in i for i in p.issues)
    p = parse_answer("RE", 'Sure! {"born in": [{"subject": "Ann", "object": "Rome"}]}', ["born in"], "Ann left.")
    assert p.pred == [rel("Ann", "born in", "Rome")] and p.status == INVALID  # repaired, and Rome not in the input
    p = parse_answer("NER", "no idea", ["person"], "x")
    assert p.status == UNPARSABLE and p.bad == {"entity": 1} and p.pred == []
    assert parse_answer("NER", '{"person": []}', ["person"], "x").status == OK


def _test_records(rows):
    task = get_task("iepile")
    return [task.check(r, "<t>", i + 1) for i, r in enumerate(rows)]


def test_one_input_with_three_schema_batches_is_three_prompts_and_one_scored_prediction():
    relations = [f"r{i}" for i in range(10)]  # split_num 4 -> batches of 4, 4, 2
    gold = [rel("A", "r0", "B"), rel("B", "r5", "C"), rel("C", "r9", "D")]
    sample = sample_of({"id": "x", "text": "A B C D", "relation": gold}, "RE")
    recs = to_test_records([sample], "RE", "en", Schema(relations), source="s")
    assert len(recs) == 3
    records = _test_records(recs)
    items = prompt_items([records])
    assert [i for i, _ in items] == ["x#0", "x#1", "x#2"] and items[0][1] == recs[0]["instruction"]
    answers = ['{"r0": [{"subject": "A", "object": "B"}], "r1": [], "r2": [], "r3": []}',
               '{"r4": [{"subject": "A", "object": "D"}], "r5": [{"subject": "B", "object": "C"}]}',
               "I cannot answer that."]
    for rec, answer in zip(records, answers, strict=True):
        rec["output"] = answer
    result = from_answers(records, "output")
    (merged, parsed), = result.pairs
    assert parsed.pred == [rel("A", "r0", "B"), rel("A", "r4", "D"), rel("B", "r5", "C")]
    assert parsed.status == INVALID and parsed.bad == {"triple": 1} and result.rows[0]["raw"] == answers
    m = result.metrics["RE"]["triple"]
    # gold 3; predicted 3 read + 1 unreadable batch; correct 2 -> P 2/4, R 2/3, F1 4/7
    assert (m["gold"], m["pred"], m["correct"]) == (3, 4, 2)
    assert m["precision"] == 0.5 and m["recall"] == pytest.approx(2 / 3) and m["f1"] == pytest.approx(4 / 7)
    assert result.metrics["RE"]["by_source"]["s"]["triple"] == m


def test_scores_per_task_and_per_source_with_duplicates_counted():
    def rows(source, rid, task, schema, text, label, output):
        return {"id": rid, "task": task, "source": source, "label": json.dumps(label),
                "instruction": instruction_text(task, "en", schema, text), "output": output}

    ev = [event("marry", "wed", ("person", "Ann"), ("person", "Bob"))]
    schema_ee = [{"event_type": "marry", "trigger": True, "arguments": ["person"]}]
    records = _test_records([
        rows("a", 1, "NER", ["person"], "Ann and Ann", [ent("Ann", "person")], '{"person": ["Ann", "Ann"]}'),
        rows("b", 1, "NER", ["person"], "Bob", [ent("Bob", "person")], '{"person": ["Bob"]}'),
        rows("a", 2, "EE", schema_ee, "Ann wed Bob.", ev,
             '{"marry": [{"trigger": "married", "arguments": {"person": ["Ann", "Eve"]}}]}'),
    ])
    metrics = from_answers(records, "output").metrics
    ner = metrics["NER"]
    assert (ner["entity"]["pred"], ner["entity"]["correct"], ner["entity"]["gold"]) == (3, 2, 2)  # "normal" match
    assert ner["by_source"]["a"]["entity"]["precision"] == 0.5 and ner["by_source"]["b"]["entity"]["f1"] == 1.0
    assert metrics["EE"]["trigger"]["f1"] == 0.0  # (marry, married) is not (marry, wed)
    arg = metrics["EE"]["argument"]
    assert (arg["pred"], arg["correct"], arg["gold"], arg["f1"]) == (2, 1, 2, 0.5)
    assert set(metrics["EE"]["by_source"]) == {"a"} and metrics["records"] == 3


def test_merge_status_rule():
    assert merge_status(["ok", "repaired"]) == "repaired"
    assert merge_status(["ok", "unparsable"]) == "invalid"
    assert merge_status(["failed", "unparsable"]) == "unparsable"
    assert merge_status(["failed", "failed"]) == "failed"


def test_task_records_are_checked_with_one_line_errors():
    task = get_task("iepile")
    with pytest.raises(DataError, match=r"f\.jsonl:4: field \"instruction\""):
        task.check({"instruction": "not json"}, "f.jsonl", 4)
    with pytest.raises(DataError, match=r"field \"task\""):
        task.check({"instruction": {"instruction": "?", "schema": ["a"], "input": "x"}}, "f.jsonl", 2)
    with pytest.raises(DataError, match=r"field \"label\[0\]\.tail\""):
        task.check({"task": "RE", "instruction": instruction_text("RE", "en", ["r"], "x"),
                    "label": [{"head": "a", "relation": "r"}]}, "f.jsonl", 1)
    rec = task.check({"instruction": instruction_text("EE", "zh", [], "x")}, "f.jsonl", 1)
    assert rec["__task__"] == "EE"  # the task sentence says it


def test_schema_files_and_hard_negative_files(tmp_path):
    iepile = tmp_path / "schema.json"
    iepile.write_text('["marry", "die"]\n["person", "victim"]\n{"marry": ["person"], "die": ["victim"]}\n')
    assert read_schema(iepile) == Schema(["marry", "die"], {"marry": ["person"], "die": ["victim"]})
    plain = tmp_path / "types.json"
    plain.write_text('["a", "b"]')
    assert read_schema(plain) == Schema(["a", "b"])
    bad = tmp_path / "bad.json"
    bad.write_text('["a"]\n[]\n{"a": [1]}\n')
    with pytest.raises(DataError, match=r"bad\.json:3"):
        read_schema(bad)
    hard = tmp_path / "hard.json"
    hard.write_text('{"a": ["b", "c"]}')
    assert read_hard_negatives(hard) == {"a": ["b", "c"]}
    hard.write_text('["a"]')
    with pytest.raises(DataError, match="expected a JSON object"):
        read_hard_negatives(hard)


def test_task_sentences_and_model_templates():
    assert sentence("NER", "en") == NER_EN and sentence("re", "cn") == RE_ZH
    prompt = instruction_text("NER", "en", ["person"], "Ann")
    assert get_template("oneke").render(prompt) == (
        "[INST] <<SYS>>\nYou are a helpful assistant. 你是一个乐于助人的助手。\n<</SYS>>\n\n" + prompt + "[/INST]")
    llama2 = get_template("llama2").render(prompt)
    assert llama2.startswith("[INST] <<SYS>>\nYou are a helpful, respectful and honest assistant.")
    assert llama2.endswith("<</SYS>>\n\n" + prompt + " [/INST]")
    assert get_template("oneke").response(get_template("oneke").render(prompt) + '{"person": []}') == '{"person": []}'


def test_iepile_uses_the_one_schema_of_core_and_reads_iepiles_three_line_files_per_task(tmp_path):
    import core.schema
    from core.iepile import batches

    assert not isinstance(batches.Schema, type)  # a constructor of core.schema.Schema, not a second schema class
    assert type(Schema(["a"])) is core.schema.Schema and type(read_schema(ROOT_CORPUS / "schema.en.json")) is \
        core.schema.Schema
    # IEPile's reader: line 1 type_list, line 2 role_list, line 3 type_role_dict; RE asks line 2 (its relations)
    re_file = tmp_path / "re_schema.json"
    re_file.write_text('["人物", "地点"]\n["出生地", "配偶"]\n{}\n', encoding="utf-8")
    sample = sample_of({"id": 1, "text": "鲁迅出生于绍兴。", "relation": [rel("鲁迅", "出生地", "绍兴")]}, "RE")
    asked = [json.loads(r["instruction"])["schema"] for r in to_test_records([sample], "RE", "zh",
                                                                               read_schema(re_file), split_num=-1)]
    assert asked == [["出生地", "配偶"]]  # not the entity types of line 1
    ner = sample_of({"id": 1, "text": "鲁迅", "entity": [ent("鲁迅", "人物")]}, "NER")
    assert [json.loads(r["instruction"])["schema"] for r in to_test_records([ner], "NER", "zh", read_schema(re_file),
                                                                            split_num=-1)] == [["人物", "地点"]]
    ee_file = tmp_path / "ee_schema.json"
    ee_file.write_text('["marry", "die"]\n["person", "victim", "time"]\n{"marry": ["time", "person"], "die": '
                       '["victim"]}\n', encoding="utf-8")
    ee = read_schema(ee_file)
    assert ee.labels("EE") == ["marry", "die"] and ee.events == {"marry": ["time", "person"], "die": ["victim"]}
    assert ee.entity_types == [] and ee.relation_types == []  # roles are not relations
    # the documents pipeline's schema file drives IEPile conversion as it is: RE asks its relation types
    kg = read_schema(ROOT_CORPUS / "schema.en.json")
    sample = sample_of({"id": 2, "text": "Ann was born in Oslo.", "relation": [rel("Ann", "born in", "Oslo")]}, "RE")
    asked = [t for r in to_test_records([sample], "RE", "en", kg, split_num=4)
             for t in json.loads(r["instruction"])["schema"]]
    assert asked == sorted(kg.relation_types) and len(asked) == 13
