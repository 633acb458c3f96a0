"""Cached folders built once and atomically: a file lock shared by builders, and the build-then-rename of a folder.

    python -c "from core.atomic_build import build_atomic; print(build_atomic(__import__('pathlib').Path('/tmp/c'), 'x', lambda p: p.exists(), lambda p: None))"

The toy models (core.toy), the converted real models (core.realmodels) and the test adapters (core.testing.adapters)
live in cache folders that several processes (parallel test workers, two demos) may ask for at the same moment.
`build_atomic` builds the folder in a temporary sibling under `file_lock` and renames it into place, so a reader sees
no folder or a whole one, never a half-built one, and a builder that crashed leaves only hidden leftovers that the next
one clears. (Single files are written atomically by core.io.atomic_write.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: Path):
    """Hold an exclusive lock on `path` (created if missing) for the block; shared by builders of cached folders."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, the atomic rename still keeps half-built folders out of sight
        yield
        return
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_atomic(cache: Path, name: str, is_done, build_into, force: bool = False) -> Path:
    """Make `<cache>/<name>` with `build_into(tmp_folder)` unless `is_done(folder)`: under a file lock, in a temporary
    folder renamed into place (an old folder is moved aside first), so no reader ever sees a half-built folder."""
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / name
    if not force and is_done(final):
        return final
    with file_lock(cache / f".{name}.lock"):
        if not force and is_done(final):  # another process finished it while we waited
            return final
        for stale in [*cache.glob(f".{name}-building-*"), *cache.glob(f".{name}-old-*")]:
            shutil.rmtree(stale, ignore_errors=True)  # left by a crashed builder (we hold the lock)
        tmp = Path(tempfile.mkdtemp(dir=cache, prefix=f".{name}-building-"))
        try:
            build_into(tmp)
            tmp.chmod(0o755)  # mkdtemp makes it private
            old = None
            if final.exists():
                old = Path(tempfile.mkdtemp(dir=cache, prefix=f".{name}-old-"))
                os.replace(final, old / name)
            os.replace(tmp, final)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final
