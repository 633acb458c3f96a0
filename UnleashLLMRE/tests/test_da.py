"""gpt3DA's checks through the one data augmentation (core.tasks.da) and its TACRED records (core.tasks.tacred_data)."""

import json
from pathlib import Path

import pytest

from core.io import write_jsonl
from core.records import OK, Parsed
from core.tasks import da, da_tokens, get_task, tacred_data

DATA = Path(__file__).resolve().parents[1] / "data"
REL = "org:founded_by"
TYPES = ["PERSON", "ORGANIZATION", "CITY", "MISC"]
VALID = {"relation": REL, "context": "Clara Ortiz founded Ortiz Designs in Madrid in 2011.", "head": "Ortiz Designs",
         "head_type": "ORGANIZATION", "tail": "Clara Ortiz", "tail_type": "PERSON"}
TOKENS = ["Clara", "Ortiz", "founded", "Ortiz", "Designs", "in", "Madrid", "in", "2011", "."]
TASK = get_task("da")


def line(**changes):
    return json.dumps({**VALID, **changes})


def kept_and_dropped(answer, demos=(), seen=(), number=10, types=TYPES):
    kept, report = da.select({REL: TASK.parse(answer, {}, None)}, list(demos), types, number, seen=list(seen))
    return kept, report[REL]["dropped"]


def test_valid_sample_becomes_a_tacred_record_with_token_offsets():
    sample, reason = da.check_sample(dict(VALID), REL, TYPES)
    assert reason is None
    assert tacred_data.da_record(sample) == {
        "id": "da-" + da_tokens.sample_key(VALID["context"], "Ortiz Designs", "Clara Ortiz"), "relation": REL,
        "token": TOKENS, "subj_start": 3, "subj_end": 4, "obj_start": 0, "obj_end": 1,
        "subj_type": "ORGANIZATION", "obj_type": "PERSON", "text": VALID["context"], "subj": "Ortiz Designs",
        "obj": "Clara Ortiz",
    }


def test_generated_record_reads_back_as_the_same_sample(tmp_path):
    sample, _ = da.check_sample({**VALID, "head": "ortiz designs", "head_type": "organization"}, REL, TYPES)
    write_jsonl(tmp_path / "generated.json", [tacred_data.da_record(sample)])
    (back,) = tacred_data.load_samples(tmp_path / "generated.json")
    assert (back.head, back.tail, back.relation) == ("Ortiz Designs", "Clara Ortiz", REL)  # the text's spelling
    assert (back.subj_type, back.obj_type) == ("ORGANIZATION", "PERSON")


@pytest.mark.parametrize("changes, reason", [
    ({"head": "Ortiz Design Studio"}, "head not in text"),
    ({"tail": "Clara Ortiz-Diaz"}, "tail not in text"),
    ({"head": "Ortiz Desig"}, "head not in text"),  # word boundaries, not substrings
    ({"tail": "Ortiz Designs"}, "head and tail overlap"),
    ({"head_type": "COMPANY"}, "head type not allowed"),
    ({"relation": "org:members"}, "other relation"),
    ({"tail_type": ""}, "missing tail_type"),
])
def test_invalid_samples_are_dropped_with_their_reason(changes, reason):
    assert da.check_sample({**VALID, **changes}, REL, TYPES) == (None, reason)


def test_types_are_checked_against_the_dataset():
    misc = {**VALID, "tail_type": "Miscellaneous"}
    assert da.check_sample(misc, REL, tacred_data.ENTITY_TYPES["tacred"])[0]["tail_type"] == "MISC"
    assert da.check_sample(misc, REL, tacred_data.ENTITY_TYPES["retacred"]) == (None, "tail type not allowed")
    state = {**VALID, "tail_type": "state or province"}
    assert da.check_sample(state, REL, tacred_data.ENTITY_TYPES["tacrev"])[0]["tail_type"] == "STATE_OR_PROVINCE"


def test_parser_takes_json_lines_fences_numbering_arrays_and_tagged_lines():
    text = "\n".join([
        "Here are more samples:", "```json", "1. " + line(), "- " + line()[:-1], "{not json", "```",
        "Relation: org:founded_by. Context: Eva Brandt set up Blue Harbor Media in Hamburg. Head Entity: Blue Harbor "
        "Media. Head Type: ORGANIZATION. Tail Entity: Eva Brandt. Tail Type: PERSON.",
    ])
    parsed = TASK.parse(text, {}, None)
    assert parsed.status == "repaired" and len(parsed.pred) == 5
    assert parsed.pred[0] == "Here are more samples:" and parsed.pred[3] == "{not json"  # lines that are no sample
    assert parsed.pred[1] == VALID and parsed.pred[2] == VALID  # the second one repaired (missing brace)
    assert da.fields_of(parsed.pred[4]) == {"text": "Eva Brandt set up Blue Harbor Media in Hamburg.",
                                            "head_entity": "Blue Harbor Media", "head_type": "ORGANIZATION",
                                            "tail_entity": "Eva Brandt", "tail_type": "PERSON", "relation": REL}
    assert TASK.parse(json.dumps([VALID, 3]), {}, None) == Parsed([VALID, 3], OK)
    one = TASK.parse('{"subj": "a", "obj": "b", "text": "a b"}', {}, None).pred
    assert [da.fields_of(x) for x in one] == [{"text": "a b", "head_entity": "a", "head_type": None, "tail_entity": "b",
                                               "tail_type": None, "relation": None}]
    pretty = TASK.parse('Sure:\n[\n  {"text": "a"},\n  {"text": "b"}\n]', {}, None)  # a list over lines: the list
    assert pretty.pred == [{"text": "a"}, {"text": "b"}]


