"""Run settings: DeepKE's 2023 keys plus ours, defaults from conf/run.yaml, overrides as `key=value` or `--key value`.

    python LLMICL/run.py --help
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from core.errors import UserError
from core.flags import Flag, dataclass_flags, parse
from core.flags_help import help_text as help_text_of
from core.flags_values import coerce
from core.llm.config import LLMConfig

CONF = Path(__file__).resolve().parent.parent / "conf" / "run.yaml"
LANGUAGE_ALIASES = {"en": "en", "cn": "cn", "ch": "cn", "zh": "cn"}


_LLM_FIELDS = {f.name: f for f in dataclasses.fields(LLMConfig)}
# keys LLMICL names itself (the 2023 keys and its run settings); LLMConfig's other fields are added below
_OWN = {"task", "language", "engine", "api_key", "text_input", "zero_shot", "instruction", "data_path", "domain",
        "labels", "head_entity", "head_type", "tail_entity", "tail_type", "backend", "base_url", "model", "chat",
        "input_file", "output_file", "metrics_file", "k", "number", "max_tokens", "temperature"}


@dataclass(frozen=True)
class Key:
    name: str
    type: type
    help: str


_KEYS = [
    # DeepKE's 2023 keys
    Key("task", str, "ner | re | ee | rte | da"),
    Key("language", str, "en | cn (ch and zh are accepted as aliases of cn)"),
    Key("engine", str, "model id (DeepKE's 2023 name for --model; --model wins when both are given)"),
    Key("api_key", str, "deprecated: set OPENAI_API_KEY instead; used for requests only, never written anywhere"),
    Key("text_input", str, "one text to extract from; for da the relation(s) to augment, comma-separated (empty: all)"),
    Key("zero_shot", bool, "True: instruction only; False: add k demos from <data_path>/<task>_<language>.json"),
    Key("instruction", str, "replaces the default instruction (the JSON answer format is still asked for)"),
    Key("data_path", str, "folder of the few-shot files (empty: LLMICL/data)"),
    Key("domain", str, "domain named in the instruction, e.g. sport (empty: none)"),
    Key("labels", list, "allowed entity types (ner, da), relation labels (re, rte) or event types (ee); empty: any"),
    Key("head_entity", str, "re: head entity of the pair to classify"),
    Key("head_type", str, "re: type of the head entity"),
    Key("tail_entity", str, "re: tail entity of the pair to classify"),
    Key("tail_type", str, "re: type of the tail entity"),
    # ours
    Key("backend", str, "openai (any OpenAI-compatible server) | hf (local model + LoRA adapter)"),
    Key("base_url", str, "OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (empty: OPENAI_BASE_URL / OpenAI)"),
    Key("model", str, "model id (empty: engine; with base_url and neither: the server's first model)"),
    Key("chat", bool, "True: chat endpoint; False: completions endpoint; empty: what the server says (core.llm's rule)"),
    Key("input_file", str, "JSONL/JSON of many records (gold fields optional) instead of text_input"),
    Key("output_file", str, "parsed predictions (JSONL; da: JSON array of new samples); raw answers go beside it"),
    Key("metrics_file", str, "metrics JSON (empty: <output_file stem>.metrics.json when there is gold or da)"),
    Key("k", int, "demos per prompt when zero_shot is False (empty: every demo in the file)"),
    Key("number", int, "da: new samples asked for per relation"),
    Key("max_tokens", int, "longest answer, in tokens"),
    Key("temperature", float, "sampling temperature (empty: 0 for extraction, 1 for da)"),
    # every other core.llm.LLMConfig setting, generated from its fields (a new field is a new key here)
    *(Key(name, typ, help) for name, typ, _, help in dataclass_flags(LLMConfig)
      if name not in _OWN),
]
KEYS: dict[str, Key] = {}
for _key in _KEYS:
    if _key.name in KEYS:
        raise ValueError(f"key {_key.name} is defined twice")
    KEYS[_key.name] = _key
ALIASES = {"max_tokens": ("--max_new_tokens",)}  # the name InstructKGC's 2023 inference used
FLAGS = {key.name: Flag(key.name, key.type, None, key.help, ALIASES.get(key.name, ())) for key in _KEYS}
# the keys that go to LLMConfig.from_flags as they are (model and api_key are resolved by the runner first)
LLM_KEYS = tuple(name for name in KEYS if name in _LLM_FIELDS and name not in ("model", "api_key"))


class Settings:
    """Attribute access to the resolved settings; `public()` leaves the api_key out."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "api_key"}

    def __repr__(self) -> str:
        return f"Settings({self.public()})"


def read_defaults(path: Path = CONF) -> dict[str, Any]:
    """Every key, from the YAML file where it is set, else None."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path.name}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path.name}: expected key: value lines")
    values = dict.fromkeys(KEYS)
    for name, value in data.items():
        if name not in KEYS:
            raise UserError(f"{path.name}: unknown key {name!r}")
        values[name] = coerce(FLAGS[name], value, f"{path.name}: {name}")
    return values


def load_settings(argv: list[str], defaults_file: Path = CONF) -> Settings:
    values = parse(list(FLAGS.values()), argv, "run.py", key_value=True, defaults=read_defaults(defaults_file))
    language = (values["language"] or "en").lower()
    if language not in LANGUAGE_ALIASES:
        raise UserError(f"language={language!r}: expected en or cn (ch is accepted too)")
    values["language"] = LANGUAGE_ALIASES[language]
    values["task"] = (values["task"] or "ner").lower()
    for name in ("zero_shot", "no_cache"):
        values[name] = bool(values[name]) if name == "no_cache" else values[name] is not False
    for name in ("k", "number", "concurrency", "max_tokens"):
        if values[name] is not None and values[name] < (0 if name == "k" else 1):
            raise UserError(f"{name}={values[name]}: must be at least {0 if name == 'k' else 1}")
    return Settings(values)


def help_text() -> str:
    """Every key with its type, default (run.yaml's, else core.llm.LLMConfig's) and help."""
    defaults = read_defaults()
    for name in LLM_KEYS:
        if defaults[name] is None:
            defaults[name] = _LLM_FIELDS[name].default  # not in run.yaml: LLMConfig's default applies
    if defaults.get("api_key"):
        defaults["api_key"] = "***"
    shown = [replace(flag, default=defaults[flag.name]) for flag in FLAGS.values()]
    return help_text_of("run.py", "keys: key=value (DeepKE 2023's style) or --key value; defaults from "
                        "LLMICL/conf/run.yaml, else core.llm.LLMConfig's", shown, key_value=True)
