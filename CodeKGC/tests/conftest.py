"""Fixtures for the CodeKGC tests: the case's modules imported by path (the case folder never goes on sys.path)."""

import importlib.util
import sys
from pathlib import Path

import pytest

CASE = Path(__file__).resolve().parents[1]
SCRIPT = CASE / "codekgc.py"


def load(name: str):
    """CodeKGC/<name>.py as a module, under the same private name codekgc.py gives it."""
    mod_name = f"_codekgc_{name}"
    if mod_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(mod_name, CASE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
    return sys.modules[mod_name]


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
