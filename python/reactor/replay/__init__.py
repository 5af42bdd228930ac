"""Experience replay on the MLForge engine: prioritized, uniform, FIFO/LIFO, heap and reservoir
sampling; rate limiting; sequence windows and n-step returns; exact checkpoints.

    from reactor.replay import ReplayBuffer

    buf = ReplayBuffer(1_000_000, {"obs": ("float32", (8,)), "action": ("int64", ())})
    keys = buf.extend({"obs": obs_batch, "action": actions})
    b = buf.sample(256)                     # b["obs"], b.keys, b.weights, b.probabilities
    buf.update_priorities(b.keys, td_errors)
"""

from __future__ import annotations

from reactor.replay.buffer import Batch, ReplayBuffer
from reactor.replay.distributed import DistributedReplay, ReplayShard
from reactor.replay.limiters import MinSize, Queue, RateLimiter, SampleToInsertRatio, Stack
from reactor.replay.shared import SharedReplayServer, SharedReplayWriter

__all__ = [
    "Batch",
    "DistributedReplay",
    "MinSize",
    "Queue",
    "RateLimiter",
    "ReplayBuffer",
    "ReplayShard",
    "SampleToInsertRatio",
    "SharedReplayServer",
    "SharedReplayWriter",
    "Stack",
]
