"""LLMICL's own part: its settings (key=value or --key value, defaults from conf/run.yaml) and the mapping of a run
onto a core task (ner, re, ee, rte, da) and core.pipeline.

    python LLMICL/run.py --help
"""

from core.tasks import TASKS, Task, get_task, register_task, task_names

__all__ = ["TASKS", "Task", "get_task", "register_task", "task_names"]
