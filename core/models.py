"""Load a base causal LM and its tokenizer: local folder or hub id, dtype, 8/4-bit, device map, remote code.

    python -c "from core.toy import build; from core.models import load_model_and_tokenizer as L; print(L(str(build('llama')), bits=4)[0])"

Every user mistake (missing folder, folder without config.json, unknown dtype, bad --bits, no bitsandbytes, a
quantization mode this machine cannot run, a folder transformers cannot load) becomes a one-line `UserError`.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from core.errors import UserError

DTYPE_NAMES = {
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp16": "float16",
    "float16": "float16",
    "half": "float16",
    "fp32": "float32",
    "float32": "float32",
    "float": "float32",
}
NO_QUANTIZATION = (None, 16, 32)


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _looks_local(name: str) -> bool:
    """A hub id is `name` or `org/name`; anything path-like, or whose first part exists here, is a local path."""
    if name.startswith(("/", "./", "../", "~", ".")) or "\\" in name or os.path.exists(name):
        return True
    parts = Path(name).parts
    return len(parts) > 2 or (len(parts) == 2 and os.path.isdir(parts[0]))


def check_model_path(base_model: str | os.PathLike) -> str:
    """Return `base_model` ready for `from_pretrained`: a local folder with config.json (expanded) or a hub id."""
    name = os.fspath(base_model).strip() if base_model is not None else ""
    if not name:
        raise UserError("no base model given: pass a model folder or a hub id (--base_model)")
    if not _looks_local(name):
        return name
    path = Path(name).expanduser()
    if not path.exists():
        raise UserError(f"base model '{name}' not found: no such folder")
    if not (path / "config.json").is_file():
        raise UserError(f"base model '{name}' is not a model folder (no config.json)")
    return str(path)


def resolve_dtype(dtype: Any = "auto", cuda: bool | None = None):
    """ "auto"/"bf16"/"fp16"/"fp32" (or "bfloat16"/"float16"/"float32", or a torch.dtype) -> torch.dtype.

    auto: bf16 on a CUDA GPU that supports it, fp16 on other CUDA GPUs, fp32 on CPU. bf16 on a CUDA GPU without it
    warns and falls back to fp16; on CPU bf16 is kept (torch runs it).
    """
    import torch

    if cuda is None:
        cuda = torch.cuda.is_available()
    bf16_ok = not cuda or torch.cuda.is_bf16_supported(including_emulation=False)
    if isinstance(dtype, torch.dtype):
        resolved = dtype
    else:
        key = str(dtype).strip().lower().removeprefix("torch.")
        if key == "auto":
            if not cuda:
                return torch.float32
            return torch.bfloat16 if bf16_ok else torch.float16
        if key not in DTYPE_NAMES:
            raise UserError(f"unknown dtype '{dtype}' (choose from auto, bf16, fp16, fp32)")
        resolved = getattr(torch, DTYPE_NAMES[key])
    if resolved == torch.bfloat16 and not bf16_ok:
        warnings.warn("this GPU has no bfloat16 support; using float16 instead", stacklevel=2)
        return torch.float16
    return resolved


def _check_bits(bits: Any) -> int | None:
    if bits is None:
        return None
    try:
        value = int(bits)
    except (TypeError, ValueError):
        value = -1
    if value not in (4, 8, 16, 32) or (isinstance(bits, float) and bits != value):
        raise UserError(f"--bits must be 4, 8, 16 or 32 (got {bits!r})")
    return value


def quantization_config(bits: Any, compute_dtype: Any = "bf16"):
    """BitsAndBytesConfig for `bits` 8 or 4 (nf4, double quant, bf16 compute); None when no quantization is asked."""
    bits = _check_bits(bits)
    if bits in NO_QUANTIZATION:
        return None
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise UserError(f"--bits {bits} needs bitsandbytes (pip install bitsandbytes)") from None
    from transformers import BitsAndBytesConfig

    if bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=resolve_dtype(compute_dtype),
    )


def _quant_mode(bits: int) -> str:
    return "8-bit (LLM.int8)" if bits == 8 else "4-bit (nf4, double quant)"


def _check_remote_code(path: str, trust_remote_code: bool) -> None:
    """A local folder whose config.json names its own code (auto_map, e.g. ChatGLM-6B) needs trust_remote_code."""
    config_file = Path(path) / "config.json"
    if trust_remote_code or not config_file.is_file():
        return
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"base model '{path}' has an unreadable config.json: {_one_line(exc)}") from None
    if isinstance(config, dict) and config.get("auto_map") and config.get("model_type") not in _native_types():
        raise UserError(
            f"base model '{path}' ships its own model code (auto_map in config.json): "
            "pass --trust_remote_code if you trust it"
        )


def _native_types() -> set[str]:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return set(CONFIG_MAPPING_NAMES)


def set_pad_token(tokenizer: Any, model: Any = None) -> None:
    """Give `tokenizer` a pad token if it has none (eos, else unk) and make the model's configs agree with it."""
    if tokenizer.pad_token is None:
        fallback = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.unk_token
        if fallback is None:
            warnings.warn("tokenizer has no pad, eos or unk token: batches cannot be padded", stacklevel=2)
        else:
            tokenizer.pad_token = fallback
    if model is not None and tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
        generation_config = getattr(model, "generation_config", None)
        if generation_config is not None:
            generation_config.pad_token_id = tokenizer.pad_token_id


