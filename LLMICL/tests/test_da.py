"""Data augmentation keeps exactly the valid, new samples, says why each other one was dropped, and feeds back in."""

from __future__ import annotations

import json

from core.testing.fake_openai import FakeOpenAI


def sample(text, head, tail, head_type="ORGANIZATION", tail_type="PERSON", relation="org:founded_by", **drop):
    rec = {"text": text, "head_entity": head, "head_type": head_type, "tail_entity": tail, "tail_type": tail_type,
           "relation": relation}
    return {k: v for k, v in rec.items() if k not in drop}


KEPT_1 = sample("Kofi Mensah founded Baobab Foods in Accra.", "Baobab Foods", "Kofi Mensah")
KEPT_2 = sample("Lena Park set up Cedar Health in 2019.", "Cedar Health", "Lena Park")
GENERATED = [
    KEPT_1,
    sample("Maria Lopez founded Northwind Labs in 2015.", "Northwind Labs", "Maria Lopez"),  # a demo's text
    sample("Ruth Adler runs a small shop.", "Adler Foods", "Ruth Adler"),  # head not in text
    sample("Omar Haddad founded Atlas Rail.", "Atlas Rail", "Omar Haddad", head_type="COMPANY"),  # type
    sample("kofi mensah  founded Baobab Foods in Accra.", "Baobab Foods", "kofi mensah"),  # same text again
    sample("Tom Okafor was born in Lagos City.", "Tom Okafor", "Lagos City", "PERSON", "CITY",
           "per:city_of_birth"),  # not the relation asked for
    KEPT_2,
    sample("Ivo Petrov founded Lumen Books.", "Lumen Books", "Ivo Petrov"),  # valid, but number=2 reached
    "Acme was founded by Jane.",
    sample("Zoe Kim started Pine Labs.", "Pine Labs", "Zoe Kim", tail_type=None),
]


def test_da_keeps_exactly_the_valid_new_samples_and_counts_each_reason(run_script, h, env, monkeypatch):
    monkeypatch.chdir(h.ROOT)
    answers = {"org:founded_by": "Here you go:\n" + json.dumps(GENERATED), "per:city_of_birth": "no idea"}
    out = env / "out" / "da_en.json"
    with FakeOpenAI(h.by_query(answers)) as fake:
        metrics = run_script.main(["task=da", "language=en", "number=2", "k=2", f"base_url={fake.base_url}",
                                   "model=fake", f"output_file={out}"])
        assert fake.count == 2
        assert all(body.get("temperature") == 1.0 for body in fake.requests)
    kept = json.loads(out.read_text(encoding="utf-8"))
    assert kept == [KEPT_1, KEPT_2]
    assert metrics["kept"] == 2 and metrics["generated"] == 10 and metrics["asked"] == 4
    assert metrics["relations"]["org:founded_by"]["dropped"] == {
        "duplicate of a demo": 1, "head not in text": 1, "head type not allowed": 1, "duplicate": 1,
        "other relation": 1, "more than asked": 1, "not an object": 1, "missing tail_type": 1}
    assert metrics["relations"]["per:city_of_birth"] == {"asked": 2, "generated": 0, "kept": 0,
                                                         "dropped": {"unreadable answer": 1}}
    assert json.loads(out.with_name("da_en.metrics.json").read_text()) == metrics
    h.assert_secret_nowhere(env)


def test_da_output_feeds_back_as_a_few_shot_file(run_script, m, h, env, monkeypatch):
    monkeypatch.chdir(h.ROOT)
    out = env / "fed" / "re_en.json"
    with FakeOpenAI(lambda body: json.dumps([KEPT_1, KEPT_2])) as fake:
        run_script.main(["task=da", "language=en", "text_input=org:founded_by", "number=5",
                         f"base_url={fake.base_url}", "model=fake", f"output_file={out}"])
        assert fake.count == 1
    [(_, prompt)] = m.runner.prompts(m.config.load_settings([
        "task=re", "language=en", "zero_shot=False", f"data_path={out.parent}", "text_input=Ann founded Acme.",
        "head_entity=Acme", "tail_entity=Ann"]))
    assert KEPT_1["text"] in prompt and KEPT_2["text"] in prompt and prompt.count('{"relation": "org:founded_by"}') == 2
    da_copy = out.with_name("da_en.json")
    da_copy.write_text(out.read_text(encoding="utf-8"), encoding="utf-8")
    [(rel, _)] = m.runner.prompts(m.config.load_settings(["task=da", "language=en", f"data_path={out.parent}"]))
    assert rel == "org:founded_by"


def test_select_dedupes_across_relations_and_respects_given_labels(m):
    parsed = {"r1": m.answers.Parsed([sample("A met B.", "A", "B", "X", "Y", "r1")]),
              "r2": m.answers.Parsed([sample("a  met b.", "a", "b", "X", "Y", "r2"),
                                      sample("C met D.", "C", "D", "X", "Z", "r2")])}
    kept, report = m.da.select(parsed, demos=[], types={"X", "Y"}, number=5)
    assert kept == [sample("A met B.", "A", "B", "X", "Y", "r1")]
    assert report["r2"]["dropped"] == {"duplicate": 1, "tail type not allowed": 1}
