"""Show the prompts a run would send, without a model: checks the few-shot and input files on the way.

    python LLMICL/preprocess.py task=ner language=en zero_shot=False k=2 text_input="Japan beat Syria in the Asian Cup."

Takes the same settings as run.py (key=value or --key value, defaults from LLMICL/conf/run.yaml) and prints each
prompt; with input_file, one per record. `prepare_examples(data_path, task, language)` is DeepKE's 2023 function: the
demos of <data_path>/<task>_<language>.json, checked ('ch' is read as cn).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run_module():
    from core.modload import load_module

    module = load_module(HERE / "run.py", "llmicl_run")
    module.load_icl()
    return module


def prepare_examples(data_path: str | None, task: str, language: str) -> list[dict]:
    """DeepKE's 2023 helper: every demo of the task's few-shot file, checked, bookkeeping keys removed."""
    from core.io import strip_private

    run = _run_module()
    icl = sys.modules[run.PACKAGE]
    config = importlib.import_module(f"{run.PACKAGE}.config")
    lang = config.LANGUAGE_ALIASES.get(str(language).lower(), str(language))
    found = icl.get_task(task)
    runner = importlib.import_module(f"{run.PACKAGE}.runner")
    return [strip_private(d) for d in found.read(found.demo_path(data_path or runner.DATA, lang))]


def main(argv: list[str] | None = None) -> list[str]:
    argv = sys.argv[1:] if argv is None else list(argv)
    run = _run_module()
    config = importlib.import_module(f"{run.PACKAGE}.config")
    runner = importlib.import_module(f"{run.PACKAGE}.runner")
    if "-h" in argv or "--help" in argv:
        print(__doc__.strip() + "\n\n" + config.help_text())
        return []
    settings = config.load_settings(argv)
    prompts = runner.prompts(settings)
    for rec_id, prompt in prompts:
        print(f"===== {rec_id}\n{prompt}\n")
    return [p for _, p in prompts]


if __name__ == "__main__":
    from core.errors import guard

    guard(main)()
