from collections import Counter, defaultdict
from pathlib import Path

import pytest

from core.errors import UserError
from core.prompts import stop_sequences
from core.records import INVALID, OK, REPAIRED, UNPARSABLE
from core.tasks import get_task, tacred, tacred_data

DATA = Path(__file__).resolve().parents[1] / "data"
VARIANTS = ("text", "text_schema", "instruct", "instruct_schema")


@pytest.fixture(scope="module")
def setup():
    train = tacred_data.load_samples(DATA / "train.json")
    test = tacred_data.load_samples(DATA / "test.json")
    pool = defaultdict(list)
    for s in train:
        pool[s.relation].append(s)
    labels = tacred.LabelSet(list(pool))
    return dict(pool), test, labels


def make_prompt(setup, variant, k, seed=42, index=0):
    pool, test, labels = setup
    sample = test[index]
    demos = tacred.choose_demos(pool, labels.relations, k, tacred.item_rng(seed, sample.id))
    return tacred.build_prompt(variant, labels, demos, sample)


def demo_counts(prompt, labels):
    """Label word each demo line ends with -> number of demo lines."""
    lines = prompt.splitlines()[1:-1]
    by_word = {f" is {labels.word(r)}.": r for r in labels.relations}
    counts = Counter()
    for line in lines:
        assert line.startswith("Context: ")
        counts[next(r for w, r in by_word.items() if line.endswith(w))] += 1
    return counts


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("k", [1, 2])
def test_prompt_has_exactly_k_demos_per_relation(setup, variant, k):
    prompt = make_prompt(setup, variant, k)
    assert demo_counts(prompt, setup[2]) == {r: k for r in setup[2].relations}


@pytest.mark.parametrize("variant", VARIANTS)
def test_k_larger_than_pool_uses_every_demo(setup, variant):
    prompt = make_prompt(setup, variant, k=50)
    assert demo_counts(prompt, setup[2]) == {r: len(setup[0][r]) for r in setup[2].relations}


@pytest.mark.parametrize("variant", VARIANTS)
def test_prompt_ends_with_the_open_test_question(setup, variant):
    prompt = make_prompt(setup, variant, k=1, index=6)
    last = prompt.splitlines()[-1]
    # test-07 has -LRB- / -RRB- tokens: the test sentence is PTB-converted like the demos
    assert last.startswith("Context: Polar Energy ( a power company ) is headquartered in Finland . The relation between ")
    assert last.endswith(" in the context is")
    if variant.endswith("_schema"):
        assert "between organization 'Polar Energy' and country 'Finland' in" in last
    else:
        assert "between 'Polar Energy' and 'Finland' in" in last


@pytest.mark.parametrize("variant", VARIANTS)
def test_schema_variants_show_entity_types_in_every_demo(setup, variant):
    prompt = make_prompt(setup, variant, k=1)
    demo_lines = prompt.splitlines()[1:-1]
    typed = [ln for ln in demo_lines if "between person '" in ln or "between organization '" in ln]
    assert len(typed) == (len(demo_lines) if variant.endswith("_schema") else 0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_header_lists_every_label_word(setup, variant):
    header = make_prompt(setup, variant, k=1).splitlines()[0]
    words = "organization:founded by, person:employee of, person:city of birth, organization:country of headquarters, " \
            "no relation."
    assert header.endswith("candidate relations: " + words)
    assert header.startswith("Given a context" if variant.startswith("instruct") else "There are candidate")


def test_same_seed_same_prompt_other_seed_other_demos(setup):
    a = [make_prompt(setup, "text", 1, seed=7, index=i) for i in range(3)]
    b = [make_prompt(setup, "text", 1, seed=7, index=i) for i in range(3)]
    c = [make_prompt(setup, "text", 1, seed=8, index=i) for i in range(3)]
    assert a == b
    assert a != c


def test_relation_without_demo_is_a_candidate_with_no_demo_line(setup):
    pool, test, _ = setup
    labels = tacred.LabelSet([*pool, "per:title"])
    demos = tacred.choose_demos(pool, labels.relations, 1, tacred.item_rng(1, "x"))
    prompt = tacred.build_prompt("text", labels, demos, test[0])
    assert "person:title" in prompt.splitlines()[0]
    assert demo_counts(prompt, labels) == {r: 1 for r in pool}


@pytest.mark.parametrize("relation, word", [
    ("per:stateorprovince_of_birth", "person:state or province of birth"),
    ("org:founded_by", "organization:founded by"),
    ("per:employee_of", "person:employee of"),
    ("org:political/religious_affiliation", "organization:political/religious affiliation"),
    ("no_relation", "no relation"),
    ("Cause-Effect(e1,e2)", "cause effect(e1,e2)"),
    ("property", "property"),  # the seed's blind replace made this "personoperty"
])
def test_label_words_as_the_seed_maps_them(relation, word):
    assert tacred.label_word(relation) == word


@pytest.mark.parametrize("entity_type, word", [("MISC", "miscellaneous"), ("STATE_OR_PROVINCE", "state or province"),
                                                ("PERSON", "person"), (None, None)])
def test_type_words(entity_type, word):
    assert tacred.type_word(entity_type) == word


LABELS = ["org:founded_by", "per:cities_of_residence", "per:countries_of_residence", "no_relation"]


@pytest.mark.parametrize("answer, relation", [
    ("organization:founded by.", "org:founded_by"),
    (" Organization: Founded By\nContext: more text", "org:founded_by"),
    ("org:founded_by", "org:founded_by"),
    ("'no relation'.", "no_relation"),
    ("no_relation. The head and tail are unrelated.", "no_relation"),
    ("person:city of residence", "per:cities_of_residence"),  # the seed's plural fallback
    ("person:country of residence.", "per:countries_of_residence"),
    ("founded by", None),  # no substring matching
    ("The relation is organization:founded by.", None),
    ("", None),
    ("relation", None),
])
def test_answers_map_back_by_exact_normalised_match(answer, relation):
    assert tacred.LabelSet(LABELS).parse(answer) == relation


def test_two_relations_with_one_label_word_are_refused():
    with pytest.raises(UserError, match="same label word"):
        tacred.LabelSet(["per:title", "person:title"])


def test_unknown_prompt_name_lists_the_known_ones():
    with pytest.raises(UserError, match=r"no task prompt named 'tacred.txt'; there are: .*tacred.instruct.v1"):
        tacred.template("txt")


def test_template_with_unknown_field_is_refused():
    with pytest.raises(UserError, match=r"prompt tacred.text: unknown field \$context; known: label, labels"):
        tacred.template("text", fields=frozenset({"labels", "label"}))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_declares_the_next_demo_as_its_stop_and_says_whether_it_shows_types(variant):
    assert stop_sequences(f"tacred.{variant}") == ["\nContext:"]
    assert tacred.uses_types(variant) == variant.endswith("_schema")


@pytest.mark.parametrize("answer, relation, status", [
    ("organization:founded by.", "org:founded_by", OK),
    ("no_relation. The head and tail are unrelated.", "no_relation", REPAIRED),
    ("person:city of residence", "per:cities_of_residence", REPAIRED),  # the plural fallback
    ("person:title", None, INVALID),  # a label's shape, but not a known label (defect 6): invalid, never repaired
    ("I think it is the birthplace", None, UNPARSABLE),
    ("", None, UNPARSABLE),
])
def test_answer_status_and_an_unknown_label_is_invalid(answer, relation, status):
    parsed = get_task("tacred").parse(answer, {}, LABELS)
    assert (parsed.pred, parsed.status) == (relation, status)
    assert parsed.bad == ({} if relation else {"relation": 1})
