"""core.parsing: the CCKS2023 triple parser reads stray model output without guessing, and never evals it."""

import pytest

from core.parsing.ccks import (
    R_COMMA,
    R_DUPLICATE,
    R_FULL_WIDTH,
    R_LEAD_IN,
    R_NESTED,
    R_PLACEHOLDER,
    R_QUOTES,
    R_TRAILING,
    R_UNCLOSED,
    R_WHITESPACE,
    format_triples,
    parse_triples,
)
from core.parsing.ccks_instruction import relations_from_instruction
from core.records import Triple


def keys(result):
    return [t.key() for t in result.triples]


# (answer, expected triples, status, repairs, failed)
TABLE = [
    pytest.param(
        "(弗雷泽,获奖,铜牌)(弗雷泽,国家,澳大利亚)",
        [("弗雷泽", "获奖", "铜牌"), ("弗雷泽", "国家", "澳大利亚")], "ok", [], [],
        id="canonical",
    ),
    pytest.param(
        "（弗雷泽，获奖，铜牌）", [("弗雷泽", "获奖", "铜牌")], "repaired", [R_FULL_WIDTH], [], id="full-width",
    ),
    pytest.param(
        "(弗雷泽，获奖,铜牌)", [("弗雷泽", "获奖", "铜牌")], "repaired", [R_FULL_WIDTH], [], id="mixed-commas",
    ),
    pytest.param(
        "(北京大学(PKU),位于,北京)", [("北京大学(PKU)", "位于", "北京")], "ok", [], [], id="brackets-in-name",
    ),
    pytest.param(
        "(北京大学（北大）,位于,北京)", [("北京大学（北大）", "位于", "北京")], "ok", [], [],
        id="full-width-brackets-in-name-kept-verbatim",
    ),
    pytest.param(
        "(a,b,c)(北京大学(PKU),位于,北京", [("a", "b", "c"), ("北京大学(PKU)", "位于", "北京")], "repaired",
        [R_UNCLOSED], [], id="truncated-missing-closing-bracket",
    ),
    pytest.param(
        "(a,b,c)(d,e,", [("a", "b", "c")], "invalid", [], ["(d,e,"], id="truncated-mid-triple-fails-that-triple",
    ),
    pytest.param(
        "  ( 弗雷泽 ,  获奖 , 铜牌 )\n\n (弗雷泽,国家,澳大利亚)  ",
        [("弗雷泽", "获奖", "铜牌"), ("弗雷泽", "国家", "澳大利亚")], "repaired", [R_WHITESPACE], [],
        id="extra-whitespace",
    ),
    pytest.param(
        "(a,b,c)(d,e,f)(a,b,c)( a,b,c )", [("a", "b", "c"), ("d", "e", "f")], "repaired",
        [R_DUPLICATE, R_WHITESPACE], [], id="duplicates",
    ),
    pytest.param(
        "输入中包含的关系三元组是：(弗雷泽,获奖,铜牌)", [("弗雷泽", "获奖", "铜牌")], "repaired", [R_LEAD_IN], [],
        id="lead-in",
    ),
    pytest.param(
        "The triples are: (a,b,c), (d,e,f). Hope this helps!", [("a", "b", "c"), ("d", "e", "f")], "repaired",
        [R_LEAD_IN, R_TRAILING], [], id="text-before-and-after",
    ),
    pytest.param("", [], "ok", [], [], id="empty"),
    pytest.param("   \n", [], "ok", [], [], id="blank"),
    pytest.param("NAN", [], "ok", [], [], id="NAN-means-no-triple"),
    pytest.param(
        "(a,b,c)\nNAN\nNAN\n(d,e,f)", [("a", "b", "c"), ("d", "e", "f")], "ok", [], [], id="one-per-line-with-NAN",
    ),
    pytest.param("没有找到三元组", [], "unparsable", [], ["没有找到三元组"], id="text-without-triples"),
    pytest.param("(a,b)", [], "unparsable", [], ["(a,b)"], id="two-elements"),
    pytest.param("(a,,c)", [], "unparsable", [], ["(a,,c)"], id="empty-element"),
    pytest.param(
        "(头实体,关系,尾实体)(a,b,c)", [("a", "b", "c")], "repaired", [R_PLACEHOLDER], [], id="echoed-placeholder",
    ),
    pytest.param("('a', 'b', 'c')", [("a", "b", "c")], "repaired", [R_QUOTES, R_WHITESPACE], [], id="quotes"),
    pytest.param(
        "(a,b,c(d,e,f)(g,h,i)", [("a", "b", "c"), ("d", "e", "f"), ("g", "h", "i")], "repaired",
        [R_UNCLOSED, R_NESTED], [], id="missing-bracket-mid-answer",
    ),
    pytest.param(
        "(北京大学(PKU,位于,北京)", [], "unparsable", [], ["(北京大学(PKU,位于,北京)"], id="unreadable-brackets-fail",
    ),
    pytest.param(
        "(Smith, Jr.,born in,USA)", [], "unparsable", [], ["(Smith, Jr.,born in,USA)"],
        id="comma-in-name-without-hints-fails",
    ),
]


