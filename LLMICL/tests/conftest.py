"""Fixtures of LLMICL's tests: the case's modules loaded by path, a dummy API key, helpers for the loopback server."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.modload import load_module

CASE = Path(__file__).resolve().parents[1]
ROOT = CASE.parent
SECRET = "sk-llmicl-DUMMY-0123456789-never-written"


@pytest.fixture(scope="session")
def run_script():
    return load_module(CASE / "run.py", "llmicl_run")


@pytest.fixture(scope="session")
def m(run_script):
    """The case's package (m.icl, m.config, m.runner) and the core modules its tasks live in (m.answers: the answer
    readers and the parse envelope, m.prompt, m.da, m.rte, m.re_task, m.metrics)."""
    import core.metrics
    import core.parsing.answers
    import core.prompts
    import core.records
    from core.tasks import da, re, rte

    icl = run_script.load_icl()
    answers = SimpleNamespace(**vars(core.parsing.answers), Parsed=core.records.Parsed)
    return SimpleNamespace(icl=icl, answers=answers, prompt=core.prompts, da=da, rte=rte, re_task=re,
                           metrics=core.metrics,
                           **{n: importlib.import_module(f"{run_script.PACKAGE}.{n}") for n in ("config", "runner")})


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A dummy OPENAI_API_KEY and a cache inside tmp_path, so every file a run writes can be searched for the key."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("KGLLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return tmp_path


def assert_secret_nowhere(folder: Path, secret: str = SECRET) -> int:
    """No file under `folder` contains the key; returns how many files were searched."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    for path in files:
        assert secret.encode() not in path.read_bytes(), f"the API key was written to {path}"
    return len(files)


def query_block(body: dict) -> str:
    """The last blank-line separated block of a request's prompt: the record being asked about."""
    from core.testing.fake_openai import FakeOpenAI

    return FakeOpenAI.prompt_of(body).rstrip().rsplit("\n\n", 1)[-1]


def by_query(answers: dict[str, object]):
    """A responder answering by which key text occurs in the query block."""

    def responder(body: dict):
        block = query_block(body)
        hits = [answer for key, answer in answers.items() if key in block]
        assert len(hits) == 1, f"no single scripted answer for {block!r}"
        return hits[0]

    return responder


def run_cli(*args: str, env_extra: dict | None = None, cwd: Path = ROOT, script: str = "run.py"):
    env = dict(os.environ, HF_HUB_OFFLINE="1", **(env_extra or {}))
    return subprocess.run([sys.executable, str(CASE / script), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="session")
def h():
    """Helpers: h.SECRET, h.assert_secret_nowhere, h.query_block, h.by_query, h.run_cli, h.CASE, h.ROOT."""
    return SimpleNamespace(SECRET=SECRET, assert_secret_nowhere=assert_secret_nowhere, query_block=query_block,
                           by_query=by_query, run_cli=run_cli, CASE=CASE, ROOT=ROOT)
