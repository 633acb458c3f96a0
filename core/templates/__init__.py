"""Prompt-template registry for fine-tuned instruction formats.

    python -c "from core.templates import get_template; print(get_template('alpaca').render('Extract triples', 'A is in B'))"

A template renders (instruction, input) into a prompt and takes the response back out of generated text. Built-ins:
`alpaca` and `chatglm` (JSON files in this folder, DeepKE's 2023 layout: prompt_input, prompt_no_input, response_split)
and `chat_template` (the tokenizer's own chat template). A user's JSON file in the same layout works by path.
Add one with `register_template(name, template)`; a duplicate name is refused.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.registry import Registry

_FIELD = re.compile(r"\{(instruction|input)\}")
_HERE = Path(__file__).resolve().parent
_REGISTRY: Registry = Registry("template")


@dataclass(frozen=True)
class Template:
    """A text template in the alpaca layout: prompt with / without input, and the marker before the response."""

    name: str
    prompt_input: str
    prompt_no_input: str
    response_split: str
    description: str = ""

    needs_tokenizer = False

    def render(self, instruction: str, input: str | None = None, tokenizer: Any = None) -> str:
        """Prompt text for one record; an empty input uses the no-input form (as DeepKE's 2023 code did)."""
        values = {"instruction": instruction, "input": input or ""}
        # one pass, so braces inside the instruction or input are never substituted again
        return _FIELD.sub(lambda m: values[m.group(1)], self.prompt_input if input else self.prompt_no_input)

    def render_messages(self, messages: list[dict], tokenizer: Any = None) -> str:
        """Chat messages -> prompt: system and user turns become the instruction, earlier answers are kept inline."""
        parts = []
        for m in messages:
            content = _content_text(m.get("content"))
            if m.get("role") == "assistant":
                parts.append(f"{self.response_split}\n{content}")
            else:
                parts.append(content)
        return self.render("\n\n".join(p for p in parts if p))

    def response(self, text: str) -> str:
        """The answer inside generated text: what follows the first response marker, or all of it, stripped."""
        if self.response_split and self.response_split in text:
            text = text.split(self.response_split, 1)[1]
        return text.strip()

    def to_dict(self) -> dict:
        return {
            "description": self.description,
            "prompt_input": self.prompt_input,
            "prompt_no_input": self.prompt_no_input,
            "response_split": self.response_split,
        }


@dataclass(frozen=True)
class ChatTemplate(Template):
    """Uses the tokenizer's own `chat_template` (Qwen, Llama-3, GLM-4 ... instruct checkpoints)."""

    needs_tokenizer = True

    def render(self, instruction: str, input: str | None = None, tokenizer: Any = None) -> str:
        user = f"{instruction}\n{input}" if input else instruction
        return self.render_messages([{"role": "user", "content": user}], tokenizer)

    def render_messages(self, messages: list[dict], tokenizer: Any = None) -> str:
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise UserError("template 'chat_template' needs a tokenizer that has a chat_template")
        msgs = [{"role": m.get("role", "user"), "content": _content_text(m.get("content"))} for m in messages]
        return tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)


def _content_text(content: Any) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def register_template(name: str, template: Template) -> Template:
    """Add a template under `name`; refuses a name that is already taken."""
    return _REGISTRY.add(name, template)


def load_template_file(path: str | os.PathLike, name: str | None = None) -> Template:
    """A template from a JSON file with prompt_input, prompt_no_input and response_split."""
    from core.io import check_fields, read_json

    data = read_json(path)
    check_fields(data, path, None, required={"prompt_input": str, "prompt_no_input": str},
                 optional={"response_split": str, "description": str})
    return Template(name or Path(path).stem, data["prompt_input"], data["prompt_no_input"],
                    data.get("response_split", ""), data.get("description", ""))


def get_template(name: str) -> Template:
    """A registered template by name, or a JSON template file by path."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name.endswith(".json") and Path(name).exists():
        return load_template_file(name)
    raise UserError(f"unknown prompt template '{name}' (known: {', '.join(sorted(_REGISTRY))}; or a path to a .json)")


def template_names() -> list[str]:
    return sorted(_REGISTRY)


for _file in sorted(_HERE.glob("*.json")):
    register_template(_file.stem, load_template_file(_file))
register_template("chat_template", ChatTemplate("chat_template", "", "", "", "the tokenizer's own chat template"))
