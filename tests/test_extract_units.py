"""core.extract's parts alone: readers, sentence splitting and chunking, grounding, the kg task, the extractor hook."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from core.errors import UserError
from core.extract.chunking import TokenCounter, chunk_document, chunk_text, estimate_tokens, split_sentences
from core.extract.extractors import facts, get_extractor
from core.extract.grounding import ground_pair, locate
from core.extract.readers import read_inputs
from core.extract.run import language_of
from core.prompts import stop_sequences
from core.schema import Schema
from core.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF whose text layer says `text` (Helvetica, ASCII)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_every_input_format_is_read_with_ids_kept(tmp_path):
    (tmp_path / "a.txt").write_text("Plain text.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# Title\n\nMarkdown body.", encoding="utf-8")
    (tmp_path / "c.jsonl").write_text('{"id": "x7", "body": "First."}\n{"body": "Second."}\n', encoding="utf-8")
    (tmp_path / "d.html").write_text("<html><head><title>T</title><script>var s = 'hidden';</script></head><body>"
                                     "<h1>Head</h1><p>One <b>bold</b> line.</p><p>Two.</p></body></html>",
                                     encoding="utf-8")
    (tmp_path / "e.pdf").write_bytes(tiny_pdf("Ann Lee was born in Oslo."))
    docs, bad = read_inputs([tmp_path], text_field="body", quiet=True)
    assert bad == []
    assert {d.id: d.text for d in docs} == {
        "a.txt": "Plain text.", "c.jsonl#x7": "First.", "c.jsonl#2": "Second.",
        "d.html": "Head\n\nOne bold line.\n\nTwo.", "e.pdf": "Ann Lee was born in Oslo.",
        "sub/b.md": "# Title\n\nMarkdown body."}
    with pytest.raises(UserError, match="no such file or folder"):
        read_inputs([tmp_path / "missing.txt"])


def test_sentences_english_and_chinese_with_abbreviations_and_quotes():
    text = "Dr. J. Smith met Mr. Brown in the U.S. Army. He said \"Hi!\" Then left.\n\nA new paragraph"
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Dr. J. Smith met Mr. Brown in the U.S. Army.", 'He said "Hi!"', "Then left.", "A new paragraph"]
    zh = "鲁迅，原名周树人。他说：“我来了！”然后走了……好吧"
    assert [zh[s:e] for s, e in split_sentences(zh)] == ["鲁迅，原名周树人。", "他说：“我来了！”", "然后走了……", "好吧"]


def test_token_estimate_counts_cjk_characters_and_four_other_characters_a_token():
    assert estimate_tokens("abcdefgh") == 2 and estimate_tokens("abcdefghi") == 3
    assert estimate_tokens("鲁迅ab") == 3  # 2 CJK + ceil(2 / 4)
    assert language_of("鲁迅，原名周树人。English words here too") == "cn" and language_of("Hello world.") == "en"


def test_chunking_and_the_tokens_per_minute_limit_share_one_estimate():
    from core.llm.limits import estimate_tokens as request_tokens
    from core.llm.limits import text_tokens
    from core.llm.openai_backend import OpenAIBackend

    assert estimate_tokens is text_tokens  # one function, not two that agree today
    zh = "北京大学是中国的一所大学。"  # 12 CJK characters + the full stop "。" (CJK punctuation: 1 other character)
    assert text_tokens(zh) == 12 + 1 and estimate_tokens(zh) == 13
    assert request_tokens(zh, max_tokens=100) == 13 + 100  # was len // 4 = 3 prompt tokens: 4x too low for Chinese
    en = "Ada Lovelace was born in London."  # 32 characters, no CJK
    assert text_tokens(en) == 8 and request_tokens(en, max_tokens=10, n=2) == 8 + 20
    assert request_tokens("", max_tokens=None) == 1 + 16
    chat = [{"role": "user", "content": zh}, {"role": "user", "content": en}]  # joined by a blank line: +2 others
    assert OpenAIBackend._estimate(chat, {"max_tokens": 5}) == 12 + math.ceil((1 + 2 + 32) / 4) + 5


def test_chunks_keep_whole_sentences_under_the_budget_with_overlap():
    count = TokenCounter(lambda texts: [len(t.split()) for t in texts], "words")
    text = "A b. C d. E f. G h. I j."
    chunks = chunk_text(text, budget=5, overlap=2, count=count)
    assert [c.text for c in chunks] == ["A b. C d.", "C d. E f.", "E f. G h.", "G h. I j."]
    assert all(text[c.start:c.end] == c.text and c.tokens == 4 for c in chunks)
    assert [c.text for c in chunk_text(text, budget=5, overlap=0, count=count)] == ["A b. C d.", "E f. G h.", "I j."]
    # the overlap gives way when the next sentence would not fit after it; a chunk always moves on
    text = "One two three. Four five six seven. Eight nine. Ten eleven twelve thirteen fourteen."
    assert [c.text for c in chunk_text(text, budget=6, overlap=2, count=count)] == [
        "One two three.", "Four five six seven. Eight nine.", "Ten eleven twelve thirteen fourteen."]


def test_a_sentence_longer_than_the_budget_is_cut_at_clause_marks():
    text = "alpha beta, gamma delta, epsilon zeta, eta theta iota."
    count = TokenCounter(lambda texts: [len(t.split()) for t in texts], "words")
    chunks, sentences = chunk_document(text, budget=4, overlap=0, count=count)
    assert [c.text for c in chunks] == ["alpha beta, gamma delta,", "epsilon zeta, eta theta", "iota."]
    zh = "甲" * 25 + "，" + "乙" * 10 + "。"
    pieces = [c.text for c in chunk_text(zh, budget=30)]
    assert pieces == ["甲" * 25 + "，", "乙" * 10 + "。"] and "".join(pieces) == zh


def test_chunks_counted_with_a_local_models_tokenizer(toy_llama_path):
    counter = TokenCounter.from_tokenizer(str(toy_llama_path))
    text = "Ann Lee was born in Oslo. She played for the Oslo Lions. 鲁迅出生于绍兴。"
    lengths = counter([text[s:e] for s, e in split_sentences(text)])
    chunks = chunk_text(text, budget=max(lengths) + 1, count=counter)
    assert len(chunks) == 3 and [c.tokens for c in chunks] == lengths
    assert counter.name == f"tokenizer {toy_llama_path}"


def test_grounding_exact_normalised_fuzzy_ungrounded_in_english_and_chinese():
    text = "Marie Curie was born in Warsaw. Later, Ｍａｒｉｅ  CURIE moved to Paris."
    g = ground_pair("marie curie", "WARSAW", text, offset=100, sentence_starts=[0, 32])
    assert g == {"head_span": [100, 111], "tail_span": [124, 130], "head_grounding": "normalised",
                 "tail_grounding": "normalised"}  # the pair in the same sentence, not the full-width one
    assert locate("Marie  curie", text).spans == ((0, 11), (39, 51))
    fuzzy = locate("Marye Curie", text)
    assert fuzzy.status == "fuzzy" and text[slice(*fuzzy.spans[0])] == "Marie Curie" and fuzzy.score >= 85
    assert locate("Albert Einstein", text).status == "ungrounded"
    zh = "鲁迅，原名周树人，浙江绍兴人。1921年创作了《阿Ｑ正传》。"
    assert ground_pair("周树人", "绍兴", zh)["head_span"] == [5, 8]
    q = locate("阿Q正传", zh)
    assert q.status == "normalised" and zh[slice(*q.spans[0])] == "阿Ｑ正传"
    assert locate("周树仁", zh).status == "ungrounded"  # one character of three: below the threshold
    overlap = ground_pair("University of Paris", "Paris", "The University of Paris is located in Paris.")
    assert overlap["tail_span"] == [38, 43]  # not the Paris inside the head


def test_kg_task_parses_json_lines_arrays_and_flags_what_it_cannot_read():
    task = get_task("kg")
    ok = task.parse('{"head": "Ann", "head_type": "person", "relation": "born in", "tail": "Oslo"}\n'
                    '{"head": "Ann", "relation": "born in", "tail": "Oslo"}', {"text": ""}, ["born in"])
    assert ok.status == "ok" and ok.pred == [{"head": "Ann", "relation": "born in", "tail": "Oslo",
                                              "head_type": "person"}]
    arr = task.parse('Facts:\n[["Ann", "born in", "Oslo"], {"subject": "Ann", "predicate": "likes", "object": "tea"}]',
                     {"text": ""}, ["born in"])
    assert arr.status == "invalid" and len(arr.pred) == 2 and arr.issues == ["['Ann', 'likes', 'tea']: relation "
                                                                             "'likes' not allowed"]
    bad = task.parse('{"head": "Ann", "relation": "born in"}\n{"head": "B", "relation": "r", "tail": "C"}',
                     {"text": ""}, None)
    assert bad.status == "invalid" and bad.bad == {"triple": 1} and len(bad.pred) == 1
    assert task.parse("", {"text": ""}, None).status == "ok"
    none = task.parse("I could not find anything.", {"text": ""}, None)
    assert none.status == "unparsable" and none.bad == {"triple": 1}
    gold = task.check({"text": "t", "triples": [["Ann", "born in", "Oslo"]]}, "f.jsonl", 1)
    assert task.score([(gold, ok)])["triple"]["f1"] == 1.0


def test_kg_prompt_lists_the_schema_batch_and_gleaning_lists_what_was_found():
    schema = Schema.from_dict({"entity_types": {"person": "a human"}, "relation_types": ["born in", "died in"],
                               "patterns": [["person", "born in", "person"]]})
    first = get_task("kg").document_prompt("Ann was born in Oslo.", schema.batches(1)[0], "en")
    assert "- person: a human" in first and "- born in\n" in first and "died in" not in first
    assert "- (person, born in, person)" in first and first.endswith("Passage:\nAnn was born in Oslo.\n\nFacts:")
    again = get_task("kg").document_prompt("x", schema, "cn", found=[{"head": "Ann", "relation": "born in",
                                                                      "tail": "Oslo"}])
    assert '以下事实已经从这段文字中抽取出来了：\n{"head": "Ann", "relation": "born in", "tail": "Oslo"}' in again
    assert stop_sequences("kg.en") == ["\nPassage:"] and stop_sequences("kg.cn") == ["\n文本："]


def test_extractors_by_task_name_and_the_document_prompt_hook():
    assert get_extractor("kg").name == "kg" and get_extractor("rte").name == "rte"
    expected = "--task .ner. cannot extract from documents; expected one of ccks, (code, )?kg, rte"
    with pytest.raises(UserError, match=expected):
        get_extractor("ner")  # (a task gets on this list by having document_prompt, as kg has)
    got, bad = facts([["A", "r", "B"], {"head": "A", "relation": "r", "tail": "C", "head_type": "t"}, ["x"], 3])
    assert got == [{"head": "A", "relation": "r", "tail": "B"},
                   {"head": "A", "relation": "r", "tail": "C", "head_type": "t"}] and bad == 2
    ccks = get_extractor("ccks")
    parsed = ccks.parse("(鲁迅,出生地,绍兴)(鲁迅,配偶,许广平)", "鲁迅出生于绍兴。", Schema([], ["出生地"]))
    assert [f["tail"] for f in facts(parsed.pred)[0]] == ["绍兴", "许广平"]
    prompt = ccks.prompt("鲁迅出生于绍兴。", Schema([], ["出生地", "配偶"]), "cn", None)
    assert prompt == ("已知候选的关系列表：['出生地', '配偶']，请你根据关系列表，"
                      "从以下输入中抽取出可能存在的头实体与尾实体，"
                      "并给出对应的关系三元组。请按照 (头实体,关系,尾实体) 的格式回答。\n鲁迅出生于绍兴。")


def test_the_sample_gold_is_consistent_with_its_documents_and_schemas():
    corpus = ROOT / "examples" / "corpus"
    gold = json.loads((corpus / "gold.json").read_text(encoding="utf-8"))
    languages = set()
    for doc in gold["documents"]:
        text = read_inputs([corpus / doc["file"]], quiet=True)[0][0].text
        schema = Schema.load(corpus / gold["schemas"][doc["language"]])
        types = {e["name"]: e["type"] for e in doc["entities"]}
        names = {e["name"]: [e["name"], *e["aliases"]] for e in doc["entities"]}
        for t in doc["triples"]:
            assert text.count(t["evidence"]) == 1
            for side in ("head", "tail"):
                assert t.get(f"{side}_mention", t[side]) in names[t[side]] and t.get(f"{side}_mention", t[side]) in \
                    t["evidence"]
            assert schema.check(types[t["head"]], t["relation"], types[t["tail"]]) == []
        assert estimate_tokens(text) >= 3 * 120  # several times the tests' chunk budget
        languages.add(doc["language"])
    assert languages == {"en", "cn"} and len(gold["documents"]) == 5


def test_kg_task_runs_through_the_one_pipeline(tmp_path):
    from core import pipeline
    from core.llm import LLMConfig, create_backend
    from core.testing.fake_openai import FakeOpenAI

    task = get_task("kg")
    schema = Schema.from_dict({"entity_types": ["person", "location"], "relation_types": ["born in"]})
    records = [task.check({"id": 1, "text": "Ann Lee was born in Oslo.", "triples": [["Ann Lee", "born in", "Oslo"]]},
                          "r.jsonl", 1)]
    items = [(1, task.document_prompt(records[0]["text"], schema, "en"))]
    answer = json.dumps({"head": "Ann Lee", "head_type": "person", "relation": "born in", "tail": "Oslo",
                         "tail_type": "location"})
    files = pipeline.RunFiles.beside(tmp_path / "pred.jsonl")
    with FakeOpenAI(lambda body: answer) as fake:
        cfg = LLMConfig(base_url=fake.base_url, model="fake-model", no_cache=True)
        with create_backend(cfg) as backend:
            result = pipeline.run(task, records, items, backend, files, labels=["born in"],
                                  stop=stop_sequences("kg.en"))
    assert result.metrics["triple"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "gold": 1, "pred": 1, "correct": 1}
    row = json.loads(files.parsed.read_text(encoding="utf-8"))
    assert row["status"] == "ok" and row["triples"][0]["tail_type"] == "location"


def test_the_code_task_writes_a_schema_batch_and_a_passage_as_code_and_gleans_in_comments():
    task = get_task("code")
    schema = Schema.from_dict({"entity_types": ["person", "location"], "relation_types": ["born in", "died in"],
                               "patterns": [["person", "born in", "location"], ["person", "died in", "location"]]})
    batch = schema.batches(1)[0]
    code = task.document_prompt('Ann was born in "Oslo".', batch, "en", chat=False)
    assert code.startswith("from typing import List\n") and code.endswith('\n\n""" Ann was born in "Oslo". """\n')
    assert "class born_in(Rel):" in code and "died_in" not in code and "class location(Entity):" in code
    messages = task.document_prompt('Ann was born in "Oslo".', batch, "en")  # the pipeline does not say: chat form
    assert [m["role"] for m in messages] == ["system", "user"] and messages[1]["content"].endswith("\n\n" + code)
    found = [{"head": "Ann", "head_type": "person", "relation": "born in", "tail": "Oslo", "tail_type": "location"}]
    again = task.document_prompt("x", batch, "en", found=found, chat=False)
    assert ("\n\n# These facts were already extracted from the passage:\n"
            "# extract = Extract([Triple(person('Ann'), Rel('born in'), location('Oslo')),])\n"
            "# Some facts may have been missed. Give only facts that are not listed above, in the same form; write "
            'nothing if none is missing.\n\n""" x """\n') in again
    assert task.document_stop("en") == ['\n"""'] and task.document_stop("en", chat=False) == ['\n"""', "\nextract"]
    code_x = get_extractor("code")
    parsed = code_x.parse("```python\nextract = Extract([Triple(person('Ann'), Rel('born in'), location('Oslo'))])\n```",
                          "Ann was born in Oslo.", batch)
    assert parsed.status == "ok" and facts(parsed.pred) == (found, 0)


def test_a_task_with_its_own_document_stop_sequences_needs_no_prompt_file_per_language():
    from core.extract.extractors import from_task

    code = from_task("code")
    assert code.stop("cn") == code.stop("en") and code.stop("cn")  # the code prompt has no code.cn file
