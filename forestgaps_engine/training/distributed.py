"""Data-parallel training under torchrun: process group from the environment, DDP, rank 0 I/O.

``torchrun --nproc_per_node=N -m forestgaps_engine.cli.main train ...`` sets RANK,
WORLD_SIZE, LOCAL_RANK and MASTER_ADDR/PORT; :func:`init_from_env` reads them, picks gloo on
CPU and nccl on CUDA, and returns a :class:`DistributedContext`. Without those variables it
returns a single-process context and touches nothing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        """True when more than one process trains together."""
        return self.world_size > 1

    @property
    def is_main_process(self) -> bool:
        """Rank 0 alone logs, writes checkpoints and saves the model."""
        return self.rank == 0


def init_from_env(device_type: str) -> DistributedContext:
    """Join the process group described by torchrun's environment variables, if any.

    Args:
        device_type: ``"cuda"`` selects nccl and this rank's GPU; anything else gloo.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
        logger.info("rank %d/%d joined the %s process group", rank, world_size, backend)
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank)


def wrap_model(model: nn.Module, context: DistributedContext, device: torch.device) -> nn.Module:
    """DistributedDataParallel around ``model`` when distributed, else ``model`` itself."""
    if not context.is_distributed:
        return model
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def barrier(context: DistributedContext) -> None:
    """Wait for every rank (no-op when single-process)."""
    if context.is_distributed and dist.is_initialized():
        dist.barrier()


def all_reduce_sum(values: list[float]) -> list[float]:
    """Element-wise sum of ``values`` over the ranks of a distributed run (float64: exact counts)."""
    tensor = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        tensor = tensor.cuda()
    dist.all_reduce(tensor)
    return tensor.cpu().tolist()


def shutdown(context: DistributedContext) -> None:
    """Leave the process group (call once training is over)."""
    if context.is_distributed and dist.is_initialized():
        dist.destroy_process_group()
