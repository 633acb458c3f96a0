"""ExtractConfig: what `kgllm extract` does, one dataclass, every field with its help text (the CLI is built from it).

    python -c "from core.extract.config import ExtractConfig; print(ExtractConfig(input=['docs'], schema='s.json', output='out'))"
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import UserError
from core.extract.grounding import FUZZY_THRESHOLD

LANGUAGES = ("auto", "en", "cn")


@dataclass
class ExtractConfig:
    input: list[str] = field(default_factory=list, metadata={
        "help": "documents: files (.txt .md .json .jsonl .html .pdf) or folders (read recursively); repeat the flag "
                "or separate with commas"})
    schema: str | None = field(default=None, metadata={
        "help": "schema JSON: entity/relation types, descriptions, (head type, relation, tail type) patterns; "
                "a CCKS2023 relation list or an IEPile schema file also works"})
    output: str | None = field(default=None, metadata={
        "help": "output folder: chunks.jsonl, raw.jsonl, extractions.jsonl, mentions.jsonl, graph.jsonl, "
                "graph.html, report.json"})
    task: str = field(default="kg", metadata={
        "help": "kg (schema-guided, default) | rte (LLMICL's triple prompt) | ccks (InstructKGC instruction format, "
                "for a fine-tuned adapter) | any task with document_prompt (CodeKGC's code)"})
    language: str = field(default="auto", metadata={
        "help": "prompt language: en | cn | auto (per document: cn when a fifth of its letters are CJK)"})
    chunk_tokens: int = field(default=1200, metadata={"help": "token budget of a chunk's text (whole sentences)"})
    overlap_tokens: int = field(default=100, metadata={
        "help": "tokens of a chunk's last sentences that start the next one (0: no overlap)"})
    tokenizer: str | None = field(default=None, metadata={
        "help": "count tokens with this local model's tokenizer (default: --base_model with --backend hf, else "
                "the estimate: 1 token per CJK character + 1 per 4 other characters)"})
    schema_batch: int = field(default=10, metadata={
        "help": "relation types asked about per request; a larger schema is asked in batches (IEPile's split_num "
                "rule: a remainder under half a batch joins the last one; 0: all at once)"})
    passes: int = field(default=1, metadata={
        "help": "gleaning: ask again up to this many passes for missed facts; a chunk stops when a pass adds none"})
    max_tokens: int = field(default=512, metadata={"help": "longest answer, in tokens"})
    temperature: float = field(default=0.0, metadata={"help": "sampling temperature"})
    fuzzy_threshold: float = field(default=FUZZY_THRESHOLD, metadata={
        "help": "grounding: lowest rapidfuzz partial-ratio score (0-100) of a fuzzy match"})
    keep_ungrounded: bool = field(default=False, metadata={"help": "put facts with an ungrounded mention in the graph"})
    keep_invalid: bool = field(default=False, metadata={"help": "put facts outside the schema in the graph"})
    no_resolve: bool = field(default=False, metadata={
        "help": "skip entity resolution (core.extract.resolve) between grounding and the graph"})
    decisions: str | None = field(default=None, metadata={"help": "entity-resolution decisions file for the resolver"})
    formats: str = field(default="html", metadata={
        "help": "graph exports besides graph.jsonl, comma-separated (core.kg formats: csv cypher ttl nt graphml html; "
                "'' for none)"})
    text_field: str = field(default="text", metadata={"help": ".json/.jsonl inputs: the field holding the text"})

    def __post_init__(self) -> None:
        if isinstance(self.input, str):
            self.input = [p.strip() for p in self.input.split(",") if p.strip()]
        self.input = [str(p) for p in self.input]
        if self.language not in LANGUAGES:
            raise UserError(f"--language must be one of {', '.join(LANGUAGES)}, got {self.language!r}")
        for name, low in (("chunk_tokens", 1), ("overlap_tokens", 0), ("schema_batch", 0), ("passes", 1),
                          ("max_tokens", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UserError(f"--{name} must be a whole number >= {low}, got {value!r}")
        if self.overlap_tokens >= self.chunk_tokens:
            raise UserError(f"--overlap_tokens ({self.overlap_tokens}) must be below --chunk_tokens "
                            f"({self.chunk_tokens})")
        if not 0 <= float(self.fuzzy_threshold) <= 100:
            raise UserError(f"--fuzzy_threshold must be in [0, 100], got {self.fuzzy_threshold!r}")

    def check_required(self) -> None:
        missing = [name for name in ("input", "schema", "output") if not getattr(self, name)]
        if missing:
            raise UserError("required: " + ", ".join(f"--{m}" for m in missing))
