import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "（弗雷泽，获奖，铜牌）",
    "(弗雷泽,获奖,铜牌)(弗雷泽,国家,澳大利亚)",
    "Smith, Jr. was born in the USA",
    "extract = Extract([Triple(person('A'), Rel('Work for'), organization('B'))])",
    '{"entity": "浙江大学", "type": "组织"}\n### Response:\n  indented\tcode',
    "未见过的字：饕餮 and unseen Ünïcödé",
]
PROBE = "### Instruction:\n抽取三元组 Extract triples\n\n### Response:\n(John Smith,work for,Acme Corp)"


def _run(args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, **kw)


def _state(path):
    from safetensors.torch import load_file

    return load_file(str(Path(path) / "model.safetensors"))


@pytest.fixture(scope="module")
def toys(toy_llama_path, toy_glm_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = {}
    for kind, path in (("llama", toy_llama_path), ("glm", toy_glm_path)):
        out[kind] = (path, AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path))
    return out


def test_fresh_process_loads_toys_with_auto_classes_and_identical_logits(toys, tmp_path):
    import torch

    script = f"""
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
paths = json.loads(sys.argv[1]); out = {{}}
for kind, path in paths.items():
    tok = AutoTokenizer.from_pretrained(path); model = AutoModelForCausalLM.from_pretrained(path)
    enc = tok([{PROBE!r}], return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits
    gen = model.generate(**enc, max_new_tokens=8, do_sample=False)
    out[kind] = {{"cls": type(model).__name__, "ids": enc.input_ids[0].tolist(), "gen": gen[0].tolist()}}
    torch.save(logits, sys.argv[2] + "/" + kind + ".pt")
print(json.dumps(out))
"""
    paths = {kind: str(v[0]) for kind, v in toys.items()}
    proc = _run(["-c", script, json.dumps(paths), str(tmp_path)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh = json.loads(proc.stdout.strip().splitlines()[-1])
    assert fresh["llama"]["cls"] == "LlamaForCausalLM"
    assert fresh["glm"]["cls"] == "GlmForCausalLM"
    for kind, (_, tok, model) in toys.items():
        enc = tok([PROBE], return_tensors="pt")
        assert enc.input_ids[0].tolist() == fresh[kind]["ids"]
        with torch.no_grad():
            logits = model(**enc).logits
        assert torch.equal(logits, torch.load(tmp_path / f"{kind}.pt"))
        gen = model.generate(**enc, max_new_tokens=8, do_sample=False)
        assert gen[0].tolist() == fresh[kind]["gen"]


@pytest.mark.parametrize("kind", ["llama", "glm"])
@pytest.mark.parametrize("text", TEXTS)
def test_tokenizer_round_trips_chinese_english_and_code(toys, kind, text):
    tok = toys[kind][1]
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.unk_token_id not in ids  # byte fallback / byte level: nothing becomes <unk>
    assert tok.decode(ids) == text


def test_glm_byte_level_tokenizer_round_trips_emoji_and_leading_spaces(toys):
    tok = toys["glm"][1]
    for text in ["  leading spaces 😀 ", "\n\n尾随换行\n"]:
        assert tok.decode(tok.encode(text, add_special_tokens=False)) == text


def test_llama_tokenizer_is_a_real_sentencepiece_model_that_agrees_with_hf(toys):
    import sentencepiece as spm

    path, tok, model = toys["llama"]
    sp = spm.SentencePieceProcessor(model_file=str(path / "tokenizer.model"))
    assert sp.get_piece_size() == tok.vocab_size == len(tok) == model.config.vocab_size
    assert 2000 <= sp.get_piece_size() <= 4000
    assert sp.id_to_piece(tok.bos_token_id) == "<s>" and sp.id_to_piece(tok.eos_token_id) == "</s>"
    for text in TEXTS:
        assert tok.encode(text, add_special_tokens=False) == sp.encode(text)
        assert tok(text).input_ids[0] == tok.bos_token_id  # LLaMA adds BOS
    assert "饕" not in sp.id_to_piece(list(range(sp.get_piece_size())))  # unseen char really is byte fallback


def test_glm_tokenizer_has_distinct_specials_no_bos_and_a_chat_template(toys):
    _, tok, _ = toys["glm"]
    assert len({tok.bos_token_id, tok.eos_token_id, tok.pad_token_id}) == 3
    assert tok("hello").input_ids == tok.encode("hello", add_special_tokens=False)
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "抽取三元组"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == "[gMASK]<sop><|user|>\n抽取三元组<|assistant|>\n"
    assert tok.convert_ids_to_tokens(tok.encode(prompt, add_special_tokens=False)[:2]) == ["[gMASK]", "<sop>"]


@pytest.mark.parametrize("kind", ["llama", "glm"])
def test_special_token_ids_agree_across_tokenizer_config_and_generation_config(toys, kind):
    path, tok, model = toys[kind]
    for cfg in (model.config, model.generation_config):
        assert (cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id) == (
            tok.bos_token_id,
            tok.eos_token_id,
            tok.pad_token_id,
        )
    assert None not in (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    assert tok.pad_token_id != tok.eos_token_id
    assert model.config.max_position_embeddings >= 2048
    assert tok.padding_side == "left"
    assert len(tok) == model.config.vocab_size


def test_build_is_deterministic_cached_and_force_rebuilds(toys, tmp_path):
    from core.toy import build, is_built

    for kind in ("llama", "glm"):
        fresh = build(kind, cache_dir=tmp_path)
        assert fresh == tmp_path / kind and is_built(fresh, kind)
        shared = toys[kind][0]
        for name in ("tokenizer.json", "config.json", "generation_config.json"):
            assert (fresh / name).read_bytes() == (shared / name).read_bytes(), name
        a, b = _state(fresh), _state(shared)
        assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)

    weights = tmp_path / "llama" / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert build("llama", cache_dir=tmp_path) == tmp_path / "llama"
    assert weights.stat().st_mtime_ns == stamp  # reused, not rebuilt
    (weights.parent / "note").write_text("x")
    build("llama", cache_dir=tmp_path, force=True)
    assert not (weights.parent / "note").exists()  # replaced by a fresh build
    assert all(v.equal(_state(toys["llama"][0])[k]) for k, v in _state(tmp_path / "llama").items())
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["glm", "llama"]  # no temp folders left


def test_half_built_or_stale_folder_is_not_trusted(tmp_path):
    from core.toy import build, is_built

    (tmp_path / "glm").mkdir()
    (tmp_path / "glm" / "config.json").write_text("{}")  # e.g. an interrupted copy: no toy.json marker
    (tmp_path / ".glm-building-crashed").mkdir()  # what a killed builder leaves behind
    assert not is_built(tmp_path / "glm", "glm")
    path = build("glm", cache_dir=tmp_path)
    assert is_built(path, "glm") and (path / "model.safetensors").exists()
    assert not (tmp_path / ".glm-building-crashed").exists()
    marker = path / "toy.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "version": -1}))
    assert not is_built(path, "glm")
    assert is_built(build("glm", cache_dir=tmp_path), "glm")


def test_concurrent_builders_agree_and_leave_one_valid_folder(tmp_path, toy_llama_path):
    code = "from core.toy import build; import sys; print(build('llama', cache_dir=sys.argv[1]))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)],
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    assert {o[0].strip() for o in outs} == {str(tmp_path / "llama")}
    from core.toy import is_built

    assert is_built(tmp_path / "llama", "llama")
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["llama"]
    for name in ("model.safetensors", "tokenizer.model", "tokenizer.json"):  # same bytes as a build in this process
        assert (tmp_path / "llama" / name).read_bytes() == (toy_llama_path / name).read_bytes(), name


def test_cli_help_and_unknown_kind():
    proc = _run(["-m", "core.toy", "--help"])
    assert proc.returncode == 0, proc.stderr
    assert "build" in proc.stdout + proc.stderr
    proc = _run(["-m", "core.toy", "build", "gpt5"])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == "error: unknown toy model 'gpt5' (choose from llama, glm)"


def test_cli_build_prints_the_folder(toy_glm_path):
    proc = _run(["-m", "core.toy", "build", "glm"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(toy_glm_path)
