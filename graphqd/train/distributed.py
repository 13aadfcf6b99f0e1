"""torchrun / DistributedDataParallel setup: gloo on the CPU, NCCL on GPUs.

`torchrun --nproc_per_node N -m graphqd train --config X` starts N processes; each reads
WORLD_SIZE, RANK and LOCAL_RANK from the environment. Without them the run is a single
process and nothing here touches torch.distributed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from graphqd.errors import GraphqdError


@dataclass
class Processes:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """Average of a tensor over the processes (itself when there is one)."""
        if not self.active:
            return value
        value = value.detach().clone()
        dist.all_reduce(value)
        return value / self.world

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


def start(device_choice: str) -> Processes:
    """Join the process group started by torchrun (if any) and pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = device_choice == "cuda" or (device_choice == "auto" and torch.cuda.is_available())
    if cuda and not torch.cuda.is_available():
        raise GraphqdError("config key 'train.device' is 'cuda' but no CUDA device is available; use cpu or auto")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank % max(1, torch.cuda.device_count())) if cuda else torch.device("cpu")
    if world == 1:
        return Processes(0, 1, device)
    if cuda:
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return Processes(dist.get_rank(), dist.get_world_size(), device)
