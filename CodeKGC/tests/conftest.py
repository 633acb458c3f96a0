"""Fixtures for the CodeKGC tests: the seed's schema prompt read by core's `code` task."""

from pathlib import Path

import pytest

from core.tasks.code_schema import load_schema

CASE = Path(__file__).resolve().parents[1]
SCRIPT = CASE / "codekgc.py"


@pytest.fixture(scope="session")
def conll_schema():
    return load_schema(CASE / "data" / "schema_prompt")
