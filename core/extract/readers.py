"""Documents from files: .txt .md .json .jsonl .html .htm .pdf, one small registry of readers by file suffix.

    python -c "from core.extract.readers import read_inputs; docs, bad = read_inputs(['examples/corpus/en']); print([d.id for d in docs], bad)"

A folder is read recursively (files with a known suffix, in sorted order). A document's id is its path relative to
the folder given (a file given by itself: its name); a JSON/JSONL record adds `#<its id>` (the record's `id` field,
else its line). `.json`/`.jsonl`: records with a text field (`text`, or `--text_field`), ids kept; `.html`: the
visible text (beautifulsoup4; scripts, styles and templates left out); `.pdf`: the text layer (pypdf; a scanned page
without one gives no text). A file that cannot be read is reported by `read_inputs` as (file, reason), one line on
stderr, and the others go on. To add a format: `register_reader(".ext", read)` with `read(path) -> str`, or
`read(path, text_field) -> list[(record id, text)]` registered with `records=True`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UserError
from core.io import DataError, iter_records
from core.registry import Registry


@dataclass
class Document:
    id: str
    text: str
    source: str  # the file it came from
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Reader:
    read: Callable
    records: bool  # True: read(path, text_field) -> [(record id, text)]; False: read(path) -> text


READERS: Registry = Registry("document reader for")


def register_reader(suffix: str, read: Callable, records: bool = False) -> None:
    READERS.add(suffix.lower(), Reader(read, records))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _read_records(path: Path, text_field: str = "text") -> list[tuple[str, str]]:
    out = []
    for line, rec in iter_records(path, allow_single=True):
        if not isinstance(rec, dict):
            raise DataError(path, line, f"expected a JSON object, got {type(rec).__name__}")
        text = rec.get(text_field)
        if not isinstance(text, str):
            raise DataError(path, line, "missing" if text is None else "expected a string", field=text_field)
        rec_id = rec.get("id", line)
        if isinstance(rec_id, bool) or not isinstance(rec_id, (str, int)):
            raise DataError(path, line, "expected a string or an integer", field="id")
        out.append((str(rec_id), text))
    return out


def _read_html(path: Path) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(["script", "style", "template", "noscript", "head"]):
        tag.decompose()
    blocks = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "br", "section", "article", "blockquote")
    for tag in soup.find_all(blocks):
        tag.insert_after("\n\n")  # block elements end a paragraph, so sentences never run across them
    lines = [" ".join(line.split()) for line in soup.get_text().split("\n")]
    return _join_paragraphs(lines)


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pages = [page.extract_text() or "" for page in PdfReader(str(path)).pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DataError(path, None, f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _join_paragraphs(lines: list[str]) -> str:
    out, blank = [], False
    for line in lines:
        if line:
            if blank and out:
                out.append("")
            out.append(line)
            blank = False
        else:
            blank = True
    return "\n".join(out)


register_reader(".txt", _read_text)
register_reader(".md", _read_text)
register_reader(".html", _read_html)
register_reader(".htm", _read_html)
register_reader(".pdf", _read_pdf)
register_reader(".jsonl", _read_records, records=True)
register_reader(".json", _read_records, records=True)


def input_files(inputs: Iterable[str | os.PathLike]) -> list[tuple[Path, str]]:
    """(file, document id) of every input: folders recursively (known suffixes only), files as given."""
    out: list[tuple[Path, str]] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            for f in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in READERS):
                out.append((f, f.relative_to(path).as_posix()))
        elif path.exists() or not str(given).strip():
            out.append((path, path.name))
        else:
            raise UserError(f"--input {given}: no such file or folder")
    return out


def read_inputs(inputs: Iterable[str | os.PathLike], text_field: str = "text",
                quiet: bool = False) -> tuple[list[Document], list[dict]]:
    """(documents, unreadable files as {"file", "error"}): every readable file goes on; an id is taken once."""
    docs, failed, seen = [], [], set()
    for path, doc_id in input_files(inputs):
        try:
            reader = READERS.get(path.suffix.lower())
            if reader is None:
                raise DataError(path, None, f"unknown file type {path.suffix or '(none)'!r}; known: "
                                + ", ".join(sorted(READERS)))
            if reader.records:
                parts = [(f"{doc_id}#{rid}", text) for rid, text in reader.read(path, text_field)]
            else:
                parts = [(doc_id, reader.read(path))]
        except (UserError, OSError) as exc:
            message = str(exc) if isinstance(exc, DataError) else f"{path.name}: {exc}"
            failed.append({"file": str(path), "error": message})
            if not quiet:
                print(f"skipped {message}", file=sys.stderr)
            continue
        for pid, text in parts:
            if pid in seen:
                raise UserError(f"document id {pid!r} is given twice ({path}); give each file once")
            seen.add(pid)
            docs.append(Document(pid, text, str(path)))
    return docs, failed
