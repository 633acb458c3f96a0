"""core.kg HTML view in headless Chromium: right number of nodes drawn, names intact, a click shows the provenance.

The page runs its own self-check when opened with `#selftest`: it lays the graph out, draws it, dispatches real
pointer events on the canvas at a node's position and writes what it saw as JSON into <pre id="selftest">, which
`chromium --dump-dom` prints. Skipped only where Debian's `chromium` is not installed (`.ci/run` installs it).
"""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from core.kg import build_graph, export

ROOT = Path(__file__).resolve().parents[1]
TRICKY = ROOT / "tests" / "data" / "kg" / "tricky.jsonl"
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).exists()), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--hide-scrollbars", "--window-size=1200,800"]  # fmt: skip


def fixture_records():
    return [json.loads(line) for line in TRICKY.read_text(encoding="utf-8").splitlines()]


def chromium(tmp_path, page, hash_, *extra):
    url = page.resolve().as_uri() + hash_
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def selftest(tmp_path, page, click=None):
    hash_ = "#selftest" + (f"&click={quote(click, safe='')}" if click is not None else "")
    res = chromium(tmp_path, page, hash_, "--dump-dom")
    m = re.search(r'<pre id="selftest"[^>]*>(.*?)</pre>', res.stdout, re.S)
    assert m, f"no self-test output; chromium said: {res.stderr[-2000:]}"
    result = json.loads(html.unescape(m.group(1)))
    assert result["ok"], result.get("error")
    return result


@pytest.fixture(scope="module")
def graph():
    return build_graph([TRICKY], normalize=False, run="run-1", progress=False)


@needs_chromium
def test_page_draws_every_node_and_a_click_shows_the_provenance_sentence(graph, tmp_path):
    page = export(graph, "html", tmp_path / "graph.html", title="Tricky <graph> & co")
    target = 'Say "hi"'
    result = selftest(tmp_path, page, click=target)
    names = {t[k] for rec in fixture_records() for t in rec["triples"] for k in ("head", "tail")}
    assert result["drawn_nodes"] == 15 == len(names) and result["drawn_edges"] == 8
    assert set(result["names"]) == names  # quotes, newlines, CR, emoji, </script> ... all intact in the page
    assert result["cap_text"] == ""
    assert result["clicked"] == result["selected"] == target
    said = [rec["text"] for rec in fixture_records() if rec["triples"][0]["head"] == target]
    assert said == ['He said "hi",\nthen left <quickly>.', "A second sentence for the same fact."]
    assert result["sentences"] == said
    assert "founded, \"by\"" in result["panel_text"] and "O'Brien & <Sons>" in result["panel_text"]
    assert "run run-1" in result["panel_text"]


@needs_chromium
def test_clicking_a_node_whose_name_holds_markup_and_emoji(graph, tmp_path):
    page = export(graph, "html", tmp_path / "graph.html")
    result = selftest(tmp_path, page, click="🚀 Rocket 👩‍🚀")
    assert result["selected"] == "🚀 Rocket 👩‍🚀"
    assert result["sentences"] == ["🚀 Rocket 👩‍🚀 met line one\nline two"]


@needs_chromium
def test_a_capped_page_draws_only_the_top_nodes_and_says_so(graph, tmp_path):
    page = export(graph, "html", tmp_path / "capped.html", max_nodes=3)
    result = selftest(tmp_path, page)
    assert result["drawn_nodes"] == 3 and result["shown_nodes"] == 3 and result["total_nodes"] == 15
    assert result["cap_text"].startswith("Showing 3 of 15 nodes")
    deg = graph.degrees()
    top = sorted(range(len(graph.nodes)), key=lambda i: (-deg[i], i))[:3]
    assert result["names"] == [graph.nodes[i].name for i in top]


@needs_chromium
def test_screenshot_is_saved(graph, tmp_path):
    page = export(graph, "html", tmp_path / "graph.html")
    shot = tmp_path / "graph.png"
    res = chromium(tmp_path, page, "#selftest&click=" + quote('Say "hi"', safe=""), f"--screenshot={shot}")
    assert shot.exists(), res.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 800)


def test_page_is_self_contained_and_names_cannot_break_out_of_the_data_block(graph, tmp_path):
    text = export(graph, "html", tmp_path / "graph.html", title="<b>t</b>").read_text(encoding="utf-8")
    assert not re.search(r"<[a-z]+[^>]*\s(src|href)\s*=", text), "no external resources"
    for fetcher in ("url(", "@import", "fetch(", "XMLHttpRequest", "WebSocket", "http://", "https://"):
        assert fetcher not in text
    assert "default-src 'none'" in text  # the Content-Security-Policy forbids any network request
    data = re.search(r'<script type="application/json" id="kg-data">(.*?)</script>', text, re.S).group(1)
    assert "<" not in data and ">" not in data and "&" not in data
    assert {n["name"] for n in json.loads(data)["nodes"]} == {n.name for n in graph.nodes}
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in text
    assert text.count("</script>") == 2


