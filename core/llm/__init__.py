"""One LLM interface for every case: an OpenAI-compatible API or a local Hugging Face model (+ adapter).

    python -c "from core.llm import LLMConfig, backend_names; print(backend_names(), LLMConfig().backend)"

    cfg = LLMConfig(backend="openai", base_url="http://127.0.0.1:8000/v1")   # or backend="hf", base_model=...
    backend = create_backend(cfg)
    results = run_prompts(backend, [(0, "Extract triples: ..."), (1, [{"role": "user", "content": "..."}])],
                          raw_file="out/raw.jsonl", max_tokens=256)           # {id: [Completion, ...]}

Backends: `openai` (core.llm.openai_backend) and `hf` (core.llm.hf_backend, imported only when used, so importing
core.llm does not import torch). See docs/llm.md.
"""

from core.llm.base import Backend, Completion, Stats, backend_names, create_backend, register_backend
from core.llm.config import ConfigError, LLMConfig
from core.llm.runner import run_prompts


def _openai_factory(config: LLMConfig) -> Backend:
    from core.llm.openai_backend import OpenAIBackend

    return OpenAIBackend(config)


def _hf_factory(config: LLMConfig) -> Backend:
    from core.llm.hf_backend import HFBackend

    return HFBackend(config)


register_backend("openai", _openai_factory)
register_backend("hf", _hf_factory)

__all__ = ["Backend", "Completion", "ConfigError", "LLMConfig", "Stats", "backend_names", "create_backend",
           "register_backend", "run_prompts"]
