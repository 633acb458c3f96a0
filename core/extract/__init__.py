"""Documents in, a grounded knowledge graph out: readers, chunking, extraction with gleaning, grounding, resolution.

    python -m core.extract --input examples/corpus/en --schema examples/corpus/en/schema.json --output out/extract_en --base_url http://127.0.0.1:8000/v1

Python, the same run::

    from core.extract import extract
    report = extract(["examples/corpus/en"], "examples/corpus/en/schema.json", "out/extract_en",
                     base_url="http://127.0.0.1:8000/v1", passes=2)      # any ExtractConfig or LLMConfig field

Modules: readers (files -> documents), chunking (sentences, token budget, overlap), extractors (the task's prompt and
parser per chunk, schema batch and pass), grounding (character offsets: exact, normalised, fuzzy), mentions (schema
checks, flags, de-duplication), graph (entity resolution by core.extract.resolve, then core.kg), run (the whole run
and its report), config (every setting with its help), resolve* (entity resolution).
"""

from __future__ import annotations

from typing import Any


def extract(input: Any = None, schema: Any = None, output: Any = None, *, backend: Any = None, quiet: bool = False,
            **options: Any) -> dict:
    """Run `kgllm extract` from Python; returns the run report. `options`: fields of ExtractConfig and of
    core.llm.LLMConfig; `backend`: a core.llm backend to use instead of making one (the caller closes it), or the
    name of one (`"hf"`, `"openai"`: LLMConfig's `backend`, as on the command line)."""
    import dataclasses

    from core.errors import UserError
    from core.extract.config import ExtractConfig
    from core.extract.run import run
    from core.llm import LLMConfig

    if isinstance(backend, str):
        options, backend = {**options, "backend": backend}, None
    own = {f.name for f in dataclasses.fields(ExtractConfig)}
    llm_keys = {f.name for f in dataclasses.fields(LLMConfig)}
    unknown = sorted(set(options) - own - llm_keys)
    if unknown:
        raise UserError(f"extract: unknown setting(s) {', '.join(unknown)}")
    inputs = input if isinstance(input, str) else [str(input)] if hasattr(input, "__fspath__") else \
        [str(p) for p in input or []]
    config = ExtractConfig(input=inputs, schema=None if schema is None else str(schema),
                           output=None if output is None else str(output),
                           **{k: v for k, v in options.items() if k in own})
    llm = None if backend is not None else LLMConfig.from_flags(**{k: v for k, v in options.items() if k in llm_keys})
    return run(config, backend, llm, quiet=quiet)
