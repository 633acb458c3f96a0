"""CCKS: InstructKGC's CCKS2023 instruction records, asked as they are (instruction + input, no demos), for a
fine-tuned model; answers in the `(h,r,t)(h,r,t)` form read by core.parsing.ccks, scored by core.metrics.ccks.

    python -c "from core.tasks import get_task; t = get_task('ccks'); r = t.check({'id': 1, 'instruction': \"关系：['位于']\", 'input': '布达拉宫位于拉萨。'}, 'x', 1); print(t.parse('(布达拉宫,位于,拉萨)', r, None))"

Record: {"id", "instruction", "input", "output"? (gold answer), "kg"? (gold triples), "cate"?}. The prompt is the
pair (instruction, input): the model-side template (core.templates: alpaca, a chat template...) wraps it, as in
fine-tuning. A parsed line keeps the record with `output` = the model's answer and `kg` = its triples, the shape
InstructKGC/evaluate.py and core.kg read.
"""

from __future__ import annotations

from core.parsing.ccks import parse_triples
from core.parsing.ccks_instruction import relations_from_instruction
from core.records import Parsed
from core.tasks.base import register_task
from core.tasks.rte import CCKS as CCKS_STYLE
from core.tasks.rte import RTE


class CCKS(RTE):
    name = "ccks"
    required = {"instruction": str, "input": str}
    optional = {"id": (str, int), "output": str, "kg": list, "cate": str}

    def style(self, rec: dict) -> str:
        return CCKS_STYLE

    def prompt(self, rec: dict) -> tuple[str, str]:
        """(instruction, input), for the model-side template to render."""
        return rec["instruction"], rec["input"]

    def parse(self, text: str, rec: dict, labels: list[str] | None) -> Parsed:
        relations = labels or relations_from_instruction(rec.get("instruction")) or None
        result = parse_triples(text, input_text=rec["input"], relations=relations)
        return Parsed([t.to_list() for t in result.triples], result.status, result.issues, result.bad)


register_task(CCKS())
