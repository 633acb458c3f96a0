"""One loader for inference: base model + optional adapter + prompt template, under one template rule.

    python -c "from core.toy import build; from core.loader import load_for_inference; print(load_for_inference(str(build('glm'))).template.name)"

Every local model that answers prompts is loaded here: the hf backend of core.llm (and through it
InstructKGC/inference.py) and core.serve. The template rule, in one place (`choose_template`):

1. the template recorded with the adapter (`kgllm_adapter.json`);
2. else the tokenizer's own chat template, when it has one (`chat_template`);
3. else `alpaca`.

An explicit template (`--prompt_template_name`) that disagrees with the adapter's recorded one is an error unless
`force`; without a recorded template an explicit one is used as given. Where the template came from is kept
(`Loaded.source`: adapter | explicit | tokenizer | default): only `default` means the model was never shown that
template, which is what core.serve's /v1/models tells clients (`chat_template: false`) and what the hf backend's
auto chat mode follows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from core.errors import UserError

SOURCES = ("adapter", "explicit", "tokenizer", "default")


@dataclass
class Loaded:
    """What `load_for_inference` gives: the model ready to generate (eval mode, left-padded tokenizer)."""

    model: Any
    tokenizer: Any
    template: Any  # core.templates.Template
    source: str  # one of SOURCES: where the template came from
    meta: dict | None = None  # the adapter's metadata, None without an adapter

    @property
    def knows_template(self) -> bool:
        """True when the model was made or trained for its template (not the alpaca fallback)."""
        return self.source != "default"


def recorded_template(meta: dict | None) -> Any:
    """The template an adapter recorded (None without an adapter, or when it recorded none)."""
    if not meta:
        return None
    from core.tuning import adapter_template

    return adapter_template(meta)


def check_template(recorded: Any, name: str | None, force: bool = False) -> None:
    """A --prompt_template_name other than the adapter's recorded template is an error unless forced."""
    if recorded is not None and name and name != recorded.name and not force:
        raise UserError(f"the adapter was trained with prompt template '{recorded.name}', not '{name}': drop "
                        "--prompt_template_name, or pass --force_template to use it anyway")


def choose_template(recorded: Any, name: str | None = None, force: bool = False,
                    has_chat_template: bool | None = None) -> tuple[Any, str]:
    """(template, source) by the one rule above. `has_chat_template`: whether the tokenizer has its own chat
    template (None: not known here, e.g. the model is on a server; then the explicit `chat_template` is not checked)."""
    from core.templates import get_template

    check_template(recorded, name, force)
    if recorded is not None and (not name or name == recorded.name):
        return recorded, "adapter"
    if name:
        template = get_template(name)
        if template.needs_tokenizer and has_chat_template is False:
            raise UserError(f"--prompt_template_name {name}: this model's tokenizer has no chat template; "
                            "choose a text template such as alpaca")
        return template, "explicit"
    if has_chat_template:
        return get_template("chat_template"), "tokenizer"
    return get_template("alpaca"), "default"


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def local_device_map() -> Any:
    """Where this process puts the model: its own GPU under torchrun (LOCAL_RANK), GPU 0 alone, else the CPU."""
    import torch

    return {"": int(os.environ.get("LOCAL_RANK", 0))} if torch.cuda.is_available() else None


