"""core.extract.resolve, rule by rule: what merges, what must not, and the decisions file format."""

import pytest

from core.extract.resolve import Mention as M
from core.extract.resolve import resolve
from core.extract.resolve_decisions import parse_decisions
from core.extract.resolve_rules import acronym_of, singular, stated_aliases, strip_titles, type_class
from core.io import DataError
from core.kg import normalize_name


def groups(res):
    """The resolution as a set of frozensets of (name, type) per node, for order-free comparison."""
    out = {}
    for i, c in enumerate(res.cluster_of):
        out.setdefault(c, set()).add(res.mentions_key[i])
    return {frozenset(g) for g in out.values()}


def run(mentions, **kw):
    res = resolve(mentions, **kw)
    res.mentions_key = [(m.name, m.type) for m in mentions]
    return res


def together(res, i, j):
    return res.cluster_of[i] == res.cluster_of[j]


@pytest.mark.parametrize(
    ("a", "b", "rule"),
    [
        (M("Ada Lovelace", "PER", "d1"), M("Ａｄａ　 Lovelace", "PER", "d2"), "exact"),  # width + whitespace folded
        (M("Paris", "LOC", "d1"), M("PARIS", "LOC", "d2"), "case"),
        (M("Dr. Ada Lovelace", "PER", "d1"), M("Ada Lovelace", "PER", "d2"), "title"),
        (M("Prof. Alan Turing, PhD", "PER", "d1"), M("alan turing", "PER", "d2"), "title"),
        (M("王芳女士", "PER", "d1"), M("王芳", "PER", "d2"), "title"),
        (M("NASA", "ORG", "d1"), M("National Aeronautics and Space Administration", "ORG", "d2"), "acronym"),
        (M("I.B.M.", "ORG", "d1"), M("International Business Machines", "ORG", "d2"), "acronym"),
        (M("companies", "CONCEPT", "d1"), M("company", "CONCEPT", "d2"), "plural"),
        (M("Lovelace", "PER", "d1"), M("Ada Lovelace", "PER", "d1"), "contained"),
        (M("清华", "ORG", "d1"), M("清华大学", "ORG", "d1"), "contained"),
        (M("Ada Lovelace", "PER", "d1"), M("Ada Lovelase", "PER", "d2"), "fuzzy"),
        (M("Ada Lovelace", "PER", "d1"), M("Ada Lovelace", None, "d2"), "exact"),  # untyped joins the one class
        (M("Ada Lovelace", "person", "d1"), M("Ada Lovelace", "PER", "d2"), "exact"),  # same type class
    ],
)
def test_each_rule_merges_its_example_and_logs_the_rule(a, b, rule):
    res = run([a, b])
    assert together(res, 0, 1)
    merges = [m for line in res.log if line["kind"] == "merge" for m in line["merges"]]
    same_form = normalize_name(a.name) == normalize_name(b.name) and a.type == b.type  # one form: nothing to log
    assert [m["rule"] for m in merges] == ([] if same_form else [rule])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (M("Apple", "ORG", "d1"), M("Apple", "FRUIT", "d2")),  # homonyms
        (M("Lovelace", None, "d1"), M("Ada Lovelace", None, "d1")),  # contained is weak: needs types
        (M("NASA", None, "d1"), M("National Aeronautics and Space Administration", None, "d2")),  # acronym: weak
        (M("Lovelace", "PER", "d1"), M("Ada Lovelace", "PER", "d2")),  # contained only within one document
        (M("Lovelace", "PER", "d1"), M("Lovelace Hall", "LOC", "d1")),  # contained needs one class
        (M("Windows 7", "PRODUCT", "d1"), M("Windows 8", "PRODUCT", "d2")),  # fuzzy: digits must agree
        (M("Marie Curie", "PER", "d1"), M("Pierre Curie", "PER", "d2")),  # fuzzy: ratio 69.6 < 90
        (M("Jon Smith", "PER", "d1"), M("Jan Smith", "PER", "d2")),  # fuzzy: ratio 88.9 < 90
        (M("Jon", "PER", "d1"), M("Jan", "PER", "d2")),  # fuzzy: shorter than 5 characters
        (M("北京大学", "ORG", "d1"), M("南京大学", "ORG", "d2")),
        (M("Ada", None, "d1"), M("Ada (born 1815)", None, "d1")),
    ],
)
def test_what_must_stay_apart(a, b):
    assert not together(run([a, b]), 0, 1)


