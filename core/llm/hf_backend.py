"""Local Hugging Face backend: a base model (+ LoRA / P-Tuning adapter) on this machine, batched by core.generate.

    python -c "from core.toy import build; from core.llm import LLMConfig, create_backend; b = create_backend(LLMConfig(backend='hf', base_model=str(build('llama')), no_cache=True)); print(b.complete(['Hello'], max_tokens=5))"

Prompts, like the OpenAI backend's two endpoints: in chat mode every prompt is rendered as chat messages with the
adapter's recorded template (a str becomes one user message); otherwise the prompt text goes to the model verbatim
(messages joined by blank lines). `--chat` picks; by default chat mode is on with an adapter or a
--prompt_template_name, off for a bare base model. The model loads on first use, so a rerun answered from the cache
never loads it. Temperature 0 is greedy; `seed` seeds sampling; other API-only parameters are ignored.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.llm.base import Backend, Completion, Prompt, messages_of, text_of
from core.llm.config import LLMConfig


class HFBackend(Backend):
    name = "hf"

    def __init__(self, config: LLMConfig):
        if not config.base_model and not config.lora_weights:
            raise UserError("the hf backend needs --base_model (and optionally --lora_weights)")
        self._meta: dict = {}
        if config.lora_weights:
            from core.tuning import read_adapter_meta

            self._meta = read_adapter_meta(config.lora_weights)
        super().__init__(config)
        self._loaded: tuple[Any, Any, Any] | None = None
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        base = self.config.base_model or self._meta.get("base_model")
        if not base:
            raise UserError(f"adapter '{self.config.lora_weights}' does not record its base model: pass --base_model")
        return str(base)

    @property
    def model(self) -> str:
        name = Path(self.base).name or self.base
        return f"{name}+{Path(self.config.lora_weights).name}" if self.config.lora_weights else name

    @property
    def chat(self) -> bool:
        if self.config.chat is not None:
            return self.config.chat
        return bool(self.config.lora_weights or self.config.prompt_template_name)

    def identity(self) -> dict:
        c = self.config
        return {"backend": self.name, "base_model": _fingerprint(self.base), "bits": c.bits, "chat": self.chat,
                "adapter": _fingerprint(c.lora_weights) if c.lora_weights else None,
                "template": c.prompt_template_name or self._meta.get("template")}

    def describe(self) -> str:
        mode = f"chat, template {self._template_name()}" if self.chat else "raw text"
        bits = f", {self.config.bits}-bit" if self.config.bits else ""
        return f"hf:{self.model} ({mode}, batch {self.config.batch_size}{bits})"

    def _template_name(self) -> str:
        if self._loaded is not None:
            return self._loaded[2].name
        return self.config.prompt_template_name or self._meta.get("template") or "auto"

    def load(self) -> tuple[Any, Any, Any]:
        """(model, tokenizer, template), loaded once."""
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> tuple[Any, Any, Any]:
        from core.templates import get_template

        c, template = self.config, None
        if c.lora_weights:
            from core.tuning import adapter_template, load_model_with_adapter

            model, tokenizer, meta = load_model_with_adapter(c.base_model, c.lora_weights, bits=c.bits)
            template = adapter_template(meta)
            if template is not None and c.prompt_template_name and c.prompt_template_name != template.name:
                raise UserError(f"adapter '{c.lora_weights}' was trained with template '{template.name}', not "
                                f"--prompt_template_name {c.prompt_template_name}: drop the flag")
        else:
            from core.models import load_model_and_tokenizer

            model, tokenizer = load_model_and_tokenizer(c.base_model, bits=c.bits, padding_side="left")
        if template is None:
            name = c.prompt_template_name or ("chat_template" if getattr(tokenizer, "chat_template", None) else "alpaca")
            template = get_template(name)
        return model, tokenizer, template

    def render(self, prompt: Prompt) -> str:
        """The text the model sees for one prompt."""
        if not self.chat:
            return text_of(prompt)
        _, tokenizer, template = self.load()
        return template.render_messages(messages_of(prompt), tokenizer)

    def _generate(self, prompts: Sequence[Prompt], params: dict) -> Iterator[tuple[int, list[Completion]]]:
        from core.generate import generate

        model, tokenizer, _ = self.load()
        texts = [self.render(p) for p in prompts]
        temperature = float(params.get("temperature") or 0.0)
        n = int(params.get("n", 1))
        if params.get("seed") is not None:
            import torch

            torch.manual_seed(int(params["seed"]))
        options = dict(max_new_tokens=int(params.get("max_tokens") or 256), do_sample=temperature > 0,
                       temperature=temperature if temperature > 0 else 1.0, top_p=float(params.get("top_p") or 1.0),
                       num_return_sequences=n, stop=params.get("stop"), progress=False)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths share a batch
        size = self.config.batch_size
        for start in range(0, len(order), size):
            batch = order[start:start + size]
            outs = generate(model, tokenizer, [texts[i] for i in batch], batch_size=size, **options)
            self.stats.add(sent=len(batch))
            for k, i in enumerate(batch):
                yield i, [_completion(o, first=j == 0) for j, o in enumerate(outs[k * n:(k + 1) * n])]


def _completion(out: Any, first: bool) -> Completion:
    usage = None
    if first:
        usage = {"prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
                 "total_tokens": out.prompt_tokens + out.completion_tokens}
    return Completion(out.text, out.finish_reason, usage)


def _fingerprint(path: str) -> str:
    """A local folder as its absolute path plus the size and mtime of its files (a retrained adapter is new);
    a hub id as itself."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return str(path)
    stats = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in folder.iterdir() if p.is_file())
    return f"{os.path.abspath(folder)}:{stats}"
