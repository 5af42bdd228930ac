"""Rate limiters (Reverb's semantics): when inserts and samples may proceed.

With I items inserted and S sampled, the cursor ``I * samples_per_insert - S`` must stay within
``[min_diff, max_diff]``, and sampling needs ``min_size_to_sample`` live items. A call that the
limiter forbids waits (GIL released) up to its timeout, then raises :class:`reactor.errors.TimeoutError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from reactor.engine import replay as engine_replay

__all__ = ["MinSize", "Queue", "RateLimiter", "SampleToInsertRatio", "Stack"]


@dataclass(frozen=True)
class MinSize:
    """Sampling waits until ``min_size`` items are in; nothing else is limited."""

    min_size: int = 1

    def parameters(self) -> tuple[float, int, float, float]:
        """``(samples_per_insert, min_size_to_sample, min_diff, max_diff)``."""
        return tuple(engine_replay.limiter_min_size(self.min_size))  # type: ignore[return-value]


@dataclass(frozen=True)
class SampleToInsertRatio:
    """About ``samples_per_insert`` samples per inserted item once ``min_size_to_sample`` items are
    in, within ``+/- error_buffer``; an error buffer below ``2 * max(1, samples_per_insert)`` could
    deadlock and is rejected.
    """

    samples_per_insert: float
    min_size_to_sample: int
    error_buffer: float

    def parameters(self) -> tuple[float, int, float, float]:
        """``(samples_per_insert, min_size_to_sample, min_diff, max_diff)``."""
        return tuple(  # type: ignore[return-value]
            engine_replay.limiter_sample_to_insert_ratio(
                self.samples_per_insert, self.min_size_to_sample, self.error_buffer
            )
        )


@dataclass(frozen=True)
class Queue:
    """At most ``size`` items waiting; with a FIFO sampler and ``max_times_sampled=1``, a queue."""

    size: int

    def parameters(self) -> tuple[float, int, float, float]:
        """``(samples_per_insert, min_size_to_sample, min_diff, max_diff)``."""
        return tuple(engine_replay.limiter_queue(self.size))  # type: ignore[return-value]


@dataclass(frozen=True)
class Stack(Queue):
    """At most ``size`` items waiting; with a LIFO sampler and ``max_times_sampled=1``, a stack."""


RateLimiter = MinSize | SampleToInsertRatio | Queue | Stack