def test_valid_entity_missing_duplicate_and_garbage_keep_exactly_the_valid_one():
    answer = "\n".join([line(), line(head="Ortiz Design Studio"), line(context=VALID["context"].lower()),
                        "Sure! I can write more samples.", '{"foo": 1}'])
    kept, dropped = kept_and_dropped(answer)
    assert [tacred_data.da_record(s)["token"] for s in kept] == [TOKENS]
    assert dropped == {"head not in text": 1, "duplicate": 1, "not an object": 1, "missing text": 1}


def test_copies_of_demos_and_samples_written_before_are_not_kept_again():
    demo = {"text": "Eva Brandt set up Blue Harbor Media in Hamburg .", "head_entity": "Blue Harbor Media",
            "tail_entity": "Eva Brandt"}
    earlier, _ = da.check_sample(dict(VALID), REL, TYPES)
    copy = line(context="Eva Brandt set up Blue Harbor Media in Hamburg.", head="Blue Harbor Media", tail="Eva Brandt")
    kept, dropped = kept_and_dropped("\n".join([copy, line()]), demos=[demo], seen=[earlier])
    assert kept == [] and dropped == {"duplicate of a demo": 1, "duplicate": 1}


def test_at_most_the_asked_number_is_kept_per_request():
    other = line(context="Tom Ruiz founded Ruiz Tools.", head="Ruiz Tools", tail="Tom Ruiz")
    kept, dropped = kept_and_dropped("\n".join([line(), other]), number=1)
    assert [s["text"] for s in kept] == [VALID["context"]] and dropped == {"more than asked": 1}


def test_demo_is_shown_as_the_json_the_model_is_asked_for():
    demo = tacred_data.da_demo(tacred_data.load_samples(DATA / "train.json")[2])
    shown = json.loads(TASK.demo_vars(demo)["answer"])
    assert shown == {"text": "Jan Novak started Bluefin Labs ( a small software company ) in Prague .",
                     "head_type": "ORGANIZATION", "head_entity": "Bluefin Labs", "tail_type": "PERSON",
                     "tail_entity": "Jan Novak", "relation": REL}
    sample, reason = da.check_sample(TASK.parse(json.dumps(shown), {}, None).pred[0], REL, TYPES)
    assert reason is None and sample == shown


def test_chinese_entities_are_found_character_by_character():
    sample = {"text": "王芳于2015年创办了青禾科技。", "head_entity": "青禾科技", "head_type": "组织", "tail_entity": "王芳",
              "tail_type": "人物", "relation": "创始人"}
    assert da.check_sample(sample, "创始人", {"组织", "人物"}) == (sample, None)
    assert da.check_sample({**sample, "tail_entity": "王"}, "创始人", None)[0]["tail_entity"] == "王"
    assert da.check_sample({**sample, "head_entity": "青禾公司"}, "创始人", None) == (None, "head not in text")


def test_per_type_groups_ask_for_a_type_pair_and_keep_only_its_samples():
    demos = [tacred_data.da_demo(s) for s in tacred_data.load_samples(DATA / "train.json")]
    groups = da.groups_of(demos, "types")
    assert list(groups) == ["ORGANIZATION -> PERSON", "PERSON -> ORGANIZATION", "PERSON -> CITY",
                            "ORGANIZATION -> COUNTRY", "PERSON -> PERSON"]
    assert groups["PERSON -> CITY"].relations == ("per:city_of_birth", "no_relation")
    pair = groups["ORGANIZATION -> PERSON"]
    assert pair.relations == (REL,) and sum(pair.holds(d) for d in demos) == 3
    assert da.check_sample(dict(VALID), pair, TYPES)[1] is None
    assert da.check_sample({**VALID, "relation": "per:employee_of"}, pair, TYPES) == (None, "other relation")
    swapped = {**VALID, "head_type": "PERSON", "tail_type": "ORGANIZATION"}
    assert da.check_sample(swapped, pair, TYPES) == (None, "other entity types")
    assert da.check_sample({k: v for k, v in VALID.items() if k != "relation"}, pair, TYPES) == (None,
                                                                                                  "missing relation")


@pytest.mark.parametrize("language", ["en", "cn"])
def test_per_type_plan_uses_the_types_prompt_of_the_language(language):
    demos = [tacred_data.da_demo(s) for s in tacred_data.load_samples(DATA / "train.json")]
    plan = da.augment_plan(TASK, demos, relations=None, labels=None, number=2, k=1, domain=None, language=language,
                           by="types")
    key, prompt = plan.items[0]
    assert key == "ORGANIZATION -> PERSON" and prompt.count("org:founded_by") == 2  # the demo + format
    assert "ORGANIZATION" in prompt.splitlines()[-1] and "PERSON" in prompt.splitlines()[-1]
    assert sorted(plan.types) == ["CITY", "COUNTRY", "ORGANIZATION", "PERSON"]
