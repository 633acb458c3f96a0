"""LLMICL's tasks (ner, re, ee, rte, da): prompts from data files, tolerant parsers, scorers, and the run itself.

    python LLMICL/run.py --help

Each task module registers itself (`register_task`); `get_task(name)` finds it. Run flow: icl.runner.
"""

from . import da, ee, ner, re_task, rte  # noqa: F401  (each registers its task)
from .base import TASKS, Task, get_task, register_task, task_names

__all__ = ["TASKS", "Task", "get_task", "register_task", "task_names"]
