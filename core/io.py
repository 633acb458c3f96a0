"""JSON / JSONL reading with file:line:field errors, atomic writes, and a resumable JSONL appender.

    python -c "from core.io import read_records; print(len(read_records('InstructKGC/data/train.json')))"

Whole folders (model caches) are built atomically under a file lock by core.atomic_build.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from core.errors import UserError

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "an object", bool: "a boolean"}


class DataError(UserError):
    """Bad input data: the message names file, line and (where known) field."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str, field: str | None = None):
        self.path, self.line, self.field = str(path), line, field
        where = Path(path).name if line is None else f"{Path(path).name}:{line}"
        what = f'field "{field}": {message}' if field else message
        super().__init__(f"{where}: {what}")


def _type_name(t: type | tuple[type, ...]) -> str:
    if isinstance(t, tuple):
        return " or ".join(_TYPE_NAMES.get(x, x.__name__) for x in t)
    return _TYPE_NAMES.get(t, t.__name__)


def check_fields(
    record: Any,
    path: str | os.PathLike,
    line: int | None,
    required: dict[str, type | tuple[type, ...]] | None = None,
    optional: dict[str, type | tuple[type, ...]] | None = None,
) -> dict:
    """Check that `record` is an object with the required fields of the given types; raise DataError otherwise."""
    if not isinstance(record, dict):
        raise DataError(path, line, f"expected a JSON object, got {type(record).__name__}")
    for name, typ in (required or {}).items():
        if name not in record or record[name] is None:
            raise DataError(path, line, "missing", field=name)
        if not _isinstance(record[name], typ):
            raise DataError(path, line, f"expected {_type_name(typ)}", field=name)
    for name, typ in (optional or {}).items():
        if record.get(name) is not None and not _isinstance(record[name], typ):
            raise DataError(path, line, f"expected {_type_name(typ)}", field=name)
    return record


def _isinstance(value: Any, typ: type | tuple[type, ...]) -> bool:
    types = typ if isinstance(typ, tuple) else (typ,)
    if isinstance(value, bool) and bool not in types:
        return False
    if float in types and isinstance(value, int):
        return True
    return isinstance(value, types)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise DataError(path, None, f"no such file: {path}")
    if path.is_dir():
        raise DataError(path, None, f"is a folder, expected a JSON or JSONL file: {path}")


def iter_records(path: str | os.PathLike, allow_single: bool = False) -> Iterator[tuple[int, Any]]:
    """Yield (line number, value) for each record of a JSONL file, a JSON array or (allow_single) one JSON object.

    The format is detected from the content: a file whose first value is `[` is a JSON array; a file holding exactly
    one JSON object spread over several lines is one record when `allow_single`; otherwise one JSON value per line.
    """
    path = Path(path)
    _check_exists(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from _iter_array(path, text)
        return
    if allow_single and stripped.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict) and len([ln for ln in text.split("\n") if ln.strip()]) > 1:
            yield 1 + text[: len(text) - len(stripped)].count("\n"), value
            return
    # split on "\n" only: str.splitlines() also breaks on U+2028/U+0085, which JSON strings may hold unescaped
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(path, lineno, f"not valid JSON ({exc.msg} at column {exc.colno})") from None


def _iter_array(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1

    def skip(p: int) -> int:
        while p < len(text) and text[p] in " \t\r\n":
            p += 1
        return p

    def lineno(p: int) -> int:
        return text.count("\n", 0, p) + 1

    pos = skip(pos)
    if pos < len(text) and text[pos] == "]":
        return
    while True:
        pos = skip(pos)
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(path, exc.lineno, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        yield lineno(pos), value
        pos = skip(end)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == "]":
            if text[skip(pos + 1):].strip():
                raise DataError(path, lineno(pos + 1), "unexpected text after the JSON array")
            return
        raise DataError(path, lineno(pos), "not valid JSON (expected ',' or ']' in array)")


def read_records(
    path: str | os.PathLike,
    required: dict[str, type | tuple[type, ...]] | None = None,
    optional: dict[str, type | tuple[type, ...]] | None = None,
    allow_single: bool = False,
) -> list[dict]:
    """Read a JSONL/JSON file into a list of objects, checking fields; each record gets its line in `__line__`."""
    out = []
    for line, rec in iter_records(path, allow_single=allow_single):
        check_fields(rec, path, line, required, optional)
        rec.setdefault("__line__", line)
        out.append(rec)
    return out


def read_json(path: str | os.PathLike) -> Any:
    """Read one JSON document with a file:line error on bad JSON."""
    path = Path(path)
    _check_exists(path)
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise DataError(path, exc.lineno, f"not valid JSON ({exc.msg} at column {exc.colno})") from None


def strip_private(record: dict) -> dict:
    """Drop bookkeeping keys (`__line__`) before a record is written out."""
    return {k: v for k, v in record.items() if not k.startswith("__")}


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[Any]:
    """Write to a temp file beside `path` and rename it into place only if the block finishes.

    An exception or Ctrl-C inside the block leaves the old file (or none), never half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the permissions open() would
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps(obj: Any) -> str:
    """One JSON line, non-ASCII kept readable."""
    return json.dumps(obj, ensure_ascii=False)


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    with atomic_write(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=indent)
        fh.write("\n")
    return Path(path)


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> Path:
    with atomic_write(path) as fh:
        for rec in records:
            fh.write(dumps(strip_private(rec)) + "\n")
    return Path(path)


class JsonlAppender:
    """Append records to a JSONL file, one flushed line each, remembering which ids are already there.

    On open it reads the existing file: complete lines give the done ids; a torn last line (a crash mid-write) is cut
    off. A rerun therefore skips what is done and writes nothing twice::

        with JsonlAppender("out.jsonl") as out:
            for rec in records:
                if rec["id"] in out:
                    continue
                out.append({"id": rec["id"], ...})
    """

    def __init__(self, path: str | os.PathLike, key: str = "id", fsync: bool = False):
        self.path, self.key, self.fsync = Path(path), key, fsync
        self.done: dict[Any, dict] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_and_load()
        self._fh = open(self.path, "a", encoding="utf-8")

    def _repair_and_load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good = data.rfind(b"\n") + 1 if not data.endswith(b"\n") else len(data)
        if good < len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(good)
            data = data[:good]
        for lineno, line in enumerate(data.decode("utf-8").split("\n"), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                raise DataError(self.path, lineno, "not valid JSON in the output being resumed") from None
            if isinstance(rec, dict) and self.key in rec:
                self.done[_hashable(rec[self.key])] = rec

    def __contains__(self, rec_id: Any) -> bool:
        return _hashable(rec_id) in self.done

    def __len__(self) -> int:
        return len(self.done)

    def append(self, record: dict) -> None:
        rec_id = _hashable(record[self.key])
        if rec_id in self.done:
            return
        self._fh.write(dumps(strip_private(record)) + "\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self.done[rec_id] = record

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def record_ids(records: list[dict], key: str = "id") -> list[Any]:
    """Ids of the records; records without one get their position, so every record can be resumed by id."""
    ids = []
    for i, rec in enumerate(records):
        if rec.get(key) is None:
            rec[key] = i
        ids.append(rec[key])
    return ids