def load_for_inference(base_model: str | os.PathLike | None, adapter: str | os.PathLike | None = None,
                       template: str | None = None, force: bool = False, *, bits: int | None = None,
                       dtype: Any = "auto", device_map: Any = "local") -> Loaded:
    """Load base model (+ LoRA / P-Tuning adapter) for generation and pick the prompt template.

    `base_model` None/empty with an adapter: the base model the adapter recorded. `template`: an explicit template
    name or .json path; checked against the adapter's before any weights load. `device_map="local"`: see
    `local_device_map`.
    """
    from core.tuning import read_adapter_meta

    meta = read_adapter_meta(adapter) if adapter else None
    recorded = recorded_template(meta)
    check_template(recorded, template, force)  # fail before loading gigabytes
    device_map = local_device_map() if device_map == "local" else device_map
    if adapter:
        model, tokenizer, meta = load_model_with_adapter(base_model or None, adapter, bits=bits, dtype=dtype,
                                                         device_map=device_map)
    else:
        from core.models import load_model_and_tokenizer

        if not base_model:
            raise UserError("no model: pass --base_model (and optionally --lora_weights)")
        model, tokenizer = load_model_and_tokenizer(base_model, dtype=dtype, bits=bits, device_map=device_map,
                                                    padding_side="left")
        model.eval()
    chosen, source = choose_template(recorded, template, force, has_chat_template(tokenizer))
    return Loaded(model, tokenizer, chosen, source, meta)


def fix_prefix_generation(model: Any) -> Any:
    """Make `generate()` keep a P-Tuning v2 prefix (peft 0.21 + transformers 5: generate passes the KV cache as
    `cache`, peft looks for `past_key_values`, so the prefix is silently dropped). Idempotent; no-op for LoRA.

    Renames the key on the way into peft's `prepare_inputs_for_generation` and back on the way out.
    """
    config = getattr(model, "active_peft_config", None)
    if config is None or not getattr(config, "is_prompt_learning", False) or getattr(model, "_kgllm_prefix_fix", 0):
        return model
    base_prepare = model.base_model_prepare_inputs_for_generation
    peft_prepare = model.prepare_inputs_for_generation

    def base_prepare_with_pkv(*args: Any, **kwargs: Any) -> dict:
        out = base_prepare(*args, **kwargs)
        if "cache" in out and "past_key_values" not in out:
            out["past_key_values"] = out.pop("cache")
        return out

    def prepare(*args: Any, **kwargs: Any) -> dict:
        out = peft_prepare(*args, **kwargs)
        if "past_key_values" in out:
            out["cache"] = out.pop("past_key_values")
        return out

    model.base_model_prepare_inputs_for_generation = base_prepare_with_pkv
    model.prepare_inputs_for_generation = prepare
    model._kgllm_prefix_fix = 1
    return model


def load_model_with_adapter(
    base_model: str | os.PathLike | None,
    lora_weights: str | os.PathLike,
    *,
    bits: int | None = None,
    dtype: Any = "auto",
    device_map: Any = None,
    trust_remote_code: bool | None = None,
) -> tuple[Any, Any, dict]:
    """Load base model + adapter for inference -> (model, tokenizer, meta). `base_model=None` takes the base model
    recorded with the adapter; a base model of another architecture than the adapter's is refused. The tokenizer is
    left-padded, the model in eval mode, and P-Tuning generation fixed (`fix_prefix_generation`)."""
    from core.models import _one_line, load_model_and_tokenizer
    from core.tuning import read_adapter_meta

    meta = read_adapter_meta(lora_weights)
    base = base_model or meta.get("base_model")
    if not base:
        raise UserError(f"adapter '{lora_weights}' does not record its base model: pass --base_model")
    if trust_remote_code is None:
        trust_remote_code = bool(meta.get("trust_remote_code", False))
    model, tokenizer = load_model_and_tokenizer(base, dtype=dtype, bits=bits, device_map=device_map,
                                                trust_remote_code=trust_remote_code, padding_side="left")
    want, got = meta.get("model_type"), getattr(model.config, "model_type", None)
    if want and got and want != got:
        raise UserError(f"adapter '{lora_weights}' was trained on a '{want}' model, but base model '{base}' is "
                        f"'{got}': pass the base model it was trained on")
    from peft import PeftModel

    try:
        model = PeftModel.from_pretrained(model, str(lora_weights), is_trainable=False)
    except (ValueError, RuntimeError, KeyError, OSError) as exc:
        raise UserError(f"cannot load adapter '{lora_weights}' onto '{base}': {_one_line(exc)}") from None
    model.eval()
    fix_prefix_generation(model)
    return model, tokenizer, meta
