"""In-context-learning extraction with any LLM: NER, RE, events, triples, and data augmentation, English and Chinese.

    python LLMICL/run.py --help
    python LLMICL/run.py task=ner language=en text_input="Japan beat Syria in the Asian Cup." base_url=http://127.0.0.1:8000/v1
    python LLMICL/run.py --task rte --language cn --zero_shot False --k 2 --input_file LLMICL/data/rte_cn_input.jsonl --output_file out/llmicl/rte_cn.jsonl

Settings are DeepKE's 2023 keys (task, language, engine, text_input, instruction, zero_shot, data_path, domain, labels,
head_entity, head_type, tail_entity, tail_type, api_key) plus ours, given as key=value (DeepKE's 2023 Hydra style) or
--key value; defaults come from LLMICL/conf/run.yaml. The API key is read from OPENAI_API_KEY.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
PACKAGE = "llmicl_icl"  # LLMICL/icl loaded under a name no other case uses; no folder goes on sys.path


def load_icl() -> ModuleType:
    """The LLMICL/icl package (tasks, prompts, parsers, scorers, runner)."""
    from core.modload import load_module

    return load_module(HERE / "icl", PACKAGE)


def main(argv: list[str] | None = None) -> dict:
    """Run with command-line style settings; returns the metrics ({} when nothing was scored)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    load_icl()
    config = importlib.import_module(f"{PACKAGE}.config")
    if "-h" in argv or "--help" in argv:
        print(__doc__.strip() + "\n\n" + config.help_text())
        return {}
    runner = importlib.import_module(f"{PACKAGE}.runner")
    return runner.run(config.load_settings(argv))


if __name__ == "__main__":
    from core.errors import guard

    guard(main)()
