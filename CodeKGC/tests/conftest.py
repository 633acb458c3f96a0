"""Fixtures for the CodeKGC tests: the case's modules imported by path (the case folder never goes on sys.path)."""

from pathlib import Path

import pytest

from core.modload import load_module

CASE = Path(__file__).resolve().parents[1]
SCRIPT = CASE / "codekgc.py"


def load(name: str):
    """CodeKGC/<name>.py as a module, under the same private name codekgc.py gives it."""
    return load_module(CASE / f"{name}.py", f"_codekgc_{name}")


@pytest.fixture(scope="session")
def codeparse():
    return load("codeparse")


@pytest.fixture(scope="session")
def codeprompt():
    return load("codeprompt")


@pytest.fixture(scope="session")
def codescore():
    return load("codescore")


@pytest.fixture(scope="session")
def conll_schema(codeprompt):
    return codeprompt.load_schema(CASE / "data" / "schema_prompt")
