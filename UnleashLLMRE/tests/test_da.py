import json
from pathlib import Path

import pytest

from core.io import write_jsonl

DATA = Path(__file__).resolve().parents[1] / "data"
REL = "org:founded_by"
TYPES = ["PERSON", "ORGANIZATION", "CITY", "MISC"]
VALID = {"relation": REL, "context": "Clara Ortiz founded Ortiz Designs in Madrid in 2011.", "head": "Ortiz Designs",
         "head_type": "ORGANIZATION", "tail": "Clara Ortiz", "tail_type": "PERSON"}
TOKENS = ["Clara", "Ortiz", "founded", "Ortiz", "Designs", "in", "Madrid", "in", "2011", "."]


def line(**changes):
    return json.dumps({**VALID, **changes})


def test_valid_sample_becomes_a_tacred_record_with_token_offsets(re_da):
    record, reason = re_da.to_record(dict(VALID), REL, TYPES)
    assert reason is None
    assert record == {
        "id": "da-" + re_da.sample_key(REL, VALID["context"], "Ortiz Designs", "Clara Ortiz"), "relation": REL,
        "token": TOKENS, "subj_start": 3, "subj_end": 4, "obj_start": 0, "obj_end": 1,
        "subj_type": "ORGANIZATION", "obj_type": "PERSON", "text": VALID["context"], "subj": "Ortiz Designs",
        "obj": "Clara Ortiz",
    }


def test_generated_record_reads_back_as_the_same_sample(re_da, re_data, tmp_path):
    record, _ = re_da.to_record({**VALID, "head": "ortiz designs", "head_type": "organization"}, REL, TYPES)
    write_jsonl(tmp_path / "generated.json", [record])
    (sample,) = re_data.load_samples(tmp_path / "generated.json")
    assert (sample.head, sample.tail, sample.relation) == ("Ortiz Designs", "Clara Ortiz", REL)  # the text's spelling
    assert (sample.subj_type, sample.obj_type) == ("ORGANIZATION", "PERSON")


@pytest.mark.parametrize("changes, reason", [
    ({"head": "Ortiz Design Studio"}, "head_not_in_text"),
    ({"tail": "Clara Ortiz-Diaz"}, "tail_not_in_text"),
    ({"head": "Ortiz Desig"}, "head_not_in_text"),  # word boundaries, not substrings
    ({"tail": "Ortiz Designs"}, "head_tail_overlap"),
    ({"head_type": "COMPANY"}, "bad_type"),
    ({"relation": "org:members"}, "wrong_relation"),
    ({"tail_type": ""}, "missing_field"),
])
def test_invalid_samples_are_dropped_with_their_reason(re_da, changes, reason):
    assert re_da.to_record({**VALID, **changes}, REL, TYPES) == (None, reason)


def test_types_are_checked_against_the_dataset(re_da):
    misc = {**VALID, "tail_type": "Miscellaneous"}
    assert re_da.to_record(misc, REL, re_da.ENTITY_TYPES["tacred"])[0]["obj_type"] == "MISC"
    assert re_da.to_record(misc, REL, re_da.ENTITY_TYPES["retacred"]) == (None, "bad_type")
    state = {**VALID, "tail_type": "state or province"}
    assert re_da.to_record(state, REL, re_da.ENTITY_TYPES["tacrev"])[0]["obj_type"] == "STATE_OR_PROVINCE"


def test_parser_takes_json_lines_fences_numbering_arrays_and_tagged_lines(re_da):
    text = "\n".join([
        "Here are more samples:", "```json", "1. " + line(), "- " + line()[:-1], "{not json", "```",
        "Relation: org:founded_by. Context: Eva Brandt set up Blue Harbor Media in Hamburg. Head Entity: Blue Harbor "
        "Media. Head Type: ORGANIZATION. Tail Entity: Eva Brandt. Tail Type: PERSON.",
    ])
    parsed = re_da.parse_generated(text)
    assert parsed[0] is None and parsed[3] is None
    assert parsed[1] == VALID and parsed[2] == VALID  # the second one repaired (missing brace)
    assert parsed[4] == {"relation": REL, "context": "Eva Brandt set up Blue Harbor Media in Hamburg.",
                         "head": "Blue Harbor Media", "head_type": "ORGANIZATION", "tail": "Eva Brandt",
                         "tail_type": "PERSON"}
    assert re_da.parse_generated(json.dumps([VALID, 3])) == [VALID, None]
    assert re_da.parse_generated('{"subj": "a", "obj": "b", "text": "a b"}') == [{"head": "a", "tail": "b",
                                                                                  "context": "a b"}]


def test_valid_entity_missing_duplicate_and_garbage_keep_exactly_the_valid_one(re_da):
    answer = "\n".join([line(), line(head="Ortiz Design Studio"), line(context=VALID["context"].lower()),
                        "Sure! I can write more samples.", '{"foo": 1}'])
    collector = re_da.Collector([], set())
    kept = [r for f in re_da.parse_generated(answer) if (r := collector.add(f, REL, TYPES)) is not None]
    assert [r["token"] for r in kept] == [TOKENS]
    assert collector.kept == 1 and list(collector.records.values()) == kept
    assert {k: v for k, v in collector.dropped.items() if v} == {"head_not_in_text": 1, "duplicate": 1, "unparsed": 2}


def test_copies_of_demos_and_records_already_written_are_not_kept_again(re_da):
    record, _ = re_da.to_record(dict(VALID), REL, TYPES)
    demo_key = re_da.sample_key(REL, "Eva Brandt set up Blue Harbor Media in Hamburg .", "Blue Harbor Media",
                                "Eva Brandt")
    collector = re_da.Collector([record], {demo_key})
    copy = {**VALID, "context": "Eva Brandt set up Blue Harbor Media in Hamburg.", "head": "Blue Harbor Media",
            "tail": "Eva Brandt"}
    assert collector.add(copy, REL, TYPES) is None
    assert collector.add(dict(VALID), REL, TYPES) is None
    assert (collector.kept, collector.dropped["copy_of_demo"], collector.dropped["duplicate"]) == (0, 1, 1)
    assert len(collector.records) == 1


def test_demo_line_is_the_json_the_model_is_asked_for(re_da, re_data):
    demo = re_data.load_samples(DATA / "train.json")[2]
    assert json.loads(re_da.demo_line(demo)) == {
        "relation": REL, "context": "Jan Novak started Bluefin Labs ( a small software company ) in Prague .",
        "head": "Bluefin Labs", "head_type": "ORGANIZATION", "tail": "Jan Novak", "tail_type": "PERSON"}
    assert re_da.parse_generated(re_da.demo_line(demo))[0]["head"] == "Bluefin Labs"
