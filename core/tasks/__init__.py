"""The task registry: a task = how its records are read and checked, its prompt variables, its parser, its scorer.

    python -c "from core.tasks import task_names; print(task_names())"

Each task module registers itself with `register_task(...)`; `get_task(name)` finds it. Prompts are data files in
core/prompts; the one runner is core.pipeline.
"""

from core.tasks import ccks, code, da, ee, iepile, kg, ner, re, rte, tacred  # noqa: F401  (each module registers its task)
from core.tasks.base import TASKS, Task, get_task, register_task, task_names

__all__ = ["TASKS", "Task", "get_task", "register_task", "task_names"]