@needs_chromium
def test_a_big_graph_draws_the_default_cap_of_2000_nodes(tmp_path):
    src = tmp_path / "big.jsonl"
    with open(src, "w", encoding="utf-8") as fh:  # a ring of 3,000 nodes plus chords: every node has degree >= 2
        for i in range(3000):
            kg = [[f"node {i}", f"rel{i % 7}", f"node {(i + 1) % 3000}"], [f"node {i}", "chord", f"node {(i * 7) % 3000}"]]
            fh.write(json.dumps({"id": i, "text": f"sentence {i}", "kg": kg}) + "\n")
    graph = build_graph(src, progress=False)
    assert len(graph.nodes) == 3000
    page = export(graph, "html", tmp_path / "big.html")
    result = selftest(tmp_path, page, click="node 0")
    assert result["drawn_nodes"] == 2000 and result["total_nodes"] == 3000
    assert result["cap_text"].startswith("Showing 2000 of 3000 nodes")
    assert result["selected"] == "node 0" and "sentence 0" in result["sentences"]


RESOLVE = ROOT / "tests" / "data" / "resolve" / "records.jsonl"
CJK_FONTS = ('"Noto Sans CJK SC"', '"Source Han Sans SC"', '"PingFang SC"', '"Microsoft YaHei"', '"WenQuanYi Micro Hei"')


def has_cjk_font():
    fc = shutil.which("fc-list")
    return bool(fc and subprocess.run([fc, ":lang=zh", "family"], capture_output=True, text=True).stdout.strip())


def test_the_page_names_the_cjk_fonts_it_asks_for_in_its_one_font_stack(graph, tmp_path):
    text = export(graph, "html", tmp_path / "graph.html").read_text(encoding="utf-8")
    stack = re.search(r"html, body \{[^}]*font: 14px/1\.4 ([^;]+);", text).group(1)
    assert all(font in stack for font in CJK_FONTS) and stack.endswith("sans-serif")
    assert "px system-ui, sans-serif" not in text  # the canvas takes its font from the page, not a stack of its own


@needs_chromium
@pytest.mark.skipif(not has_cjk_font(), reason="no CJK font installed (apt-get install fonts-noto-cjk)")
def test_chinese_names_render_as_real_glyphs_and_the_check_sees_tofu(tmp_path):
    page = export(build_graph(RESOLVE, resolve=True, progress=False), "html", tmp_path / "g.html")
    tofu = "\ue000\ue001\ue002\ue003"  # private-use characters: no font has them, every one draws the same box
    hash_ = "#selftest&glyphs=" + quote(tofu, safe="")
    res = chromium(tmp_path, page, hash_, "--dump-dom")
    result = json.loads(html.unescape(re.search(r'<pre id="selftest"[^>]*>(.*?)</pre>', res.stdout, re.S).group(1)))
    assert result["glyphs"] == {"北京大学": 4, tofu: 1}
    assert all(font in result["font"] for font in CJK_FONTS)


@needs_chromium
def test_a_click_shows_the_node_aliases(tmp_path):
    page = export(build_graph(RESOLVE, resolve=True, progress=False), "html", tmp_path / "g.html")
    result = selftest(tmp_path, page, click="Ada Lovelace")
    assert result["selected"] == "Ada Lovelace"
    assert result["panel_text"].startswith("type: PERalso: Dr. Ada LovelaceAda Lovelase")
    assert selftest(tmp_path, page, click="北京大学")["panel_text"].startswith("type: ORGalso: 北大")


@needs_chromium
def test_edges_are_labelled_with_their_relation_where_space_allows(tmp_path):
    src = tmp_path / "r.jsonl"
    pairs = [("Alpha", "knows", "Beta"), ("Gamma", "位于", "Delta"), ("Eps", "owns", "Zeta")]
    src.write_text("".join(json.dumps({"id": i, "kg": [list(p)]}, ensure_ascii=False) + "\n" for i, p in enumerate(pairs)),
                   encoding="utf-8")  # fmt: skip
    result = selftest(tmp_path, export(build_graph(src, progress=False), "html", tmp_path / "small.html"))
    assert sorted(result["edge_labels"]) == sorted(r for _, r, _ in pairs)  # three short edges, room for each label
    big = tmp_path / "big.jsonl"
    with open(big, "w", encoding="utf-8") as fh:  # 600 nodes, 1,200 edges: not every edge has room
        for i in range(600):
            fh.write(json.dumps({"id": i, "kg": [[f"n{i}", f"rel{i % 5}", f"n{(i + 1) % 600}"],
                                                 [f"n{i}", "chord", f"n{(i * 7) % 600}"]]}) + "\n")  # fmt: skip
    result = selftest(tmp_path, export(build_graph(big, progress=False), "html", tmp_path / "big.html"))
    assert 0 < len(result["edge_labels"]) < result["drawn_edges"] == 1200