@pytest.mark.parametrize(("text", "triples", "status", "repairs", "failed"), TABLE)
def test_parser_table(text, triples, status, repairs, failed):
    result = parse_triples(text)
    assert keys(result) == triples
    assert result.status == status
    assert sorted(result.repairs) == sorted(repairs)
    assert result.failed == failed


def test_comma_in_name_resolved_with_input_and_relations():
    result = parse_triples(
        "(Smith, Jr.,born in,USA)", input_text="Smith, Jr. was born in USA.", relations=["born in", "work for"]
    )
    assert keys(result) == [("Smith, Jr.", "born in", "USA")]
    assert (result.status, result.repairs) == ("repaired", [R_COMMA])


def test_comma_in_name_resolved_by_relations_alone():
    result = parse_triples("(Smith, Jr.,born in,USA)", relations=["born in"])
    assert keys(result) == [("Smith, Jr.", "born in", "USA")]


def test_comma_in_name_with_two_readings_fails_instead_of_guessing():
    # with the input alone, (Smith | Jr.,born in | USA) and (Smith, Jr. | born in | USA) both fit
    result = parse_triples("(Smith, Jr.,born in,USA)", input_text="Smith, Jr. was born in USA.")
    assert result.triples == []
    assert result.status == "unparsable"
    assert result.failed == ["(Smith, Jr.,born in,USA)"]


def test_comma_in_name_with_an_unlisted_relation_fails():
    result = parse_triples("(Smith, Jr.,lives in,USA)", relations=["born in"])
    assert result.triples == [] and result.status == "unparsable"


def test_failed_triple_does_not_hide_the_others():
    result = parse_triples("(a,b,c)(Smith, Jr.,born in,USA)(d,e,f)")
    assert keys(result) == [("a", "b", "c"), ("d", "e", "f")]
    assert result.failed == ["(Smith, Jr.,born in,USA)"]
    assert result.status == "invalid"


def test_dedupe_off_keeps_repeats_for_multiset_scoring():
    result = parse_triples("(a,b,c)(a,b,c)", dedupe=False)
    assert keys(result) == [("a", "b", "c"), ("a", "b", "c")]
    assert result.status == "ok"


def test_model_text_is_never_evaluated(tmp_path):
    marker = tmp_path / "pwned"
    text = f"(__import__('pathlib').Path({str(marker)!r}).touch(),r,t)"
    parse_triples(text)
    relations_from_instruction(f"relations: [__import__('pathlib').Path({str(marker)!r}).touch()]")
    assert not marker.exists()


@pytest.mark.parametrize(
    "triples",
    [
        [Triple("弗雷泽", "获奖", "铜牌"), Triple("弗雷泽", "国家", "澳大利亚")],
        [Triple("北京大学(PKU)", "位于", "北京"), Triple("Wewak Airport", "located in", "Papua New Guinea")],
        [],
    ],
)
def test_format_then_parse_round_trips(triples):
    text = format_triples(triples)
    result = parse_triples(text)
    assert result.triples == triples
    assert result.status == "ok"


def test_format_is_the_seed_format():
    assert format_triples([Triple(" 甲 ", "属于", "乙"), ["甲", "国家", "丙"]]) == "(甲,属于,乙)(甲,国家,丙)"


def test_relations_from_instruction_picks_the_relation_set_not_the_entity_types():
    instruction = (
        "使用自然语言抽取三元组,已知下列句子,请从句子中抽取出可能的实体、关系,抽取实体类型为{'专业','时间','人类'},"
        "关系类型为{'体育运动','包含行政领土','获奖'},你可以先识别出实体再判断实体之间的关系,以(头实体,关系,尾实体)的形式回答"
    )
    assert relations_from_instruction(instruction) == ["体育运动", "包含行政领土", "获奖"]


@pytest.mark.parametrize(
    ("instruction", "relations"),
    [
        (
            "已知候选的关系列表：['创办者', '位于']，请你根据关系列表，从以下输入中抽取出可能存在的头实体与尾实体，"
            "并给出对应的关系三元组。请按照 (头实体,关系,尾实体) 的格式回答。",
            ["创办者", "位于"],
        ),
        (
            "Given the candidate relation list: ['achievement', 'alternative name', 'located in'], please extract "
            "the possible head and tail entities. Please answer in the format of (Subject,Relation,Object)\n.",
            ["achievement", "alternative name", "located in"],
        ),
        ("关系列表：[创办者，位于]，请抽取", ["创办者", "位于"]),
        ("请抽取三元组", []),
        (None, []),
    ],
)
def test_relations_from_instruction(instruction, relations):
    assert relations_from_instruction(instruction) == relations


def test_ccks_result_is_the_one_parse_envelope():
    from core.records import Parsed

    result = parse_triples("(a,b,c)(Smith, Jr.,born in,USA)")
    assert isinstance(result, Parsed) and result.pred == result.triples
    assert result.bad == {"triple": 1} and any("could not read" in issue for issue in result.issues)
