"""core.schema for documents: descriptions, (head type, relation, tail type) patterns, CCKS2023 / IEPile relation
lists, checks and batches."""

from __future__ import annotations

import json

import pytest

from core.io import DataError
from core.schema import Schema

FULL = {"entity_types": [{"name": "person", "description": "a human"}, "location", "organization"],
        "relation_types": {"born in": "place of birth", "located in": "lies in", "work for": ""},
        "patterns": [["person", "born in", "location"], ["location", "located in", "location"],
                     ["organization", "located in", "location"]],
        "relations": {"work for": ["person", "organization"]}}


def test_descriptions_patterns_and_signatures_round_trip(tmp_path):
    s = Schema.from_dict(FULL)
    assert s.entity_types == ["person", "location", "organization"]
    assert s.relation_types == ["born in", "located in", "work for"]
    assert s.entity_descriptions == {"person": "a human"}
    assert s.relation_descriptions == {"born in": "place of birth", "located in": "lies in"}
    assert s.patterns == [("person", "born in", "location"), ("location", "located in", "location"),
                          ("organization", "located in", "location"), ("person", "work for", "organization")]
    assert s.signatures == {"work for": ("person", "organization"), "born in": ("person", "location"),
                            "located in": ("location", "location")}  # the first pattern of each relation
    assert Schema.from_dict(s.to_dict()) == s
    p = tmp_path / "s.json"
    p.write_text(json.dumps(s.to_dict()), encoding="utf-8")
    assert Schema.load(p) == s


def test_check_names_what_breaks_the_schema_and_types_come_from_a_lone_pattern():
    s = Schema.from_dict(FULL)
    assert s.check("person", "born in", "location") == []
    assert s.check(None, "located in", "location") == []  # a type not given is not checked
    assert s.check("person", "likes", "person") == ["relation: 'likes' is not in the schema"]
    assert s.check("city", "born in", "location") == ["type: head type 'city' is not in the schema"]
    assert s.check("person", "located in", "location") == [
        "pattern: (person, located in, location) fits none of (location, located in, location), "
        "(organization, located in, location)"]
    assert s.complete_types(None, "born in", None) == ("person", "location")
    assert s.complete_types(None, "located in", None) == (None, None)  # two patterns: not guessed
    assert s.complete_types("organization", "located in", None) == ("organization", "location")


def test_a_large_schema_is_asked_in_batches_of_relation_types():
    s = Schema.from_dict(FULL)
    first, second = s.batches(2)
    assert first.relation_types == ["born in", "located in"] and second.relation_types == ["work for"]
    assert first.entity_types == ["person", "location", "organization"]
    assert second.entity_types == ["person", "organization"] and second.patterns == [
        ("person", "work for", "organization")]
    assert first.relation_descriptions == {"born in": "place of birth", "located in": "lies in"}
    assert s.batches(0) == [s] and s.batches(3) == [s]
    assert [len(b.relation_types) for b in Schema([], [f"r{i}" for i in range(7)]).batches(3)] == [3, 3, 1]
    # IEPile's split_num rule: a remainder shorter than half a batch joins the last one
    assert [len(b.relation_types) for b in Schema([], [f"r{i}" for i in range(9)]).batches(4)] == [4, 5]


def test_ccks2023_and_iepile_relation_lists(tmp_path):
    ccks = tmp_path / "ccks.json"
    ccks.write_text(json.dumps(["出生地", "职业"], ensure_ascii=False), encoding="utf-8")
    assert Schema.load(ccks).relation_types == ["出生地", "职业"]
    iepile = tmp_path / "iepile_schema.json"
    iepile.write_text('["人物", "地点"]\n["出生地", "配偶"]\n{}\n', encoding="utf-8")
    s = Schema.load(iepile)
    assert s.entity_types == ["人物", "地点"] and s.relation_types == ["出生地", "配偶"]
    assert Schema.from_dict({"instruction": "...", "schema": ["founded by"], "input": "..."}).relation_types == [
        "founded by"]


@pytest.mark.parametrize("data, message", [
    ({"patterns": [["person", "born in"]]}, 'field "patterns": expected a list of [head type, relation, tail type]'),
    ({"entity_types": ["person"], "patterns": [["person", "born in", "city"]]},
     'patterns: entity type "city" of "born in" is not in entity_types'),
    ({"entity_types": [{"name": "", "description": "x"}]},
     'field "entity_types[0]": expected {"name": string, "description": string}'),
    ({"relation_types": [1]}, 'field "relation_types": expected a list of non-empty strings'),
    ([1, 2], "a schema must be a JSON object"),
])
def test_bad_schemas_give_one_line_errors(tmp_path, data, message):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError) as exc:
        Schema.load(p)
    assert str(exc.value) == f"s.json: {message}"
