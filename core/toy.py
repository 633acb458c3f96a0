"""Small local models with random weights and real tokenizers, for tests and the offline demo.

    python -m core.toy build llama

`build("llama")` writes a `LlamaForCausalLM` (hidden 64, 2 layers) with a SentencePiece BPE tokenizer
(`tokenizer.model`, byte fallback, BOS added like LLaMA); `build("glm")` writes a native `GlmForCausalLM` with a
byte-level BPE tokenizer from the `tokenizers` library (no BOS added, GLM-4-style chat template). Both tokenizers are
trained on `toy_data/corpus.txt` (English/Chinese extraction prompts, triples, code, JSON) and open with the ordinary
`AutoModelForCausalLM.from_pretrained(path)` / `AutoTokenizer.from_pretrained(path)`.

Builds are deterministic (fixed seed), cached under `$KGLLM_TOY_DIR` or `~/.cache/kgllm/toy` (one folder per kind),
made in a temporary folder and renamed into place under a file lock, so a crash or two concurrent builders never leave
a half-built folder that looks valid. A folder whose `toy.json` does not match this code's version is rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.atomic_build import build_atomic
from core.errors import UserError

KINDS = ("llama", "glm")
VERSION = 1  # bump when the recipe changes: cached folders with another version are rebuilt
SEED = 0
VOCAB_SIZE = 3000
MAX_POSITIONS = 2048
CORPUS = Path(__file__).resolve().parent / "toy_data" / "corpus.txt"
MARKER = "toy.json"

GLM_SPECIALS = ["<|endoftext|>", "<pad>", "[gMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>", "<|assistant|>"]
GLM_CHAT_TEMPLATE = (
    "[gMASK]<sop>{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def default_cache_dir() -> Path:
    """`$KGLLM_TOY_DIR`, else `~/.cache/kgllm/toy`."""
    return Path(os.environ.get("KGLLM_TOY_DIR") or Path.home() / ".cache" / "kgllm" / "toy").expanduser()


def _fingerprint(kind: str) -> dict:
    return {"kind": kind, "version": VERSION, "corpus_sha256": hashlib.sha256(CORPUS.read_bytes()).hexdigest()}


def is_built(path: Path, kind: str) -> bool:
    """True if `path` holds a finished build of `kind` made by this version of the recipe."""
    try:
        return json.loads((Path(path) / MARKER).read_text(encoding="utf-8")) == _fingerprint(kind)
    except (OSError, ValueError):
        return False


def build(kind: str, cache_dir: str | os.PathLike | None = None, force: bool = False) -> Path:
    """Build the toy model `kind` ("llama" or "glm") once and return its folder (`<cache_dir>/<kind>`)."""
    if kind not in KINDS:
        raise UserError(f"unknown toy model {kind!r} (choose from {', '.join(KINDS)})")
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()

    def build_into(tmp: Path) -> None:
        (_build_llama if kind == "llama" else _build_glm)(tmp)
        (tmp / MARKER).write_text(json.dumps(_fingerprint(kind)), encoding="utf-8")

    return build_atomic(cache, kind, lambda folder: is_built(folder, kind), build_into, force=force)


def _save_model(model, tokenizer, out: Path) -> None:
    ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    for cfg in (model.config, model.generation_config):
        for key, value in ids.items():
            setattr(cfg, key, value)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _build_llama(out: Path) -> None:
    import sentencepiece as spm
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizer

    buf = io.BytesIO()
    # LLaMA's own SentencePiece settings (bpe, byte fallback, split digits, no normalisation) at toy scale.
    spm.SentencePieceTrainer.train(
        input=str(CORPUS),
        model_writer=buf,
        model_type="bpe",
        vocab_size=VOCAB_SIZE,
        character_coverage=1.0,
        byte_fallback=True,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    (out / "tokenizer.model").write_bytes(buf.getvalue())
    # LLaMA has no pad token; use unk (id 0) as alpaca-lora did, so eos stays unmasked in training labels.
    tokenizer = LlamaTokenizer.from_pretrained(
        out, add_bos_token=True, add_eos_token=False, pad_token="<unk>", padding_side="left"
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(SEED)
    _save_model(LlamaForCausalLM(config), tokenizer, out)


def _build_glm(out: Path) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GlmConfig, GlmForCausalLM, PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=GLM_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train([str(CORPUS)], trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<sop>",
        eos_token="<|endoftext|>",
        pad_token="<pad>",
        additional_special_tokens=[t for t in GLM_SPECIALS if t not in ("<sop>", "<|endoftext|>", "<pad>")],
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = GLM_CHAT_TEMPLATE
    config = GlmConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(SEED)
    _save_model(GlmForCausalLM(config), tokenizer, out)


@dataclass
class BuildArgs:
    kinds: list[str] = field(default_factory=list, metadata={
        "help": f"which toy models: {', '.join(KINDS)}", "positional": True, "shown_default": "all"})
    cache_dir: str | None = field(default=None, metadata={
        "help": "where to build", "shown_default": "$KGLLM_TOY_DIR, else ~/.cache/kgllm/toy"})
    force: bool = field(default=False, metadata={"help": "rebuild even if a finished build is cached"})


def main(kinds: list[str] | None = None, cache_dir: str | None = None, force: bool = False) -> None:
    """Build toy models (default: all kinds) and print one folder per line."""
    for kind in kinds or KINDS:
        print(build(kind, cache_dir=cache_dir, force=force))


if __name__ == "__main__":
    from core.flags import Command, flags_of, prog_name, run_commands

    run_commands([Command("build", main, flags_of(BuildArgs), "build (or find cached) toy models; prints their "
                          "folders")], prog=prog_name("python -m core.toy"), doc=__doc__)
