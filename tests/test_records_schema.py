import json

import pytest

from core.io import DataError
from core.records import Entity, Event, RESample, Triple
from core.schema import Schema


def test_triple_key_strips_whitespace_but_keeps_case():
    assert Triple(" A ", "work for ", "b").key() == ("A", "work for", "b")
    assert Triple("A", "r", "B") != Triple("a", "r", "B")


def test_triple_from_list_and_dict_round_trip():
    t = Triple("北京大学(PKU)", "位于", "北京", head_type="组织")
    assert Triple.from_any(t.to_dict()) == t
    assert Triple.from_any(["a", "b", "c"]) == Triple("a", "b", "c")
    with pytest.raises(DataError, match="a triple must be"):
        Triple.from_any(["a", "b"], "p.jsonl", 4)


def test_missing_required_field_names_it():
    with pytest.raises(DataError) as exc:
        Entity.from_dict({"text": "Paris"}, "ner.json", 7)
    assert str(exc.value) == 'ner.json:7: field "type": missing'
    with pytest.raises(DataError, match='field "relation": missing'):
        Triple.from_any({"head": "a", "tail": "b"})


def test_event_round_trip():
    data = {"event_type": "Attack", "trigger": "bombed", "arguments": [{"role": "Target", "argument": "the bridge"}]}
    assert Event.from_dict(data).to_dict() == data
    with pytest.raises(DataError, match="event_type"):
        Event.from_dict({"trigger": "x"})


def test_re_sample_round_trips_a_tacred_record_and_converts_ptb_brackets():
    rec = {"id": "a", "relation": "r", "token": ["A", "-LRB-", "B", "-RRB-"], "subj_start": 0, "subj_end": 0,
           "obj_start": 1, "obj_end": 3}
    s = RESample.from_dict(rec)
    assert s.to_dict() == rec and s.tail == "( B )"


def test_schema_loads_from_json_with_signatures(tmp_path):
    p = tmp_path / "schema.json"
    p.write_text(json.dumps({"entity_types": ["person", "organization"], "relation_types": ["kill"],
                             "relations": {"work for": ["person", "organization"]}}), encoding="utf-8")
    s = Schema.load(p)
    assert s.relation_types == ["kill", "work for"]
    assert s.signatures["work for"] == ("person", "organization")
    assert s.has_entity_type("person") and not s.has_entity_type("city")
    assert Schema.from_dict(s.to_dict()) == s


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "a schema must be a JSON object"),
        ({"entity_types": "person"}, 'field "entity_types": expected a list of non-empty strings'),
        ({"entity_types": ["a", "a"]}, 'entity_types: "a" is listed twice'),
        ({"relations": {"r": ["a"]}}, 'field "relations": "r" needs [head type, tail type]'),
    ],
)
def test_bad_schema_gives_a_clear_error(tmp_path, data, message):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError) as exc:
        Schema.load(p)
    assert str(exc.value) == f"s.json: {message}"
