"""The export registry: one name per format, each writer registered beside its code in `export_*.py`.

    python -c "from core.kg.exporters import formats; print(formats())"
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.registry import Registry

ORDER = ("jsonl", "csv", "cypher", "ttl", "nt", "graphml", "html")
_MODULES = ("export_jsonl", "export_csv", "export_cypher", "export_rdf", "export_graphml", "export_html")


@dataclass(frozen=True)
class Exporter:
    name: str
    write: Callable[..., Any]  # write(graph, out_path, **opts) -> Path (a file, or a folder for csv)
    suffix: str  # "" for a folder
    help: str


EXPORTERS: Registry = Registry("export format")
_loaded = False


def register_exporter(name: str, write: Callable[..., Any], suffix: str, help: str) -> None:
    """Add a format; refuses a name already registered."""
    EXPORTERS.add(name, Exporter(name, write, suffix, help))


def _load() -> None:
    global _loaded
    if not _loaded:
        for mod in _MODULES:
            importlib.import_module(f"core.kg.{mod}")
        _loaded = True


def formats() -> list[str]:
    """Registered format names: the built-in ones in a fixed order, then any added later."""
    _load()
    order = {name: i for i, name in enumerate(ORDER)}
    return sorted(EXPORTERS, key=lambda name: order.get(name, len(order)))


def get_exporter(fmt: str) -> Exporter:
    _load()
    if fmt not in EXPORTERS:
        raise UserError(f"--format must be one of {', '.join(EXPORTERS)}, got {fmt!r}")
    return EXPORTERS[fmt]


def export(graph: Any, fmt: str, out_path: str | os.PathLike, **opts: Any) -> Path:
    """Write `graph` in format `fmt` to `out_path` (a folder for csv); returns the path written."""
    exporter = get_exporter(fmt)
    out_path = Path(out_path)
    if exporter.suffix and out_path.is_dir():
        raise UserError(f"--output {out_path} is a folder; --format {fmt} writes a file")
    if not exporter.suffix and out_path.exists() and not out_path.is_dir():
        raise UserError(f"--output {out_path} is a file; --format {fmt} writes a folder")
    return Path(exporter.write(graph, out_path, **opts))

