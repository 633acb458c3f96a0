"""Data-parallel shards of the hf backend under torchrun: rank 0 leads, the other ranks follow.

    torchrun --nproc_per_node=2 InstructKGC/inference.py --lora_weights ADAPTER --input_file valid.json --output_file pred.json

Every process loads the model (on its own GPU under CUDA). Rank 0 runs `run_prompts` as in one process: its
`HFBackend._generate` broadcasts the prompts still to answer; all ranks sort them by length into batches and take
turns (batch b goes to rank b % world), and each round's answers are gathered on rank 0, which yields them to
`run_prompts` (so the raw file is written by rank 0 alone, appended as each round finishes, and resumes as always).
The other ranks call `backend.follow()`, which answers rank 0's batches until rank 0 closes the backend. Only
picklable Python objects travel, over a gloo group (CPU or GPU alike).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from core.errors import UserError

STOP = ("stop",)


@dataclass
class Shards:
    rank: int
    size: int
    group: Any = None  # None: the default process group (ours, gloo)
    owns_group: bool = False  # we initialised the process group, so we destroy it

    @classmethod
    def from_env(cls) -> Shards | None:
        """The shard layout torchrun set up (WORLD_SIZE > 1), or None for one process."""
        try:
            world = int(os.environ.get("WORLD_SIZE") or 1)
        except ValueError:
            raise UserError(f"WORLD_SIZE={os.environ.get('WORLD_SIZE')!r} is not a number") from None
        if world <= 1:
            return None
        import torch.distributed as dist

        if dist.is_initialized():  # the caller's group may be NCCL: objects go over a gloo group of our own
            return cls(dist.get_rank(), dist.get_world_size(), dist.new_group(backend="gloo"))
        if not os.environ.get("MASTER_ADDR"):
            raise UserError(f"WORLD_SIZE is {world} but MASTER_ADDR is not set: start the processes with torchrun")
        dist.init_process_group("gloo")
        return cls(dist.get_rank(), dist.get_world_size(), None, owns_group=True)

    @property
    def leader(self) -> bool:
        return self.rank == 0

    def broadcast(self, obj: Any = None) -> Any:
        """Rank 0's `obj` on every rank."""
        import torch.distributed as dist

        box = [obj if self.leader else None]
        dist.broadcast_object_list(box, src=0, group=self.group)
        return box[0]

    def gather(self, obj: Any) -> list | None:
        """Every rank's `obj`, in rank order, on rank 0 (None elsewhere)."""
        import torch.distributed as dist

        out = [None] * self.size if self.leader else None
        dist.gather_object(obj, out, dst=0, group=self.group)
        return out

    def close(self) -> None:
        import torch.distributed as dist

        if self.owns_group and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
            self.owns_group = False
