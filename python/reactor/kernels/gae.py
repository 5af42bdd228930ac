"""Generalised advantage estimation for numpy arrays and CPU tensors."""

from __future__ import annotations

from typing import Any

import numpy as np

from reactor import engine
from reactor.kernels._device import current_stream

__all__ = ["gae"]


def gae(rewards: Any, values: Any, dones: Any, *, gamma: float = 0.99, lam: float = 0.95) -> tuple[Any, Any]:
    """Return ``(advantages, returns)`` ([B, T] float32) for rewards [B, T], values [B, T + 1]
    (the last column bootstraps) and dones [B, T] (bool/uint8/float32), in the inputs' type:
    torch tensors (CPU or CUDA) give torch tensors, anything else numpy arrays. See ``mlforge::gae``.
    """
    stream = None
    if type(rewards).__module__.startswith("torch"):
        import torch

        advantages = torch.empty(tuple(rewards.shape), dtype=torch.float32, device=rewards.device)
        returns = torch.empty_like(advantages)
        stream = current_stream(rewards)
    else:
        advantages = np.empty(np.shape(rewards), dtype=np.float32)
        returns = np.empty_like(advantages)
    engine.gae(rewards, values, dones, advantages, returns, gamma=gamma, lam=lam, stream=stream)
    return advantages, returns
