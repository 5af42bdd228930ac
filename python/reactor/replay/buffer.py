"""``ReplayBuffer``: experience replay on an MLForge replay table.

Data is stored column-wise in the engine; inserts, samples and priority updates are single calls
over whole batches with the GIL released. Sampled batches are fresh numpy arrays (``torch.from_numpy``
wraps them without a copy).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from reactor.engine import replay as engine_replay
from reactor.errors import InvalidArgumentError
from reactor.replay.limiters import MinSize, Queue, RateLimiter, Stack
from reactor.replay.spec import Field, parse_spec

__all__ = ["Batch", "ReplayBuffer"]

_SAMPLERS = ("uniform", "prioritized", "fifo", "lifo", "max_heap", "min_heap", "reservoir")
_REMOVERS = ("fifo", "lifo", "min_heap", "reservoir")


class Batch:
    """Sampled fields by name (``b["obs"]``) with ``keys`` (uint64), ``weights`` (importance weights,
    the largest possible being 1) and ``probabilities`` (each draw's sampling probability).

    Not a ``Mapping``: ``keys`` is the item-key array, so use :meth:`items` or :meth:`as_dict`
    where a dict of the fields is needed.
    """

    def __init__(
        self,
        fields: dict[str, np.ndarray],
        keys: npt.NDArray[np.uint64],
        probabilities: npt.NDArray[np.float64],
        weights: npt.NDArray[np.float64],
        extras: dict[str, np.ndarray] | None = None,
    ) -> None:
        self._fields = fields
        self.keys = keys
        self.probabilities = probabilities
        self.weights = weights
        for name, value in (extras or {}).items():
            setattr(self, name, value)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        """``(field name, array)`` pairs."""
        return iter(self._fields.items())

    def as_dict(self) -> dict[str, np.ndarray]:
        """The fields as a new dict (the arrays are not copied)."""
        return dict(self._fields)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {v.dtype}{list(v.shape)}" for k, v in self._fields.items())
        return f"Batch({shapes}, keys[{len(self.keys)}])"


def _timeout(value: float | None) -> float:
    if value is None:
        return -1.0
    if not np.isfinite(value) or value < 0:
        raise InvalidArgumentError(
            f"[replay] timeout must be None (wait forever) or >= 0 seconds, got {value!r}"
        )
    return float(value)


class ReplayBuffer:
    """A fixed-capacity replay buffer.

    ``spec`` maps field names to ``(dtype, shape)``, e.g. ``{"obs": ("float32", (8,)),
    "action": ("int64", ())}``. ``sampler``: ``uniform``, ``prioritized`` (proportional, with
    ``alpha``, ``beta``, ``epsilon``), ``fifo``, ``lifo``, ``max_heap``, ``min_heap`` or
    ``reservoir`` (uniform over every item ever inserted; implies the reservoir remover).
    ``remover`` picks the item that leaves when the buffer is full: ``fifo``, ``lifo``,
    ``min_heap`` (lowest priority) or ``reservoir``. New items get ``default_priority``, or the
    largest priority among live items when it is None. ``rate_limiter`` (see
    :mod:`reactor.replay.limiters`) makes ``extend``/``sample`` wait up to ``timeout`` seconds
    (None: forever); the default never waits and raises when sampling an empty buffer.
    ``episode_end_field`` (a bool field) enables :meth:`sample_nstep` and, with
    ``sequence_length``, :meth:`sample_sequences`.

    Thread-safe: any number of threads may add, sample and update at once.
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
        remover: str | None = None,
        epsilon: float = 1e-6,
        default_priority: float | None = None,
        max_times_sampled: int = 0,
        rate_limiter: RateLimiter | None = None,
        timeout: float | None = 0.0,
        episode_end_field: str | None = None,
        sequence_length: int = 0,
    ) -> None:
        self._fields = parse_spec(spec)
        self._names = [f.name for f in self._fields]
        if sampler not in _SAMPLERS:
            raise InvalidArgumentError(f"[replay] sampler must be one of {list(_SAMPLERS)}, got {sampler!r}")
        remover = remover if remover is not None else ("reservoir" if sampler == "reservoir" else "fifo")
        if remover not in _REMOVERS:
            raise InvalidArgumentError(f"[replay] remover must be one of {list(_REMOVERS)}, got {remover!r}")
        for name, value in (
            ("capacity", capacity),
            ("seed", seed),
            ("max_times_sampled", max_times_sampled),
            ("sequence_length", sequence_length),
        ):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise InvalidArgumentError(f"[replay] {name} must be a non-negative integer, got {value!r}")
        limiter = (rate_limiter or MinSize(1)).parameters()
        self.timeout = _timeout(timeout)
        self._table = engine_replay.ReplayTable(
            int(capacity),
            [(f.name, f.dtype.name, list(f.shape)) for f in self._fields],
            sampler,
            remover,
            float(alpha),
            float(beta),
            float(epsilon),
            -1.0 if default_priority is None else float(default_priority),
            int(max_times_sampled),
            limiter,
            int(seed),
            episode_end_field or "",
            int(sequence_length),
        )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def queue(cls, capacity: int, spec: Mapping[str, Any], **kwargs: Any) -> ReplayBuffer:
        """A FIFO queue: each item is sampled once, in insertion order; inserts wait while full."""
        return cls(
            capacity,
            spec,
            "fifo",
            remover="fifo",
            max_times_sampled=1,
            rate_limiter=Queue(capacity),
            **kwargs,
        )

    @classmethod
    def stack(cls, capacity: int, spec: Mapping[str, Any], **kwargs: Any) -> ReplayBuffer:
        """A LIFO stack: each item is sampled once, newest first; inserts wait while full."""
        return cls(
            capacity,
            spec,
            "lifo",
            remover="lifo",
            max_times_sampled=1,
            rate_limiter=Stack(capacity),
            **kwargs,
        )

    @classmethod
    def _from_table(cls, table: Any) -> ReplayBuffer:
        config = table.config()
        buffer = cls.__new__(cls)
        buffer._fields = parse_spec({name: (dtype, tuple(shape)) for name, dtype, shape in config["fields"]})
        buffer._names = [f.name for f in buffer._fields]
        buffer._table = table
        buffer.timeout = 0.0
        return buffer

    # ------------------------------------------------------------------------ properties
    @property
    def capacity(self) -> int:
        """Most items the buffer holds."""
        return int(self._table.config()["capacity"])

    @property
    def fields(self) -> list[Field]:
        """The schema, in order."""
        return list(self._fields)

    @property
    def nbytes_per_item(self) -> float:
        """Memory per slot of capacity: fields, key, priority, sample count and the selectors' trees
        and lists, as the engine counts them (``stats()["memory_bytes"] / capacity``).
        """
        return self.stats()["memory_bytes"] / self.capacity

    def stats(self) -> dict[str, int]:
        """Counters: size, inserts, samples, stale_updates (dropped), rejected_inserts (reservoir),
        memory_bytes.
        """
        return dict(self._table.stats())

    def __len__(self) -> int:
        return int(self._table.size())

    def sampling_mass(self) -> tuple[int, float, float]:
        """``(size, total_weight, min_weight)`` of the live items: a draw's probability times
        ``total_weight`` is its item's weight (w = (p + epsilon)^alpha; 1 for uniform sampling), which
        is what merging samples of several buffers needs.
        """
        size, total, smallest = self._table.sampling_mass()
        return int(size), float(total), float(smallest)

    # ---------------------------------------------------------------------------- writes
    def extend(
        self, batch: Mapping[str, Any], priorities: Any = None, *, timeout: float | str | None = "default"
    ) -> npt.NDArray[np.uint64]:
        """Insert the items of ``batch`` (name -> array whose first axis is the items); returns their keys."""
        op = "replay.extend"
        if not isinstance(batch, Mapping):
            raise InvalidArgumentError(
                f"[{op}] batch must be a mapping of field name -> array, got {type(batch).__name__}"
            )
        names = [f.name for f in self._fields]
        if set(batch) != set(names):
            missing, unknown = sorted(set(names) - set(batch)), sorted(set(batch) - set(names))
            raise InvalidArgumentError(f"[{op}] fields missing: {missing}, unknown: {unknown}")
        first = np.asarray(batch[names[0]])
        n = first.shape[0] if first.ndim > len(self._fields[0].shape) else -1
        if n < 0:
            raise InvalidArgumentError(
                f"[{op}] field {names[0]!r}: expected a leading item axis, got shape {first.shape}"
            )
        columns = [f.as_array(batch[f.name], (n,), op) for f in self._fields]
        prio = None
        if priorities is not None:
            prio = np.ascontiguousarray(priorities, dtype=np.float64)
            if prio.shape != (n,):
                raise InvalidArgumentError(f"[{op}] priorities: expected shape ({n},), got {prio.shape}")
        keys = np.empty(n, dtype=np.uint64)
        self._table.insert(columns, prio, keys, self._wait(timeout))
        return keys

    def add(self, priority: float | None = None, **fields: Any) -> int:
        """Insert one item given as keyword arguments (one per field); returns its key."""
        batch = {name: np.asarray(value)[None] for name, value in fields.items()}
        return int(self.extend(batch, None if priority is None else [priority])[0])

    def update_priorities(self, keys: Any, priorities: Any) -> int:
        """Set priorities of sampled items; returns how many keys were stale (their item had left)
        and were dropped. NaN, negative or infinite priorities and keys never issued raise before
        anything changes.
        """
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        priorities = np.ascontiguousarray(priorities, dtype=np.float64)
        if keys.ndim != 1 or priorities.shape != keys.shape:
            raise InvalidArgumentError(
                "[replay.update_priorities] keys and priorities must be 1-D of one length, "
                f"got {keys.shape} and {priorities.shape}"
            )
        return int(self._table.update_priorities(keys, priorities))

    # ----------------------------------------------------------------------------- reads
    def _outputs(self, leading: tuple[int, ...]) -> dict[str, np.ndarray]:
        return {f.name: np.empty(leading + f.shape, dtype=f.dtype) for f in self._fields}

    def _wait(self, timeout: float | str | None) -> float:
        return self.timeout if timeout == "default" else _timeout(timeout)  # type: ignore[arg-type]

    def sample(self, batch_size: int, *, timeout: float | str | None = "default") -> Batch:
        """``batch_size`` draws by the sampler (with replacement), with keys, probabilities and weights."""
        arrays, keys, probabilities, weights = self._table.sample_arrays(int(batch_size), self._wait(timeout))
        return Batch(dict(zip(self._names, arrays, strict=True)), keys, probabilities, weights)

    def sample_sequences(self, batch_size: int, *, timeout: float | str | None = "default") -> Batch:
        """``batch_size`` windows of ``sequence_length`` consecutive items of one episode; fields are
        ``(batch, length, ...)``, keys ``(batch, length)``, probabilities and weights per window.
        """
        length = int(self._table.config()["sequence_length"])
        fields = self._outputs((int(batch_size), length))
        keys = np.empty(batch_size * length, dtype=np.uint64)
        probabilities = np.empty(batch_size, dtype=np.float64)
        self._table.sample_sequences(
            int(batch_size), list(fields.values()), keys, probabilities, self._wait(timeout)
        )
        return Batch(fields, keys.reshape(batch_size, length), probabilities, np.ones(batch_size))

    def sample_nstep(
        self,
        batch_size: int,
        n: int,
        gamma: float,
        reward_field: str = "reward",
        *,
        timeout: float | str | None = "default",
    ) -> Batch:
        """Start items drawn by the sampler, with n-step returns computed at sample time: ``returns``
        (sum of gamma^k r over up to n items of the same episode), ``discounts`` (gamma^m, 0 when the
        episode ended) and ``last`` (the fields of the m-th item, e.g. its ``next_obs`` to bootstrap from).
        """
        fields = self._outputs((int(batch_size),))
        keys, last_keys = np.empty(batch_size, dtype=np.uint64), np.empty(batch_size, dtype=np.uint64)
        probabilities, weights = np.empty(batch_size), np.empty(batch_size)
        returns, discounts = np.empty(batch_size), np.empty(batch_size)
        self._table.sample_nstep(
            int(batch_size),
            int(n),
            float(gamma),
            reward_field,
            list(fields.values()),
            keys,
            probabilities,
            weights,
            returns,
            discounts,
            last_keys,
            self._wait(timeout),
        )
        last = self.gather(last_keys)
        return Batch(
            fields, keys, probabilities, weights, {"returns": returns, "discounts": discounts, "last": last}
        )

    def gather(self, keys: Any) -> dict[str, np.ndarray]:
        """The fields of live items by key; a key no longer in the buffer raises OutOfRangeError."""
        keys = np.ascontiguousarray(keys, dtype=np.uint64).reshape(-1)
        fields = self._outputs((len(keys),))
        self._table.gather(keys, list(fields.values()))
        return fields

    # ------------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Wake blocked callers with UnavailableError; later inserts and samples raise it too."""
        self._table.close()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write everything (data, priorities, keys, counters, limiter and RNG state) atomically."""
        self._table.save(os.fspath(path))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReplayBuffer:
        """A buffer that continues exactly as the saved one would have; a torn or damaged file raises
        CorruptDataError.
        """
        return cls._from_table(engine_replay.ReplayTable.load(os.fspath(path)))

    def as_dataset(self, batch_size: int, *, prefetch: int = 2, timeout: float | None = None) -> Any:
        """A ``torch.utils.data.IterableDataset`` of sampled batches, prefetched by a background thread."""
        from reactor.replay.dataset import ReplayDataset

        return ReplayDataset(self, batch_size, prefetch=prefetch, timeout=timeout)
