"""torch.distributed glue: process-group start-up under ``torchrun``, model wrapping (DDP, FSDP)
and the few collectives the loop needs. No collective is written by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from reactor.errors import InvalidArgumentError, UnavailableError

__all__ = ["DistributedContext", "all_gather_objects", "all_reduce_sum", "setup_distributed", "wrap_model"]


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in the job (world size 1 when not under ``torchrun``)."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """True on the rank that writes files and prints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when several processes train together."""
        return self.world_size > 1


def _pick_device(requested: str, local_rank: int) -> torch.device:
    if requested == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UnavailableError(f"[train.device] device {requested!r}: CUDA is not available on this machine")
    return device


def setup_distributed(device: str = "auto") -> DistributedContext:
    """Join the process group ``torchrun`` describes (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``):
    NCCL on GPUs, gloo on CPUs. Without ``torchrun`` this is a single-process context.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    target = _pick_device(device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if target.type == "cuda":
            torch.cuda.set_device(target)
        dist.init_process_group(backend="nccl" if target.type == "cuda" else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    world_size = dist.get_world_size() if dist.is_initialized() else 1
    return DistributedContext(rank, world_size, local_rank, target)


def wrap_model(model: nn.Module, context: DistributedContext, strategy: str) -> nn.Module:
    """DDP (default) or FSDP around ``model`` when several processes train; ``model`` itself otherwise."""
    if not context.enabled:
        return model
    if strategy == "fsdp":
        if context.device.type != "cuda":
            raise UnavailableError("[train.distributed] strategy 'fsdp' needs CUDA; use 'ddp' on CPUs")
        from torch.distributed.fsdp import FullyShardedDataParallel

        return FullyShardedDataParallel(model, device_id=context.device, use_orig_params=True)
    if strategy not in ("auto", "ddp"):
        raise InvalidArgumentError(
            f"[train.distributed] strategy must be auto, ddp or fsdp, got {strategy!r}"
        )
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def all_reduce_sum(values: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Element-wise sum of ``values`` over all ranks (float64 on the CPU for gloo's sake)."""
    if not context.enabled:
        return values
    buffer = (
        values.detach().to(torch.float64 if context.device.type == "cpu" else values.dtype).to(context.device)
    )
    dist.all_reduce(buffer)
    return buffer.to(values.device, values.dtype)


def all_gather_objects(obj: Any, context: DistributedContext) -> list[Any]:
    """``obj`` from every rank, in rank order."""
    if not context.enabled:
        return [obj]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, obj)
    return gathered
