"""Replay sharded over Ray actors: :class:`ReplayShard` (a :class:`~reactor.replay.ReplayBuffer`
per actor, each with its own seed) and :class:`DistributedReplay`, the client that spreads inserts
over the shards and merges samples with the importance weights of the *global* distribution.

Sampling. With shard masses W_s (the sum of the sampling weights w_i = (p_i + epsilon)^alpha of a
shard's live items; 1 per item for the uniform sampler) and W = sum_s W_s, the client splits a batch
of B draws by a seeded multinomial(B, W_s / W), asks each shard for its share, and reports for every
draw the global probability P(i) = P_s(i) * W_s / W = w_i / W, where P_s(i) is the shard's own
probability for the draw, and the weight w = (P(i) / P_min)^-beta with P_min = min_s min_i w_i / W
over every live item of every shard (so the largest possible weight is 1, as in
:class:`~reactor.replay.ReplayBuffer`). The draws are then i.i.d. from the proportional
distribution over the union of the shards, exactly as one buffer holding everything would give.

Shard masses come from the engine (:meth:`ReplayBuffer.sampling_mass`), read by the shard in the
same (serialised) actor call as its inserts, samples or updates. Restrictions: sampler
``prioritized`` or ``uniform``, ``max_times_sampled`` 0 (a sample changes no mass) and no rate
limiter (a shard call never blocks).

Keys. A key returned by the client carries its shard in its top ``ceil(log2(num_shards))`` bits (at
least 1) and the shard's key below (:meth:`DistributedReplay.split_keys`); the engine's keys use at
most 63 bits, and a shard refuses an insert whose keys would not fit below the shard bits.

    ray.init()
    replay = DistributedReplay(4, 250_000, spec, alpha=0.6, beta=0.4, seed=0)
    keys = replay.extend(batch, priorities)           # round-robin over the shards
    b = replay.sample(256)                            # b["obs"], b.keys, b.weights, b.probabilities
    replay.update_priorities(b.keys, td_errors)       # routed to each key's shard
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from reactor.errors import (
    CapacityExceededError,
    InvalidArgumentError,
    OutOfRangeError,
    TimeoutError,
    UnavailableError,
)
from reactor.replay.buffer import Batch, ReplayBuffer
from reactor.replay.spec import parse_spec

__all__ = ["DistributedReplay", "ReplayShard"]

_SAMPLERS = ("prioritized", "uniform")
_REMOVERS = ("fifo", "lifo", "min_heap", "reservoir")
_BACKENDS = ("ray", "local")

#: ``(size, total_weight, min_weight)`` of a shard's live items (min_weight is inf when empty).
Mass = tuple[int, float, float]


def _ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise UnavailableError(
            "[replay.distributed] backend 'ray' needs Ray (pip install 'reactor[ray]'); "
            "backend='local' runs the shards in this process"
        ) from error
    return ray


class ReplayShard:
    """One shard: a :class:`~reactor.replay.ReplayBuffer` that also reports its sampling mass.

    A plain class; :class:`DistributedReplay` runs it as a Ray actor (or in-process with
    ``backend="local"``). Every method returns the shard's :data:`Mass` as of the end of the call,
    so a client can weigh samples against the state they were drawn from. ``key_bits``: keys must
    stay below ``2**key_bits`` (the client keeps the bits above for the shard index).
    """

    def __init__(
        self,
        capacity: int,
        spec: Mapping[str, Any],
        sampler: str = "prioritized",
        alpha: float = 0.6,
        beta: float = 0.4,
        seed: int = 0,
        *,
        epsilon: float = 1e-6,
        default_priority: float | None = None,
        remover: str = "fifo",
        key_bits: int = 64,
    ) -> None:
        if sampler not in _SAMPLERS:
            raise InvalidArgumentError(
                f"[replay.shard] sampler must be one of {list(_SAMPLERS)} to merge across shards, "
                f"got {sampler!r}"
            )
        if remover not in _REMOVERS:
            raise InvalidArgumentError(
                f"[replay.shard] remover must be one of {list(_REMOVERS)}, got {remover!r}"
            )
        if default_priority is not None and not (np.isfinite(default_priority) and default_priority >= 0):
            raise InvalidArgumentError(
                f"[replay.shard] default_priority must be None or finite and >= 0, got {default_priority!r}"
            )
        self.buffer = ReplayBuffer(
            capacity,
            spec,
            sampler,
            alpha,
            beta,
            seed,
            remover=remover,
            epsilon=epsilon,
            default_priority=default_priority,
        )
        self._first_field = self.buffer.fields[0].name
        self._key_limit = 1 << int(key_bits)
        self._slot_bits = int(capacity).bit_length()  # the engine's: slots and the marker `capacity` fit

    def mass(self) -> Mass:
        """``(size, total_weight, min_weight)`` of the live items (from the engine)."""
        return self.buffer.sampling_mass()

    def __len__(self) -> int:
        return len(self.buffer)

    def stats(self) -> dict[str, int]:
        """The buffer's counters."""
        return self.buffer.stats()

    def extend(self, batch: Mapping[str, Any], priorities: Any = None) -> tuple[npt.NDArray[np.uint64], Mass]:
        """Insert a batch (see :meth:`ReplayBuffer.extend`); returns the keys and the new mass."""
        try:
            n = int(np.shape(batch[self._first_field])[0])
        except (KeyError, IndexError, TypeError):
            self.buffer.extend(batch, priorities)  # raises the buffer's own error for a malformed batch
            raise
        issued = self.buffer.stats()["inserts"]
        if ((issued + n + 1) << self._slot_bits) > self._key_limit:
            raise CapacityExceededError(
                f"[replay.shard] {n} more keys would not fit in {self._key_limit.bit_length() - 1} bits "
                f"(the rest hold the shard index): this shard has issued all of its keys"
            )
        keys = self.buffer.extend(batch, priorities)
        return keys, self.mass()

    def sample(
        self, batch_size: int
    ) -> tuple[dict[str, np.ndarray], npt.NDArray[np.uint64], npt.NDArray[np.float64], Mass]:
        """``batch_size`` draws: fields, keys, the shard's probabilities and the mass drawn from."""
        if batch_size == 0:
            empty = {f.name: np.empty((0, *f.shape), dtype=f.dtype) for f in self.buffer.fields}
            return empty, np.empty(0, dtype=np.uint64), np.empty(0), self.mass()
        batch = self.buffer.sample(batch_size)
        fields = {name: batch[name] for name in batch}  # (Batch.keys is the item keys, not Mapping.keys)
        return fields, batch.keys, batch.probabilities, self.mass()

    def update_priorities(self, keys: Any, priorities: Any) -> tuple[int, Mass]:
        """Set priorities (see :meth:`ReplayBuffer.update_priorities`); returns the stale count and mass."""
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        priorities = np.ascontiguousarray(priorities, dtype=np.float64)
        stale = self.buffer.update_priorities(keys, priorities)
        return stale, self.mass()

    def gather(self, keys: Any) -> dict[str, np.ndarray]:
        """The fields of live items by key."""
        return self.buffer.gather(keys)

    def close(self) -> None:
        """Close the buffer (later calls raise UnavailableError)."""
        self.buffer.close()