def test_an_untyped_mention_of_a_homonym_joins_only_the_type_its_own_document_gives():
    ms = [M("Apple", "ORG", "d1"), M("Apple", "FRUIT", "d2"), M("Apple", None, "d1"), M("Apple", None, "d3")]
    res = run(ms)
    assert together(res, 0, 2) and not together(res, 1, 2)
    assert not together(res, 3, 0) and not together(res, 3, 1)  # d3 says nothing: it stays apart, never guessed
    assert res.stats["ambiguous"] == 1 and len(res.clusters) == 3


def test_an_acronym_of_two_different_long_names_is_ambiguous_unless_one_shares_its_document():
    ms = [M("IBM", "ORG", "d1"), M("International Business Machines", "ORG", "d2"), M("Indian Bureau of Mines", "ORG", "d3")]
    res = run(ms)
    assert len(res.clusters) == 3 and res.stats["ambiguous"] == 1
    res = run([*ms, M("Indian Bureau of Mines", "ORG", "d1")])
    assert together(res, 0, 2) and not together(res, 0, 1)


def test_a_name_contained_in_two_longer_names_of_its_document_is_not_guessed():
    res = run([M("Smith", "PER", "d1"), M("John Smith", "PER", "d1"), M("Mary Smith", "PER", "d1")])
    assert len(res.clusters) == 3


def test_stated_aliases_in_chinese_and_english_and_their_limits():
    assert stated_aliases("北京大学", "北京大学(简称北大)位于北京。") == [("北京大学", "北大", "简称")]
    assert stated_aliases("北京大学", "北京大学(北大)") == [("北京大学", "北大", "(short form)")]
    assert stated_aliases("北京大学", "北京大学,以下简称“北大”。") == [("北京大学", "北大", "以下简称")]
    assert stated_aliases("IBM", "IBM (short for International Business Machines) sells") == [
        ("International Business Machines", "IBM", "short for")]  # fmt: skip
    assert stated_aliases("Acme Corp", 'Acme Corp (hereinafter "Acme") agrees') == [("Acme Corp", "Acme", "hereinafter")]
    assert stated_aliases("Acme Corp", "Acme Corp (Delaware) agrees") == []  # not an acronym, no marker
    assert stated_aliases("Paris", "Paris, or London, is") == []


def test_a_stated_alias_reaches_other_documents_and_a_name_no_mention_carries_becomes_an_alias():
    text = "北京大学（简称北大）和中国人民大学（简称人大）"
    ms = [M("北京大学", "ORG", "d1", {"text": text}), M("中国人民大学", "ORG", "d1", {"text": text}),
          M("北大", "ORG", "d2", {"text": "北大很大"})]  # fmt: skip
    res = run(ms)
    assert together(res, 0, 2) and not together(res, 0, 1)
    assert [c.aliases for c in res.clusters] == [["北大"], ["人大"]]  # 人大 is stated, never mentioned


def test_keep_apart_blocks_chains_and_merge_overrides_types():
    ms = [M("Dr. Ada Lovelace", "PER", "d1"), M("Ada Lovelace", "PER", "d2"), M("ADA LOVELACE", "PER", "d3")]
    dec = parse_decisions('keep apart "Dr. Ada Lovelace" "ADA LOVELACE"')
    res = run(ms, decisions=dec)
    assert len(res.clusters) == 2 and not together(res, 0, 2)
    assert res.stats["refused"] >= 1
    res = run([M("Apple", "ORG"), M("Apple", "FRUIT")], decisions=parse_decisions("merge Apple@ORG Apple@FRUIT"))
    assert len(res.clusters) == 1 and res.clusters[0].types == ["ORG", "FRUIT"]


