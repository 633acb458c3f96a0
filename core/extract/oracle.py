"""A loopback "model" that answers document prompts from a gold file: for tests, benchmarks and offline checks.

    python -m core.extract.oracle --gold examples/corpus/gold.json --delay 0.02

It serves core.testing.fake_openai (a real OpenAI-compatible HTTP server on 127.0.0.1) and answers each request with
the gold facts whose evidence sentence(s) are wholly in the prompt's passage -- exactly what a perfect model could
see in that chunk -- restricted to the relations the prompt lists (its schema batch), in the answer form of the task
(`kg`: JSON lines with types, `rte`: a JSON list of [h, r, t], `ccks`: `(h,r,t)(h,r,t)`). Mentions are written as
the gold gives them (`head_mention`/`tail_mention`, else the canonical name), after `perturb` (a {mention: what the
model writes instead} map, to exercise normalised and fuzzy grounding). `extra` facts (same fields) are answered
like gold ones -- out-of-schema or ungrounded ones a test wants flagged; `asked_with` names the relation whose
batch answers one whose own relation no batch asks about. `per_pass=k` gives at most k facts per answer;
a gleaning prompt (it lists the facts already found) gets the next k facts that are not listed yet.

Gold file: see examples/corpus/gold.json (documents -> triples with evidence).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.testing.fake_openai import FakeOpenAI

GLEAN_MARKERS = ("already extracted", "已经从这段文字中抽取")
_KG_RELATIONS = re.compile(r"^(?:Relation types:|关系类型：)\n((?:- .*\n?)+)", re.MULTILINE)
_RTE_LABELS = re.compile(r"only these relations: (.*)$", re.MULTILINE)
_FOUND = re.compile(r'^\{"head": .*\}$', re.MULTILINE)


def load_facts(gold_path: str | Path) -> list[dict]:
    """Every gold triple as {"head", "relation", "tail" (mentions as written), "head_type", "tail_type", "evidence"}."""
    gold = json.loads(Path(gold_path).read_text(encoding="utf-8"))
    out = []
    for doc in gold["documents"]:
        types = {e["name"]: e["type"] for e in doc["entities"]}
        for t in doc["triples"]:
            out.append({"head": t.get("head_mention") or t["head"], "relation": t["relation"],
                        "tail": t.get("tail_mention") or t["tail"], "head_type": types[t["head"]],
                        "tail_type": types[t["tail"]], "evidence": t["evidence"], "file": doc["file"]})
    return out


def relations_in(prompt: str) -> set[str] | None:
    """The relation names a prompt asks about (kg: its "Relation types" block; rte: its labels clause; ccks: the
    candidate list); None when it names none."""
    m = _KG_RELATIONS.search(prompt)
    if m:
        return {line[2:].split(":", 1)[0].strip() for line in m.group(1).splitlines() if line.startswith("- ")}
    m = _RTE_LABELS.search(prompt)
    if m:
        return {x.strip() for x in m.group(1).rstrip(".").split(",")}
    from core.parsing.ccks_instruction import relations_from_instruction

    found = relations_from_instruction(prompt)
    return set(found) if found else None


class GoldOracle:
    def __init__(self, facts: list[dict], style: str = "kg", perturb: dict[str, str] | None = None,
                 extra: list[dict] | None = None, per_pass: int | None = None, delay: float = 0.0):
        self.facts = [*facts, *(extra or [])]
        self.style, self.perturb, self.per_pass, self.delay = style, perturb or {}, per_pass, delay
        self.prompts: list[str] = []  # every prompt answered, in order
        self._lock = threading.Lock()

    @classmethod
    def from_gold(cls, gold_path: str | Path, **kwargs: Any) -> GoldOracle:
        return cls(load_facts(gold_path), **kwargs)

    def facts_for(self, prompt: str) -> list[dict]:
        relations = relations_in(prompt)
        found = {(f["head"], f["relation"], f["tail"]) for f in map(json.loads, _FOUND.findall(prompt))} \
            if any(m in prompt for m in GLEAN_MARKERS) else set()
        out, seen = [], set()
        for f in self.facts:
            asked = f.get("asked_with", f["relation"])
            if f["evidence"] not in prompt or (relations is not None and asked not in relations):
                continue
            fact = {**f, "head": self.perturb.get(f["head"], f["head"]), "tail": self.perturb.get(f["tail"], f["tail"])}
            key = (fact["head"], fact["relation"], fact["tail"])
            if key in found or key in seen:
                continue
            seen.add(key)
            out.append(fact)
        return out[: self.per_pass] if self.per_pass else out

    def answer(self, prompt: str) -> str:
        facts = self.facts_for(prompt)
        if self.style == "rte":
            return json.dumps([[f["head"], f["relation"], f["tail"]] for f in facts], ensure_ascii=False)
        if self.style == "ccks":
            return "".join(f"({f['head']},{f['relation']},{f['tail']})" for f in facts)
        keys = ("head", "head_type", "relation", "tail", "tail_type")
        return "\n".join(json.dumps({k: f[k] for k in keys}, ensure_ascii=False) for f in facts)

    def __call__(self, body: dict) -> Any:
        prompt = FakeOpenAI.prompt_of(body)
        text = self.answer(prompt)
        with self._lock:
            self.prompts.append(prompt)
        return {"text": text, "delay": self.delay} if self.delay else text


@dataclass
class OracleArgs:
    gold: str = field(default="", metadata={"help": "gold file (examples/corpus/gold.json layout)", "required": True})
    style: str = field(default="kg", metadata={"help": "answer form", "choices": ("kg", "rte", "ccks")})
    delay: float = field(default=0.0, metadata={"help": "seconds before each answer"})
    port: int = field(default=0, metadata={"help": "port on 127.0.0.1 (0: any free one)"})


def main(argv: list[str] | None = None) -> None:
    from core.flags import flags_of, run

    run(_serve, flags_of(OracleArgs), argv, prog="python -m core.extract.oracle", doc=__doc__)


def _serve(gold: str, style: str, delay: float, port: int) -> None:
    oracle = GoldOracle.from_gold(gold, style=style, delay=delay)
    FakeOpenAI(oracle, models=("oracle",), port=port).serve_forever("(model oracle); Ctrl-C to stop")


if __name__ == "__main__":
    main()