class DistributedReplay:
    """A replay of ``num_shards`` :class:`ReplayShard` s holding ``capacity_per_shard`` items each.

    ``spec``, ``sampler`` (``prioritized`` or ``uniform``), ``alpha``, ``epsilon``,
    ``default_priority`` and ``remover`` are as for :class:`~reactor.replay.ReplayBuffer`; ``beta``
    may be changed between samples (the weights are computed here). Shard ``s`` gets a seed derived
    from ``seed`` and ``s``; the batch split uses its own derived stream, so a run is reproducible
    for a given sequence of calls. ``backend``: ``"ray"`` (shards are Ray actors, created with
    ``actor_options``; call ``ray.init`` first or let Ray start a local cluster) or ``"local"``
    (in-process shards, for tests and debugging).

    With Ray, the client can be passed to other tasks and actors (e.g. actors inserting while a
    learner samples): every copy talks to the same shards. Calls to different shards run in parallel.
    """

    def __init__(
        self,
        num_shards: int,
        capacity_per_shard: int,
        spec: Mapping[str, Any],
        sampler: str = "prioritized",
        alpha: float = 0.6,
        beta: float = 0.4,
        seed: int = 0,
        *,
        epsilon: float = 1e-6,
        default_priority: float | None = None,
        remover: str = "fifo",
        backend: str = "ray",
        actor_options: Mapping[str, Any] | None = None,
    ) -> None:
        op = "replay.distributed"
        if isinstance(num_shards, bool) or not isinstance(num_shards, int | np.integer) or num_shards < 1:
            raise InvalidArgumentError(f"[{op}] num_shards must be a positive integer, got {num_shards!r}")
        if backend not in _BACKENDS:
            raise InvalidArgumentError(f"[{op}] backend must be one of {list(_BACKENDS)}, got {backend!r}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise InvalidArgumentError(f"[{op}] seed must be a non-negative integer, got {seed!r}")
        if sampler not in _SAMPLERS:
            raise InvalidArgumentError(
                f"[{op}] sampler must be one of {list(_SAMPLERS)} to merge across shards, got {sampler!r}"
            )
        if remover not in _REMOVERS:
            raise InvalidArgumentError(f"[{op}] remover must be one of {list(_REMOVERS)}, got {remover!r}")
        self._fields = parse_spec(spec)
        self.num_shards = int(num_shards)
        self.beta = beta
        self._check_beta()
        shard_bits = max(1, (self.num_shards - 1).bit_length())
        self._shift = 64 - shard_bits
        states = np.random.SeedSequence(int(seed)).generate_state(self.num_shards + 2, dtype=np.uint64)
        self._rng = np.random.default_rng(int(states[-1]))
        self._next_shard = int(states[-2] % np.uint64(self.num_shards))  # round-robin start
        self.backend = backend
        options = dict(
            epsilon=epsilon, default_priority=default_priority, remover=remover, key_bits=self._shift
        )
        args = [
            (capacity_per_shard, spec, sampler, alpha, beta, int(states[s])) for s in range(self.num_shards)
        ]
        if backend == "ray":
            actor = _ray().remote(ReplayShard)
            if actor_options:
                actor = actor.options(**actor_options)
            self._shards: list[Any] = [actor.remote(*a, **options) for a in args]
            self.mass()  # surface a bad configuration here, not on first use
        else:
            self._shards = [ReplayShard(*a, **options) for a in args]

    # ------------------------------------------------------------------------ plumbing
    def _check_beta(self) -> float:
        beta = self.beta
        if (
            isinstance(beta, bool)
            or not isinstance(beta, int | float)
            or not (np.isfinite(beta) and beta >= 0)
        ):
            raise InvalidArgumentError(f"[replay.distributed] beta must be finite and >= 0, got {beta!r}")
        return float(beta)

    def _call(self, calls: list[tuple[int, str, tuple[Any, ...]]]) -> list[Any]:
        """Run ``(shard, method, args)`` calls (in parallel on Ray) and return their results in order."""
        if self.backend == "local":
            return [getattr(self._shards[s], method)(*args) for s, method, args in calls]
        return _ray().get([getattr(self._shards[s], method).remote(*args) for s, method, args in calls])

    @property
    def shards(self) -> list[Any]:
        """The shards: Ray actor handles, or :class:`ReplayShard` objects for the local backend."""
        return list(self._shards)

    def split_keys(self, keys: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
        """``(shard index, shard key)`` of each key this client returned."""
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        shards = (keys >> np.uint64(self._shift)).astype(np.int64)
        return shards, keys & np.uint64((1 << self._shift) - 1)

    def _join_keys(self, shard: int, keys: np.ndarray) -> npt.NDArray[np.uint64]:
        return keys | np.uint64(shard << self._shift)

    def _routed(self, keys: Any, op: str) -> tuple[npt.NDArray[np.uint64], np.ndarray, np.ndarray]:
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        if keys.ndim != 1:
            raise InvalidArgumentError(f"[{op}] keys must be 1-D, got shape {keys.shape}")
        shards, local = self.split_keys(keys)
        if len(shards) and shards.max() >= self.num_shards:
            bad = keys[shards >= self.num_shards][0]
            raise OutOfRangeError(f"[{op}] key {bad} names shard {bad >> self._shift} of {self.num_shards}")
        return keys, shards, local

    # ---------------------------------------------------------------------------- state
    def masses(self) -> list[Mass]:
        """Each shard's ``(size, total_weight, min_weight)``."""
        return self._call([(s, "mass", ()) for s in range(self.num_shards)])

    def mass(self) -> Mass:
        """``(size, total_weight, min_weight)`` over all shards."""
        masses = self.masses()
        return (
            sum(m[0] for m in masses),
            float(sum(m[1] for m in masses)),
            float(min(m[2] for m in masses)),
        )

    def __len__(self) -> int:
        return self.mass()[0]

    def stats(self) -> dict[str, Any]:
        """Counters summed over the shards, and ``shards``: each shard's own."""
        per_shard = self._call([(s, "stats", ()) for s in range(self.num_shards)])
        total: dict[str, Any] = {name: sum(s[name] for s in per_shard) for name in per_shard[0]}
        total["shards"] = per_shard
        return total

    # ---------------------------------------------------------------------------- writes
    def extend(
        self, batch: Mapping[str, Any], priorities: Any = None, *, shard: int | None = None
    ) -> npt.NDArray[np.uint64]:
        """Insert a batch into one shard (the next in round-robin order, or ``shard``); returns keys."""
        if shard is None:
            shard = self._next_shard
            self._next_shard = (self._next_shard + 1) % self.num_shards
        elif (
            isinstance(shard, bool)
            or not isinstance(shard, int | np.integer)
            or not 0 <= shard < self.num_shards
        ):
            raise OutOfRangeError(
                f"[replay.distributed.extend] shard must be in [0, {self.num_shards}), got {shard!r}"
            )
        if priorities is not None:
            priorities = np.ascontiguousarray(priorities, dtype=np.float64)
        if isinstance(batch, Mapping):  # a plain dict travels best (and Batch.keys is not Mapping.keys)
            batch = {name: batch[name] for name in batch}
        ((keys, _),) = self._call([(int(shard), "extend", (batch, priorities))])
        return self._join_keys(int(shard), keys)

    def add(self, priority: float | None = None, **fields: Any) -> int:
        """Insert one item given as keyword arguments (one per field); returns its key."""
        batch = {name: np.asarray(value)[None] for name, value in fields.items()}
        return int(self.extend(batch, None if priority is None else [priority])[0])

    def update_priorities(self, keys: Any, priorities: Any) -> int:
        """Set priorities of sampled items, each on its key's shard; returns how many keys were stale.
        Invalid priorities raise before any shard changes.
        """
        op = "replay.distributed.update_priorities"
        keys, shards, local = self._routed(keys, op)
        priorities = np.ascontiguousarray(priorities, dtype=np.float64)
        if priorities.shape != keys.shape:
            raise InvalidArgumentError(
                f"[{op}] keys and priorities must be 1-D of one length, "
                f"got {keys.shape} and {priorities.shape}"
            )
        bad = ~(np.isfinite(priorities) & (priorities >= 0))
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise InvalidArgumentError(
                f"[{op}] priorities[{index}] must be finite and >= 0, got {priorities[index]}"
            )
        targets = np.unique(shards)
        calls = [
            (int(s), "update_priorities", (local[shards == s], priorities[shards == s])) for s in targets
        ]
        return int(sum(stale for stale, _ in self._call(calls)))

    # ----------------------------------------------------------------------------- reads
    def sample(self, batch_size: int) -> Batch:
        """``batch_size`` i.i.d. draws from the proportional distribution over every shard's items,
        in random order: fields, ``keys`` (carrying the shard), ``probabilities`` (global),
        ``weights`` ((N P(i))^-beta normalised by the largest over all items) and ``shards``.

        Masses are read first to split the batch; probabilities and weights use the masses each
        shard reports with its draws (other clients inserting in between shift the split slightly,
        never the reported numbers).
        """
        op = "replay.distributed.sample"
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 0:
            raise InvalidArgumentError(
                f"[{op}] batch_size must be a non-negative integer, got {batch_size!r}"
            )
        beta = self._check_beta()
        masses = self.masses()
        totals = np.array([m[1] for m in masses])
        if sum(m[0] for m in masses) == 0:
            raise TimeoutError(f"[{op}] every shard is empty")
        if not totals.sum() > 0:
            raise InvalidArgumentError(
                f"[{op}] every live item has sampling weight 0 (priorities 0 with epsilon 0); "
                "raise epsilon or the priorities"
            )
        counts = self._rng.multinomial(int(batch_size), totals / totals.sum())
        drawn = [int(s) for s in np.flatnonzero(counts)]
        results = self._call([(s, "sample", (int(counts[s]),)) for s in drawn])
        for s, result in zip(drawn, results, strict=True):
            masses[s] = result[3]  # as of the draws
        totals = np.array([m[1] for m in masses])
        minima = np.array([m[2] for m in masses])
        total = totals.sum()
        p_min = minima.min() / total
        probabilities = np.concatenate(
            [np.empty(0)] + [r[2] * (totals[s] / total) for s, r in zip(drawn, results, strict=True)]
        )
        with np.errstate(divide="ignore"):
            weights = (probabilities / p_min) ** -beta
        shard_ids = np.repeat(np.array(drawn, dtype=np.int64), [int(counts[s]) for s in drawn])
        keys = np.concatenate(
            [np.empty(0, np.uint64)] + [self._join_keys(s, r[1]) for s, r in zip(drawn, results, strict=True)]
        )
        order = self._rng.permutation(int(batch_size))
        fields = {}
        for f in self._fields:
            column = np.concatenate([np.empty((0, *f.shape), f.dtype)] + [r[0][f.name] for r in results])
            fields[f.name] = column[order]
        return Batch(fields, keys[order], probabilities[order], weights[order], {"shards": shard_ids[order]})

    def gather(self, keys: Any) -> dict[str, np.ndarray]:
        """The fields of live items by key, in the order given; a key whose item left raises
        OutOfRangeError.
        """
        keys, shards, local = self._routed(keys, "replay.distributed.gather")
        out = {f.name: np.empty((len(keys), *f.shape), dtype=f.dtype) for f in self._fields}
        targets = [int(s) for s in np.unique(shards)]
        results = self._call([(s, "gather", (local[shards == s],)) for s in targets])
        for s, result in zip(targets, results, strict=True):
            for name, column in out.items():
                column[shards == s] = result[name]
        return out

    # ------------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close every shard's buffer; with Ray, also end the shard actors."""
        if not self._shards:
            return
        self._call([(s, "close", ()) for s in range(self.num_shards)])
        if self.backend == "ray":
            for handle in self._shards:
                _ray().kill(handle)
        self._shards = []

    def __enter__(self) -> DistributedReplay:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DistributedReplay({self.num_shards} shards, backend {self.backend!r})"
