"""Shared pytest fixtures: offline hub, and toy models built once into a cache reused across runs."""

import os
import signal
from pathlib import Path

ROOT = Path(__file__).resolve().parent

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
# Toy models are overhead-bound: one thread per process is faster than two fighting over 2 cores, and subprocesses
# (CLI tests) inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Subprocesses (CLI tests) inherit this, so `core.toy.build()` finds the same cached toy models.
os.environ.setdefault("KGLLM_TOY_DIR", str(ROOT / ".cache" / "toy"))
# ... and the real small model converted once (core.realmodels), shared with nox
os.environ.setdefault("KGLLM_MODEL_DIR", str(ROOT / ".cache" / "models"))

# A suite started in the background by a non-interactive shell (`cmd &`) inherits SIGINT ignored: Python then installs
# no Ctrl-C handler, here or in the subprocesses it starts, and the Ctrl-C tests would wait for an exit that never
# comes. Handling it here makes every child start with the default again (exec resets handled signals, not ignored ones).
signal.signal(signal.SIGINT, signal.default_int_handler)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def toy_llama_path() -> Path:
    """Folder of the toy LLaMA (SentencePiece tokenizer), built once into $KGLLM_TOY_DIR (default .cache/toy)."""
    from core.toy import build

    return build("llama")


@pytest.fixture(scope="session")
def toy_glm_path() -> Path:
    """Folder of the toy native GLM (byte-level BPE tokenizer), built once into $KGLLM_TOY_DIR."""
    from core.toy import build

    return build("glm")


@pytest.fixture
def created_backends(monkeypatch):
    """The backends `core.llm.create_backend` makes while the test runs (each the real one), so a test of a case's
    command line can read the LLMConfig the case really used."""
    import core.llm

    made = []
    real = core.llm.create_backend

    def spy(config):
        made.append(real(config))
        return made[-1]

    monkeypatch.setattr(core.llm, "create_backend", spy)
    return made
