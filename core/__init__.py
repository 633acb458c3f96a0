"""kgllm core: shared library for building knowledge graphs from text with LLMs (knows nothing about any case)."""

__version__ = "0.1.0"
