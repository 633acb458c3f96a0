"""Fixtures of the UnleashLLMRE tests: the case's modules imported by path (never via a global sys.path entry)."""

import importlib.util
import sys
from pathlib import Path

import pytest

CASE = Path(__file__).resolve().parents[1]


def load_case_module(name: str):
    """UnleashLLMRE/<name>.py as module `unleashllmre_<name>` (case folders may share module names)."""
    key = f"unleashllmre_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, CASE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


@pytest.fixture(scope="session")
def re_data():
    return load_case_module("re_data")


@pytest.fixture(scope="session")
def re_prompts():
    return load_case_module("re_prompts")


@pytest.fixture(scope="session")
def re_metrics():
    return load_case_module("re_metrics")


@pytest.fixture(scope="session")
def re_da():
    return load_case_module("re_da")
