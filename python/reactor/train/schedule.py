"""Learning-rate schedules with linear warm-up: constant, linear decay to 0, cosine decay to 0."""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["lr_multiplier"]


def lr_multiplier(kind: str, warmup_steps: int, max_steps: int) -> Callable[[int], float]:
    """The factor applied to the base learning rate at optimizer step ``step`` (0-based)."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if kind == "constant":
            return 1.0
        progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
        if kind == "linear":
            return 1.0 - progress
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor
