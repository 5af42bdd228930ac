"""Replay tables from the engine (``mlforge/replay.h``); :mod:`reactor.replay` builds on these."""

from __future__ import annotations

from reactor import _mlforge

__all__ = ["ReplayTable", "limiter_min_size", "limiter_queue", "limiter_sample_to_insert_ratio"]

#: ``ReplayTable(capacity, fields, sampler, remover, alpha, beta, epsilon, default_priority,
#: max_times_sampled, rate_limiter, seed, episode_end_field, sequence_length)``: the engine table.
#: Callers allocate every output array; see :class:`reactor.replay.ReplayBuffer`.
ReplayTable = _mlforge.replay.Table

#: Rate-limiter presets as ``(samples_per_insert, min_size_to_sample, min_diff, max_diff)``,
#: validated by the engine (a deadlock-prone error buffer is rejected).
limiter_min_size = _mlforge.replay.limiter_min_size
limiter_sample_to_insert_ratio = _mlforge.replay.limiter_sample_to_insert_ratio
limiter_queue = _mlforge.replay.limiter_queue
