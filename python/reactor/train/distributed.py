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

__all__ = [
    "DistributedContext",
    "all_gather_objects",
    "all_reduce_sum",
    "full_model_state",
    "full_state_dicts",
    "is_sharded",
    "load_full_state_dicts",
    "setup_distributed",
    "wrap_model",
]


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
    """DDP (``auto``/``ddp``) or FSDP2 (``fsdp``: every transformer block, then the root, sharded
    with ``torch.distributed.fsdp.fully_shard``) when several processes train; ``model`` otherwise.
    """
    if not context.enabled:
        return model
    if strategy == "fsdp":
        from torch.distributed.fsdp import fully_shard

        # Hugging Face models name the blocks that must stay whole; each becomes one FSDP unit.
        blocks = set(getattr(model, "_no_split_modules", None) or ())
        for module in model.modules():
            if type(module).__name__ in blocks:
                fully_shard(module)
        fully_shard(model)
        return model
    if strategy not in ("auto", "ddp"):
        raise InvalidArgumentError(
            f"[train.distributed] strategy must be auto, ddp or fsdp, got {strategy!r}"
        )
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def is_sharded(model: nn.Module) -> bool:
    """True when FSDP2 shards the model's parameters across ranks."""
    from torch.distributed.fsdp import FSDPModule

    return isinstance(model, FSDPModule)


def full_state_dicts(
    model: nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Unsharded model and optimizer state on the CPU (collective under FSDP: call on every rank)."""
    if not is_sharded(model):
        inner = getattr(model, "module", model)
        return {k: v.detach().cpu().clone() for k, v in inner.state_dict().items()}, optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    return get_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def full_model_state(model: nn.Module) -> dict[str, Any] | None:
    """The unsharded model state under FSDP (collective: call on every rank); None otherwise."""
    if not is_sharded(model):
        return None
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def load_full_state_dicts(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    model_state: dict[str, Any],
    optimizer_state: dict[str, Any],
) -> None:
    """Inverse of :func:`full_state_dicts` (every rank passes the full state)."""
    if not is_sharded(model):
        getattr(model, "module", model).load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    set_state_dict(
        model,
        optimizer,
        model_state_dict=model_state,
        optim_state_dict=optimizer_state,
        options=StateDictOptions(full_state_dict=True),
    )


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
