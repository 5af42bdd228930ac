"""Memory: peak usage reporting and out-of-memory detection for the micro-batch search."""

from __future__ import annotations

import resource
import sys

import torch

__all__ = ["is_out_of_memory", "peak_memory_mb", "release_cached_memory"]


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory so far: allocated GPU memory on CUDA, the process's peak RSS on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def is_out_of_memory(error: BaseException) -> bool:
    """True for torch's out-of-memory errors (CUDA and CPU allocators)."""
    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def release_cached_memory(device: torch.device) -> None:
    """Give cached GPU blocks back before retrying with a smaller micro-batch."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
