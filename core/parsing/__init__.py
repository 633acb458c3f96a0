"""Tolerant readers of model answers; none of them ever evaluates model text.

- `core.parsing.answers`: JSON answers (clean, fenced, cut out of prose, or repaired with json-repair) and the small
  helpers every task parser uses;
- `core.parsing.ccks`: the CCKS2023 `(head,relation,tail)` text format (CCKS-only);
  `core.parsing.ccks_instruction`: the relation list read out of a CCKS instruction;
- `core.parsing.pysyntax`: `ast.parse` behind one lock (CPython 3.11/3.12 trip over two threads building trees).

Every task parser returns the one parse envelope, `core.records.Parsed`.
"""
