"""Import a case's own module or package by file path, under a private name.

    python -c "from core.modload import load_module; print(load_module('CodeKGC/codeparse.py', '_codekgc_codeparse'))"

Cases may share module names (two `convert.py`s, say), so a case folder never goes on `sys.path`; each case loads its
siblings through this one function instead. A module that fails to import is not left half-registered.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType


def load_module(path: str | os.PathLike, name: str) -> ModuleType:
    """The module at `path` (a .py file, or a package folder) as `sys.modules[name]`, imported once."""
    if name in sys.modules:
        return sys.modules[name]
    path = Path(path).resolve()
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(name, path / "__init__.py",
                                                      submodule_search_locations=[str(path)])
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
