"""Defect 1 of issue 12: a TACRED record's names in the graph read as the prompt showed them (PTB brackets converted)."""

import json

from core.kg import build_graph
from core.kg.readers import read_record
from core.records import RESample
from core.tasks import tacred

RECORD = {"id": "t1", "token": ["Polar", "Energy", "-LRB-", "PE", "-RRB-", "is", "based", "in", "Finland", "."],
          "subj_start": 0, "subj_end": 4, "obj_start": 8, "obj_end": 8, "subj_type": "ORGANIZATION",
          "obj_type": "COUNTRY", "relation": "org:country_of_headquarters", "pr": "org:country_of_headquarters"}


def test_the_prompt_and_the_graph_show_the_same_converted_name(tmp_path):
    sample = RESample.from_dict(RECORD)
    labels = tacred.LabelSet(["org:country_of_headquarters", "no_relation"])
    query = tacred.build_prompt("text", labels, [], sample).splitlines()[-1]
    assert query == ("Context: Polar Energy ( PE ) is based in Finland . The relation between 'Polar Energy ( PE )' "
                     "and 'Finland' in the context is")

    path = tmp_path / "os.json"
    path.write_text(json.dumps(RECORD) + "\n", encoding="utf-8")  # gpt3ICL.py's os.json line
    graph = build_graph([path], progress=False)
    assert sorted(n.name for n in graph.nodes) == ["Finland", "Polar Energy ( PE )"]
    (edge,) = graph.edges
    assert (graph.nodes[edge.head].name, edge.relation, graph.nodes[edge.tail].name) == (
        "Polar Energy ( PE )", "org:country_of_headquarters", "Finland")
    assert edge.provenance[0]["text"] == "Polar Energy ( PE ) is based in Finland ."


def test_reader_converts_every_ptb_bracket_in_names_and_sentence():
    rec = {**RECORD, "token": ["-LSB-", "Acme", "-RSB-", "and", "-lcb-", "Bo", "-RCB-"], "subj_start": 0,
           "subj_end": 2, "obj_start": 4, "obj_end": 6}
    shape, read = read_record(rec)
    assert shape == "tacred" and read.text == "[ Acme ] and { Bo }"
    assert [(m.head, m.tail) for m in read.mentions] == [("[ Acme ]", "{ Bo }")]
