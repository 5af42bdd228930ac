"""Retry delays: exponential backoff with seeded jitter (reproducible for a given seed and job)."""

from __future__ import annotations

import random

__all__ = ["retry_delay"]


def retry_delay(failures: int, *, base: float, cap: float, jitter: float, seed: int, job_id: int) -> float:
    """Seconds before retry number ``failures`` (1 for the first): ``min(cap, base * 2**(failures-1))``
    scaled by a factor drawn uniformly from ``[1 - jitter, 1 + jitter]`` (keyed by seed, job, failure).
    """
    delay = min(cap, base * 2.0 ** max(0, failures - 1))
    draw = random.Random(f"{seed}:{job_id}:{failures}").random()
    return max(0.0, delay * (1.0 + jitter * (2.0 * draw - 1.0)))
