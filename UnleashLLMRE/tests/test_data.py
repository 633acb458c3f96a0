import json
from pathlib import Path

import pytest

from core.io import DataError
from core.records import RESample, ptb_text
from core.tasks import tacred_data

DATA = Path(__file__).resolve().parents[1] / "data"


def test_tacred_record_gives_inclusive_spans_and_converted_text():
    samples = tacred_data.load_samples(DATA / "train.json")
    s = samples[2]
    assert (s.id, s.relation, s.subj_type, s.obj_type) == ("train-03", "org:founded_by", "ORGANIZATION", "PERSON")
    assert (s.head, s.tail) == ("Bluefin Labs", "Jan Novak")
    assert s.sentence == "Jan Novak started Bluefin Labs ( a small software company ) in Prague ."
    assert s.record["token"][5] == "-LRB-"  # the record itself is kept as read


def test_deepke_ht_layout_reads_as_the_same_samples():
    tacred = tacred_data.load_samples(DATA / "test.json")
    ht = tacred_data.load_samples(DATA / "fewshot" / "test.txt")
    assert tacred_data.file_format(DATA / "fewshot" / "test.txt") == "ht"
    assert tacred_data.file_format(DATA / "test.json") == "tacred"
    assert [(s.head, s.tail, s.relation, s.sentence) for s in ht] == \
           [(s.head, s.tail, s.relation, s.sentence) for s in tacred]
    assert [s.id for s in ht] == list(range(len(tacred)))  # no id field: the position


def test_rel2id_gives_relations_in_id_order(tmp_path):
    (tmp_path / "rel2id.json").write_text(json.dumps({"b": 1, "no_relation": 0, "a": 2}))
    assert tacred_data.load_rel2id(tmp_path / "rel2id.json") == ["no_relation", "b", "a"]
    assert tacred_data.find_rel2id(tmp_path / "train.txt") == tmp_path / "rel2id.json"
    assert tacred_data.find_rel2id(DATA / "train.json") is None


def test_label_list_keeps_relations_without_demos():
    pool = tacred_data.load_samples(DATA / "fewshot" / "train.txt")
    test = tacred_data.load_samples(DATA / "fewshot" / "test.txt")
    rel2id = [*tacred_data.load_rel2id(DATA / "fewshot" / "rel2id.json"), "per:title"]
    labels, no_demo = tacred_data.relation_list(pool, test, rel2id)
    assert labels[0] == "no_relation" and labels[-1] == "per:title" and no_demo == ["per:title"]
    labels, no_demo = tacred_data.relation_list(pool[:3], test, None)  # only org:founded_by demos
    assert labels == ["org:founded_by", "per:employee_of", "per:city_of_birth", "org:country_of_headquarters",
                      "no_relation"]
    assert no_demo == labels[1:]


def test_relation_missing_from_rel2id_names_file_and_line():
    test = tacred_data.load_samples(DATA / "fewshot" / "test.txt")
    with pytest.raises(DataError, match=r'test.txt:3: field "relation": \'per:employee_of\' is not in r2i.json'):
        tacred_data.relation_list([], test, ["org:founded_by", "no_relation"], "r2i.json")


@pytest.mark.parametrize("record, message", [
    ({"token": ["a", "b"], "subj_start": 0, "subj_end": 2, "obj_start": 1, "obj_end": 1, "relation": "r"},
     'bad.json:2: field "subj_end": token index 2 outside the sentence'),
    ({"token": ["a", "b"], "subj_start": 1, "subj_end": 0, "obj_start": 1, "obj_end": 1, "relation": "r"},
     'bad.json:2: field "subj_end": subj_end 0 before subj_start 1'),
    ({"token": "a b", "subj_start": 0, "subj_end": 0, "obj_start": 1, "obj_end": 1, "relation": "r"},
     'bad.json:2: field "token": expected a non-empty list of strings'),
    ({"token": ["a", "b"], "subj_start": 0, "subj_end": 0, "obj_start": 1, "obj_end": 1},
     'bad.json:2: field "relation": missing'),
    ({"token": ["a", "b"], "h": {"name": "a", "pos": [0, 3]}, "t": {"name": "b", "pos": [1, 2]}, "relation": "r"},
     'bad.json:2: field "h.pos": expected \\[start, end\\) token offsets within 0..2'),
])
def test_bad_record_is_one_error_naming_file_line_and_field(tmp_path, record, message):
    good = {"token": ["a", "b"], "subj_start": 0, "subj_end": 0, "obj_start": 1, "obj_end": 1, "relation": "r"}
    if "h" in record:
        good = {"token": ["a", "b"], "h": {"name": "a", "pos": [0, 1]}, "t": {"name": "b", "pos": [1, 2]},
                "relation": "r"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(good) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(DataError, match=message):
        tacred_data.load_samples(path)


def test_duplicate_ids_are_refused(tmp_path):
    rec = {"id": "x", "token": ["a", "b"], "subj_start": 0, "subj_end": 0, "obj_start": 1, "obj_end": 1,
           "relation": "r"}
    path = tmp_path / "dup.json"
    path.write_text(json.dumps([rec, rec], indent=1))
    with pytest.raises(DataError, match=r"dup.json:\d+: field \"id\": duplicate id 'x' \(first on line 2\)"):
        tacred_data.load_samples(path)


def test_ptb_brackets_are_converted_in_one_place_for_sentence_and_names():
    s = RESample(["Polar", "Energy", "-LRB-", "PE", "-RRB-", "opened", "-LSB-", "x", "-RSB-", "-lcb-", "-RCB-"],
                 0, 4, 7, 7, "r")
    assert s.sentence == "Polar Energy ( PE ) opened [ x ] { }" == ptb_text(s.tokens)
    assert (s.head, s.tail) == ("Polar Energy ( PE )", "x")


def test_re_sample_round_trips_the_tacred_record_and_drops_unknown_fields():
    rec = {"id": "a", "relation": "r", "token": ["A", "met", "B"], "subj_start": 0, "subj_end": 0, "obj_start": 2,
           "obj_end": 2, "subj_type": "PERSON", "obj_type": "PERSON", "text": "A met B"}
    s = RESample.from_dict(rec)
    assert s.to_dict() == {k: v for k, v in rec.items() if k != "text"} and s.record is rec
    assert RESample.from_dict({k: v for k, v in rec.items() if k not in ("id", "relation", "subj_type")}).to_dict() == {
        "token": ["A", "met", "B"], "subj_start": 0, "subj_end": 0, "obj_start": 2, "obj_end": 2, "obj_type": "PERSON"}


def test_ht_record_with_a_bad_token_list_names_the_token_field(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(json.dumps({"token": "a b", "h": {"pos": [0, 1]}, "t": {"pos": [1, 2]}, "relation": "r"}) + "\n")
    with pytest.raises(DataError, match='bad.txt:1: field "token": expected a non-empty list of strings'):
        tacred_data.load_samples(path, "ht")
