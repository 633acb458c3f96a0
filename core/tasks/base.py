"""What every task has: record checks, prompt variables, a parser to the parse envelope, a scorer; and the registry.

    python -c "from core.tasks import get_task; print(get_task('ner').name)"

Adding a task touches one place: a module with a Task subclass and one `register_task(...)` call, imported in
core/tasks/__init__.py, plus its prompt files core/prompts/<name>.<language>.v1.txt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import UserError
from core.io import DataError, check_fields, iter_records
from core.records import Parsed
from core.registry import Registry


class Task:
    """Base class: subclasses set `name`, the record fields, and implement the methods marked below."""

    name = ""
    pred_field = "pred"  # the field of a parsed line that holds the prediction (output_fields writes it)
    units: tuple[str, ...] = ()  # what is scored; a failed request counts as one wrong prediction of each
    wrapper: str | None = None  # a few-shot file may be {"<wrapper>": [records]} (DeepKE's 2023 NER files)
    required: dict[str, Any] = {"text": str}
    optional: dict[str, Any] = {}

    # ---- data -------------------------------------------------------------------------------------------------
    def demo_path(self, data_path: str | Path, language: str) -> Path:
        """<data_path>/<task>_<language>.json (the few-shot file layout of DeepKE's 2023 LLMICL example)."""
        return Path(data_path) / f"{self.name}_{language}.json"

    def demo_labels(self, demos: list[dict]) -> list[str] | None:
        """The labels the demos show, used as the allowed labels when none are given (None: no restriction)."""
        return None

    def read(self, path: str | Path) -> list[dict]:
        """Records of a few-shot or input file (JSON array, JSONL, or the wrapper object), each checked."""
        out = []
        for line, value in iter_records(path, allow_single=True):
            if self.wrapper and isinstance(value, dict) and self.wrapper in value:
                items = value[self.wrapper]
                if not isinstance(items, list):
                    raise DataError(path, line, "expected a list", field=self.wrapper)
                for i, item in enumerate(items):
                    out.append(self.check(item, path, line, where=f"{self.wrapper}[{i}]"))
            else:
                out.append(self.check(value, path, line))
        return out

    def check(self, rec: Any, path: str | Path, line: int | None, where: str = "") -> dict:
        try:
            check_fields(rec, path, line, self.required, self.optional)
            rec = dict(rec)
            rec["__line__"] = line
            self.check_more(rec)
        except DataError as exc:
            if where:
                raise DataError(path, line, f"{where}: {str(exc).split(': ', 1)[1]}") from None
            raise
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise DataError(path, line, message or field, field=f"{where}.{field}" if where else field) from None
        return rec

    def check_more(self, rec: dict) -> None:
        """Nested checks and normalisation; raise ValueError("field: message")."""

    def from_settings(self, settings: Any) -> dict:
        """The one record of a `text_input=...` run."""
        if not settings.text_input:
            raise UserError("nothing to do: give text_input=\"...\" or --input_file FILE")
        return {"id": 0, "text": settings.text_input}

    # ---- prompts ----------------------------------------------------------------------------------------------
    def query_vars(self, rec: dict) -> dict:
        return {"text": self.text_of(rec)}

    def style(self, rec: dict) -> str:
        """Answer style the prompt asks for: "json" (section `format`), else section `format_<style>`."""
        return "json"

    def instruction(self, rec: dict, default: str | None) -> str | None:
        """The custom instruction for this record (a CCKS record brings its own), else the `instruction` key."""
        return default

    def demo_vars(self, rec: dict, style: str = "json") -> dict:
        raise NotImplementedError

    # ---- answers ----------------------------------------------------------------------------------------------
    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        raise NotImplementedError

    def has_gold(self, rec: dict) -> bool:
        raise NotImplementedError

    def score(self, pairs: list[tuple[dict, Parsed]], labels: list[str] | None = None, language: str = "en") -> dict:
        """Metrics over (record with gold, its parsed answer) pairs."""
        raise NotImplementedError

    def combine(self, samples: list[Parsed]) -> Parsed:
        """One envelope from the parsed answers of a record (n > 1 samples); default: the first."""
        return samples[0]

    def sample_fields(self, texts: list[str], samples: list[Parsed]) -> dict:
        """Fields a parsed line adds about the samples themselves (default: none)."""
        return {}

    def output_fields(self, rec: dict, parsed: Parsed) -> dict:
        """Fields a prediction adds to its record in the output file (the runner adds status, issues and raw)."""
        return {"pred": parsed.pred}

    def text_of(self, rec: dict) -> str | None:
        return rec.get("text")

    # ---- answer shape (core.decoding: --decoding json | schema) -----------------------------------------------
    def answer_format(self, rec: dict) -> str:
        """How the answer is written: "json", "triples" (the CCKS `(h,r,t)(h,r,t)` text) or "label" (one label)."""
        return "json"

    def answer_schema(self, rec: dict, labels: list[str] | None) -> dict | None:
        """The JSON schema of this record's answer, with core.decoding's `x-kgllm` marks (`copy`: words of
        `text_of(rec)`; `relation` / `entity_type`: one of the marked property's `enum`, the allowed labels); for the
        "triples" format, the triples it writes; for "label", `{"type": "string", "enum": [label, ...]}`. None: no
        schema (decoding "schema" asks such a task free)."""
        return None


TASKS: Registry = Registry("task")


def register_task(task: Task) -> Task:
    if not task.name:
        raise ValueError("a task needs a name")
    return TASKS.add(task.name, task)


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise UserError(f"task={name!r}: expected one of {', '.join(TASKS)}")
    return TASKS[name]


def task_names() -> list[str]:
    return list(TASKS)


def string_list(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ValueError(f"{field}: expected a list of strings")
    return value


def dict_list(value: Any, field: str) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise ValueError(f"{field}: expected a list of objects")
    return value


def marked(mark: str, options: list[str] | None = None) -> dict:
    """A string property of an answer schema with core.decoding's mark ("copy", "relation", "entity_type"); the
    allowed values, when known, as its `enum`."""
    from core.decoding.build import MARKER

    prop: dict = {"type": "string", MARKER: mark}
    if options:
        prop["enum"] = list(dict.fromkeys(options))
    return prop


def in_text(span: str, text: str) -> bool:
    return bool(span) and span in text
