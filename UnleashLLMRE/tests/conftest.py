"""Fixtures of the UnleashLLMRE tests: the case's modules imported by path (never via a global sys.path entry)."""

from pathlib import Path

import pytest

from core.modload import load_module

CASE = Path(__file__).resolve().parents[1]


def load_case_module(name: str):
    """UnleashLLMRE/<name>.py as module `unleashllmre_<name>` (case folders may share module names)."""
    return load_module(CASE / f"{name}.py", f"unleashllmre_{name}")


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
