"""Documents in, a grounded knowledge graph out.

    python -m core.extract --help
    python -m core.extract --input examples/corpus/en --schema examples/corpus/en/schema.json --output out/extract_en --base_url http://127.0.0.1:8000/v1
    kgllm extract --input examples/corpus/zh --schema examples/corpus/zh/schema.json --output out/extract_zh --backend hf --base_model PATH --passes 2

Reads every document (.txt .md .json .jsonl .html .pdf; a folder recursively), cuts it into sentence-aware chunks
under --chunk_tokens with --overlap_tokens, asks the model per (chunk, schema batch, pass) through the task of
--task, grounds every head and tail to character offsets in its document, checks it against the schema, resolves
entities and builds the graph (core.kg), every edge with its evidence. Rerunning the same command asks nothing that
is already answered (raw.jsonl); files and the report: see core/extract/run.py and README "From documents".
"""

from __future__ import annotations

import sys
from typing import Any

LLM_EXCLUDE = ("api_key",)  # the key comes from OPENAI_API_KEY only


def _flags() -> list:
    from core.extract.config import ExtractConfig
    from core.flags import flags_of
    from core.llm import LLMConfig

    return [*flags_of(ExtractConfig), *flags_of(LLMConfig, exclude=LLM_EXCLUDE)]


def main(**values: Any) -> dict:
    import dataclasses

    from core.extract.config import ExtractConfig
    from core.extract.run import run
    from core.llm import LLMConfig

    own = {f.name for f in dataclasses.fields(ExtractConfig)}
    config = ExtractConfig(**{k: v for k, v in values.items() if k in own})
    config.check_required()
    llm = LLMConfig.from_flags(**{k: v for k, v in values.items() if k not in own})
    return run(config, llm=llm)


def cli(argv: list[str] | None = None) -> Any:
    from core.flags import run as run_flags

    argv = list(sys.argv[1:] if argv is None else argv)
    prog = "kgllm extract" if sys.argv and sys.argv[0].startswith("kgllm") else "python -m core.extract"
    return run_flags(main, _flags(), argv, prog=prog, doc=__doc__)


if __name__ == "__main__":
    cli()