def load_tokenizer(base_model: str | os.PathLike, *, trust_remote_code: bool = False) -> Any:
    """The tokenizer of `base_model` alone (e.g. to see whether it has a chat template without loading weights)."""
    path = check_model_path(base_model)
    _check_remote_code(path, trust_remote_code)
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise UserError(f"cannot load the tokenizer of '{path}': {_one_line(exc)}") from None


def load_model_and_tokenizer(
    base_model: str | os.PathLike,
    *,
    dtype: Any = "auto",
    bits: int | None = None,
    device_map: Any = None,
    trust_remote_code: bool = False,
    padding_side: str = "left",
) -> tuple[Any, Any]:
    """Load `(model, tokenizer)` for a causal LM.

    Args:
        base_model: local model folder (with config.json) or hub id.
        dtype: auto, bf16, fp16, fp32 (or bfloat16/float16/float32); see `resolve_dtype`.
        bits: None, 16 or 32 = no quantization; 8 or 4 = bitsandbytes (CPU works with bitsandbytes >= 0.45).
        device_map: passed to `from_pretrained` ("auto", "cpu", {"": 0}, ...); None loads on CPU.
        trust_remote_code: run the model's own code (needed by the original ChatGLM-6B/2/3).
        padding_side: "left" for generation, "right" for some training setups.
    """
    if padding_side not in ("left", "right"):
        raise UserError(f"padding_side must be 'left' or 'right' (got {padding_side!r})")
    path = check_model_path(base_model)
    torch_dtype = resolve_dtype(dtype)
    bits = _check_bits(bits)
    quant = quantization_config(bits)
    _check_remote_code(path, trust_remote_code)

    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(path, trust_remote_code=trust_remote_code)
    kwargs: dict[str, Any] = {"dtype": torch_dtype, "trust_remote_code": trust_remote_code}
    if device_map is not None:
        kwargs["device_map"] = device_map
    if quant is not None:
        kwargs["quantization_config"] = quant
    try:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except (OSError, ValueError, KeyError, ImportError) as exc:
        if quant is not None:
            raise UserError(
                f"--bits {bits}: bitsandbytes {_quant_mode(bits)} loading failed on this machine: {_one_line(exc)}"
            ) from None
        raise UserError(f"cannot load '{path}' as a causal language model: {_one_line(exc)}") from None
    except (RuntimeError, NotImplementedError) as exc:
        if quant is None:
            raise
        raise UserError(
            f"--bits {bits}: bitsandbytes cannot run {_quant_mode(bits)} on this machine: {_one_line(exc)}"
        ) from None
    tokenizer.padding_side = padding_side
    set_pad_token(tokenizer, model)
    return model, tokenizer