# The documents pipeline's evidence, by hand: the sentence's span in its document and the mentions' spans.
EN_DOC = "Ada Lovelace was born in London. Babbage's friend Lovelace met Babbage."
ZH_DOC = "前言。🚀鲁迅出生于绍兴。"  # an emoji (two UTF-16 units, one character) before the mentions
MENTIONS = [
    {"id": "en::0::0::1::0", "document": "en.txt", "chunk": 0, "head": "Ada Lovelace", "relation": "born in",
     "tail": "London", "head_span": [0, 12], "tail_span": [25, 31], "head_grounding": "exact",
     "tail_grounding": "exact", "sentence": "Ada Lovelace was born in London.", "sentence_span": [0, 32], "__line__": 1},
    {"id": "en::1::0::1::0", "document": "en.txt", "chunk": 1, "head": "Lovelace", "relation": "met",
     "tail": "Babbage", "head_span": [50, 58], "tail_span": [63, 70], "head_grounding": "exact",
     "tail_grounding": "exact", "sentence": "Babbage's friend Lovelace met Babbage.", "sentence_span": [33, 71],
     "__line__": 2},  # "Babbage" twice in the sentence: the tail is the second one
    {"id": "zh::0::0::1::0", "document": "zh.txt", "chunk": 0, "head": "鲁迅", "relation": "出生地", "tail": "绍兴市",
     "tail_text": "绍兴", "head_span": [4, 6], "tail_span": [9, 11], "head_grounding": "exact",
     "tail_grounding": "fuzzy", "sentence": "🚀鲁迅出生于绍兴。", "sentence_span": [3, 12], "__line__": 3},
]


@pytest.fixture(scope="module")
def evidence_page(tmp_path_factory):
    from core.extract.graph import build

    docs = {"en.txt": EN_DOC, "zh.txt": ZH_DOC}
    for m in MENTIONS:  # the hand-made offsets slice out what they claim
        text = docs[m["document"]]
        assert text[slice(*m["sentence_span"])] == m["sentence"]
        assert text[slice(*m["head_span"])] == m["head"] and text[slice(*m["tail_span"])] == m.get("tail_text", m["tail"])
    return export(build(MENTIONS, "mentions.jsonl", resolve=False), "html", tmp_path_factory.mktemp("ev") / "g.html")


@needs_chromium
@pytest.mark.parametrize("edge, sentence, marks, meta", [
    (("Lovelace", "met", "Babbage"), "Babbage's friend Lovelace met Babbage.",
     [["head", "Lovelace", 17], ["tail", "Babbage", 30]], "record en::1::0::1::0 · document en.txt · chunk 1"),
    (("鲁迅", "出生地", "绍兴"), "🚀鲁迅出生于绍兴。", [["head", "鲁迅", 1], ["tail", "绍兴", 6]],
     "grounding: head exact, tail fuzzy"),
], ids=["en", "zh"])
def test_clicking_an_edge_shows_its_sentence_with_the_head_and_tail_mentions_highlighted(
        evidence_page, tmp_path, edge, sentence, marks, meta):
    hash_ = "#selftest&edge=" + quote(json.dumps(edge, ensure_ascii=False), safe="")
    res = chromium(tmp_path, evidence_page, hash_, "--dump-dom")
    result = json.loads(html.unescape(re.search(r'<pre id="selftest"[^>]*>(.*?)</pre>', res.stdout, re.S).group(1)))
    assert result["ok"], result.get("error")
    assert result["clicked_edge"] == list(edge) and result["selected_edge"] >= 0
    assert result["selected"] == " → ".join(edge)
    assert result["sentences"] == [sentence] and result["marks"] == [marks]
    assert meta in result["panel_text"]


@needs_chromium
def test_a_node_click_highlights_the_mentions_too(evidence_page, tmp_path):
    result = selftest(tmp_path, evidence_page, click="London")
    assert result["selected"] == "London" and result["selected_edge"] == -1
    assert result["marks"] == [[["head", "Ada Lovelace", 0], ["tail", "London", 25]]]


def test_the_page_data_places_the_marks_in_code_points_and_drops_spans_that_do_not_fit(tmp_path):
    from core.extract.graph import build
    from core.kg.export_html import view_data

    bad = dict(MENTIONS[0], id="en::9", head_span=[0, 40], tail_span=[25, 31], __line__=4)  # head runs past it
    data = view_data(build([MENTIONS[2], bad], "m.jsonl", resolve=False))
    rows = {row[0]: row for row in data["sources"]}
    assert rows["zh::0::0::1::0"][6:] == ["zh.txt", 0, [[1, 3, "head"], [6, 8, "tail"]], ["exact", "fuzzy"]]
    assert rows["en::9"][8] == [[25, 31, "tail"]]
