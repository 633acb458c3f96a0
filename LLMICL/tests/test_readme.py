"""Both READMEs list every key, and every run.py / preprocess.py command in them uses only keys that exist."""

from __future__ import annotations

import re
import shlex

import pytest

READMES = ("README.md", "README_CN.md")


def commands(h, name):
    text = (h.CASE / name).read_text(encoding="utf-8")
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.strip().splitlines():
            words = shlex.split(line)
            if words[:2] in (["python", "LLMICL/run.py"], ["python", "LLMICL/preprocess.py"]):
                yield words[2:]


@pytest.mark.parametrize("name", READMES)
def test_readme_key_table_lists_every_key(h, m, name):
    text = (h.CASE / name).read_text(encoding="utf-8")
    table = {row.split("|")[1].strip().strip("`") for row in text.splitlines() if row.startswith("| `")}
    assert set(m.config.KEYS) <= table


@pytest.mark.parametrize("name", READMES)
def test_readme_commands_use_only_known_keys(h, m, name):
    found = list(commands(h, name))
    assert len(found) >= 8
    tasks = set()
    for argv in found:
        settings = m.config.load_settings(argv)
        tasks.add(settings.task)
    assert tasks == {"ner", "re", "ee", "rte", "da"}
