"""kgllm core: shared library for building knowledge graphs from text with LLMs (knows nothing about any case)."""

__version__ = "0.1.0"

import logging as _logging

# bitsandbytes logs a WARNING on every import on CPU-only machines ("Failed to load CPU gemm_4bit_forward from
# kernels-community"): harmless (STACK.md), but it cluttered every run; real bitsandbytes errors still surface.
_logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(_logging.ERROR)
