"""Where a tensor can run on the engine, and the CUDA stream to run it on."""

from __future__ import annotations

from typing import Any

from reactor import engine

__all__ = ["current_stream", "engine_supports"]


def engine_supports(tensor: Any) -> bool:
    """True for CPU tensors, and for CUDA tensors when the engine has CUDA and a GPU."""
    kind = tensor.device.type
    return kind == "cpu" or (kind == "cuda" and engine.cuda_available())


def current_stream(tensor: Any) -> Any:
    """Torch's current stream on the tensor's GPU (work is ordered after the caller's), else None."""
    if tensor.device.type != "cuda":
        return None
    import torch

    return torch.cuda.current_stream(tensor.device)