def test_canonical_name_prefers_the_full_untitled_singular_form_and_rename_wins():
    res = run([M("IBM", "ORG", "d1"), M("IBM", "ORG", "d2"), M("International Business Machines", "ORG", "d3")])
    assert res.canonical_of == ["International Business Machines"] * 3  # the acronym is the short side
    res = run([M("Dr. Ada Lovelace", "PER"), M("Ada Lovelace", "PER")])
    assert res.clusters[0].name == "Ada Lovelace" and res.clusters[0].aliases == ["Dr. Ada Lovelace"]
    res = run([M("IBM", "ORG")], decisions=parse_decisions('rename IBM -> "Big Blue"'))
    assert res.clusters[0].name == "Big Blue" and res.clusters[0].aliases == ["IBM"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("merge A", "2: merge needs two or more names"),
        ('merge "A B', "2: cannot read a name"),
        ("rename A B", "2: rename needs `rename NAME -> NEW NAME`"),
        ("split A B", "2: unknown decision 'split'"),
        ("keep apart A B\nmerge A B", "2: keep apart \"A\" \"B\" contradicts merge at d.txt:3"),
    ],
)
def test_decisions_file_errors_name_file_and_line(text, message):
    with pytest.raises(DataError) as err:
        parse_decisions("# header\n" + text, "d.txt")
    assert str(err.value).startswith("d.txt:") and message in str(err.value)


def test_decisions_names_may_be_quoted_typed_and_escaped():
    dec = parse_decisions('merge "Dr. \\"A\\" Lovelace"@"PER" Ada@person\nkeep apart 北大 "北大"@ORG\nrename x -> "y z"')
    assert [(r.name, r.type) for r in dec.merges[0][1]] == [('Dr. "A" Lovelace', "PER"), ("Ada", "person")]
    assert [(r.name, r.type) for r in dec.apart[0][1]] == [("北大", None), ("北大", "ORG")]
    assert dec.renames[0][1:] == (dec.renames[0][1], "y z") and dec.renames[0][0] == "<decisions>:3"


def test_name_helpers():
    assert strip_titles("sir") == "sir" and strip_titles("lord byron") == "byron" and strip_titles("王教授") == "王教授"
    assert singular("analyses") == "analyse" and singular("status") == "status" and singular("boxes") == "box"
    assert singular("cat") is None and singular("北京") is None
    assert acronym_of("Hewlett-Packard") == "HP" and acronym_of("London") is None and acronym_of("北京大学") is None
    assert type_class("PERSON") == type_class("人物") == "person" and type_class("MISC") is None


def test_blocking_compares_a_small_share_of_all_pairs():
    ms = [M(f"Entity number {i}", "ORG", f"d{i % 50}") for i in range(2000)]
    res = resolve(ms)
    assert len(res.clusters) == 2000  # digits differ: nothing merges
    assert res.stats["all_pairs"] == 2000 * 1999 // 2
    assert 0 < res.stats["pairs_compared"] < 0.01 * res.stats["all_pairs"]


def test_a_short_form_resolved_in_two_documents_never_joins_their_two_entities():
    ms = [M("Marie Curie", "PER", "d1"), M("Curie", "PER", "d1"), M("Pierre Curie", "PER", "d2"), M("Curie", "PER", "d2"),
          M("Curie", "PER", "d3")]  # fmt: skip
    res = run(ms)
    assert together(res, 0, 1) and together(res, 2, 3) and not together(res, 0, 2)
    assert not together(res, 4, 0) and not together(res, 4, 2)  # d3's Curie could be either: left alone
    assert 4 in {m for c in res.clusters for m in c.mentions if len(c.mentions) == 1}
    res = run(ms[:2] + ms[4:])  # only Marie's document resolves Curie: d3's Curie joins her
    assert together(res, 0, 2)
