"""Local Hugging Face backend: a base model (+ LoRA / P-Tuning adapter) on this machine, batched by core.generate.

    python -c "from core.toy import build; from core.llm import LLMConfig, create_backend; b = create_backend(LLMConfig(backend='hf', base_model=str(build('llama')), no_cache=True)); print(b.complete(['Hello'], max_tokens=5))"

The model, tokenizer and template come from `core.loader.load_for_inference` (the one template rule: the adapter's
recorded template, else the tokenizer's chat template, else alpaca). Prompts, like the OpenAI backend's two
endpoints: in chat mode every prompt is rendered as chat messages with that template (a str becomes one user
message); otherwise the prompt text goes to the model verbatim (messages joined by blank lines). `--chat` picks; by
default (auto) chat mode is on when the template is one the model knows: the adapter's, an explicit
--prompt_template_name, or the tokenizer's own chat template (the same rule core.serve's /v1/models reports).

The prompts of one call are sorted by token length, longest first, and generated `batch_size` at a time. Under
`torchrun --nproc_per_node=N` the batches are shared between the processes (core.llm.shards): rank 0 runs
`run_prompts`, the others call `follow()`. The model loads on first use, so a rerun answered from the cache never
loads it. Temperature 0 is greedy; `seed` seeds sampling; other API-only parameters are ignored.

`--decoding json|schema`: each prompt's answer spec (core.llm.base: `answer_specs`) becomes a core.decoding
Constraint (`core.decoding.spec.local_plan`, the rule core.serve uses too) that core.generate enforces token by token;
every Completion records the mode that produced it (`decoding`) and, for a prompt asked free in schema mode because
it has no spec, why (`fallback`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.llm.base import SPECS, Backend, Completion, Prompt, messages_of, text_of
from core.llm.config import LLMConfig
from core.llm.shards import STOP, Shards


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
        self._loaded: Any = None  # core.loader.Loaded
        self._tokenizer_chat: bool | None = None
        self._lock = threading.Lock()
        self.shards = Shards.from_env()

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
    def follower(self) -> bool:
        """True on ranks > 0 under torchrun: call `follow()` instead of sending prompts."""
        return self.shards is not None and not self.shards.leader

    @property
    def chat(self) -> bool:
        if self.config.chat is not None:
            return self.config.chat
        if self.config.lora_weights or self.config.prompt_template_name:
            return True
        if self._loaded is not None:
            return self._loaded.knows_template
        if self._tokenizer_chat is None:  # the tokenizer alone says it; the weights need not load
            from core.loader import has_chat_template
            from core.models import load_tokenizer

            self._tokenizer_chat = has_chat_template(load_tokenizer(self.base))
        return self._tokenizer_chat

    @property
    def endpoint(self) -> str:
        return "chat" if self.chat else "completions"

    def identity(self) -> dict:
        c = self.config
        return {"backend": self.name, "base_model": _fingerprint(self.base), "bits": c.bits, "dtype": c.dtype,
                "chat": c.chat, "adapter": _fingerprint(c.lora_weights) if c.lora_weights else None,
                "template": c.prompt_template_name or self._meta.get("template")}

    def _plans(self, count: int, params: dict) -> list[tuple[Any, str | None, str | None]]:
        """Per prompt: (Constraint or None, the mode recorded on its answers, why not the mode asked for)."""
        if self.decoding == "free":
            return [(None, None, None)] * count
        from core.decoding.spec import local_plan

        specs = params.get(SPECS) or [None] * count
        return [local_plan(self.decoding, spec) for spec in specs]

    def describe(self) -> str:
        mode = f"chat, template {self._template_name()}" if self.chat else "raw text"
        bits = f", {self.config.bits}-bit" if self.config.bits else ""
        shards = f", {self.shards.size} processes" if self.shards else ""
        decoding = f", decoding {self.decoding}" if self.decoding != "free" else ""
        return f"hf:{self.model} ({mode}, batch {self.config.batch_size}{bits}{shards}{decoding})"

    def _template_name(self) -> str:
        if self._loaded is not None:
            return self._loaded.template.name
        return self.config.prompt_template_name or self._meta.get("template") or "auto"

    def load(self) -> tuple[Any, Any, Any]:
        """(model, tokenizer, template), loaded once (core.loader.load_for_inference)."""
        with self._lock:
            if self._loaded is None:
                from core.loader import load_for_inference

                c = self.config
                self._loaded = load_for_inference(c.base_model, c.lora_weights, c.prompt_template_name,
                                                  c.force_template, bits=c.bits, dtype=c.dtype)
            return self._loaded.model, self._loaded.tokenizer, self._loaded.template

    @property
    def template(self) -> Any:
        return self.load()[2]

    def render(self, prompt: Prompt) -> str:
        """The text the model sees for one prompt."""
        if not self.chat:
            return text_of(prompt)
        _, tokenizer, template = self.load()
        return template.render_messages(messages_of(prompt), tokenizer)

    def _generate(self, prompts: Sequence[Prompt], params: dict) -> Iterator[tuple[int, list[Completion]]]:
        if self.follower:
            raise UserError("under torchrun only rank 0 sends prompts; the other ranks call backend.follow()")
        texts = [self.render(p) for p in prompts]
        if self.shards is not None:
            self.shards.broadcast(("run", texts, params))
        yield from self._rounds(texts, params)

    def follow(self) -> None:
        """Ranks > 0 under torchrun: answer rank 0's share of batches until rank 0 closes its backend."""
        if not self.follower:
            return
        while True:
            message = self.shards.broadcast()
            if tuple(message[:1]) == STOP:
                return
            _, texts, params = message
            for _ in self._rounds(texts, params):
                pass

    def _rounds(self, texts: list[str], params: dict) -> Iterator[tuple[int, list[Completion]]]:
        """Length-sorted batches; with shards, round r runs batch r*world + rank on each rank and rank 0 gets all."""
        from core.generate import generate

        model, tokenizer, _ = self.load()
        n = int(params.get("n", 1))
        temperature = float(params.get("temperature") or 0.0)
        if params.get("seed") is not None:
            import torch

            torch.manual_seed(int(params["seed"]))
        options = dict(max_new_tokens=int(params.get("max_tokens") or 256), do_sample=temperature > 0,
                       temperature=temperature if temperature > 0 else 1.0, top_p=float(params.get("top_p") or 1.0),
                       num_return_sequences=n, stop=params.get("stop"), progress=False)
        plans = self._plans(len(texts), params)
        constrained = any(c is not None for c, _, _ in plans)
        lengths = [len(ids) for ids in tokenizer(texts)["input_ids"]] if texts else []
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])  # similar lengths share a batch
        size = self.config.batch_size
        batches = [order[start:start + size] for start in range(0, len(order), size)]
        rank, world = (self.shards.rank, self.shards.size) if self.shards else (0, 1)
        for start in range(0, len(batches), world):
            mine = batches[start + rank] if start + rank < len(batches) else []
            done = []
            if mine:
                bound = [plans[i][0] for i in mine] if constrained else None
                outs = generate(model, tokenizer, [texts[i] for i in mine], batch_size=size, constraints=bound,
                                **options)
                done = [(i, [_completion(o, j == 0, *plans[i][1:]) for j, o in enumerate(outs[k * n:(k + 1) * n])])
                        for k, i in enumerate(mine)]
            if world > 1:
                parts = self.shards.gather(done)
                if parts is None:  # a follower counts what it generated; rank 0 counts every answer
                    self.stats.add(sent=len(done))
                    continue
                done = [item for part in parts for item in part]
            self.stats.add(sent=len(done))
            yield from done

    def close(self) -> None:
        if self.shards is not None:
            if self.shards.leader:
                self.shards.broadcast(STOP)  # the followers leave follow()
            self.shards.close()
            self.shards = None
        super().close()


def _completion(out: Any, first: bool, decoding: str | None = None, fallback: str | None = None) -> Completion:
    usage = None
    if first:
        usage = {"prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
                 "total_tokens": out.prompt_tokens + out.completion_tokens}
    return Completion(out.text, out.finish_reason, usage, decoding=decoding, fallback=fallback)


def _fingerprint(path: str) -> str:
    """A local folder as its absolute path plus the size and mtime of its files (a retrained adapter is new);
    a hub id as itself."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return str(path)
    stats = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in folder.iterdir() if p.is_file())
    return f"{os.path.abspath(folder)}:{stats}"
