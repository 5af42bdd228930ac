"""Client sampling for federated rounds: uniform, weighted by data size, Poisson, availability-aware.

Every sampler is a pure function of ``(seed, round)``: round ``r`` draws from
``numpy.random.default_rng(SeedSequence([seed, r, purpose]))``, so a run can be replayed or resumed
at any round and two samplers with the same seed agree.

The sampling scheme matters for differential privacy: the subsampled-Gaussian guarantee of the RDP
accountant assumes **Poisson** sampling (each client joins independently with probability ``q``),
which is what :class:`PoissonSampler` does. The fixed-size samplers (:class:`UniformSampler`,
:class:`WeightedSampler`) report ``kind = "fixed_size"`` so the accountant can apply its documented
treatment of fixed-size sampling (see :class:`reactor.federated.privacy.PrivacyAccountant`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reactor.errors import InvalidArgumentError

__all__ = [
    "AvailabilityAwareSampler",
    "ClientSampler",
    "PoissonSampler",
    "SampleResult",
    "UniformSampler",
    "WeightedSampler",
    "round_rng",
]

# Purposes mixed into the seed so that different draws of one round are independent.
_SELECT = 0
_AVAILABLE = 1

IntArray = npt.NDArray[np.int64]


def round_rng(seed: int, round_index: int, purpose: int = 0) -> np.random.Generator:
    """The numpy Generator of ``(seed, round_index, purpose)``; all three must be >= 0."""
    for name, value in (("seed", seed), ("round", round_index), ("purpose", purpose)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise InvalidArgumentError(f"[federated.sampling] {name} must be an integer >= 0, got {value!r}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(round_index), int(purpose)]))


@dataclass(frozen=True)
class SampleResult:
    """The clients chosen for one round.

    ``selected``: clients that take part (sorted ids). ``unavailable``: clients the sampler chose
    but that were not reachable this round (skipped; always empty without availability).
    ``sample_rate``: the per-client inclusion probability the DP accountant should use.
    ``kind``: ``"poisson"`` or ``"fixed_size"``.
    """

    round: int
    selected: IntArray
    unavailable: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    sample_rate: float = 1.0
    kind: Literal["poisson", "fixed_size"] = "fixed_size"


class ClientSampler(ABC):
    """Base class: ``sample(round)`` returns a :class:`SampleResult`; ``sample_rate`` and ``kind``
    describe the scheme for privacy accounting.
    """

    num_clients: int
    seed: int
    kind: Literal["poisson", "fixed_size"] = "fixed_size"

    @property
    @abstractmethod
    def sample_rate(self) -> float:
        """Largest probability that a given client is selected in one round."""

    @abstractmethod
    def sample(self, round_index: int) -> SampleResult:
        """Choose the clients of round ``round_index``."""


def _check_num_clients(num_clients: int) -> int:
    if isinstance(num_clients, bool) or not isinstance(num_clients, int | np.integer) or num_clients < 1:
        raise InvalidArgumentError(
            f"[federated.sampling] num_clients must be an integer >= 1, got {num_clients!r}"
        )
    return int(num_clients)


def _check_per_round(clients_per_round: int, num_clients: int) -> int:
    if (
        isinstance(clients_per_round, bool)
        or not isinstance(clients_per_round, int | np.integer)
        or not 1 <= clients_per_round <= num_clients
    ):
        raise InvalidArgumentError(
            f"[federated.sampling] clients_per_round must be an integer in [1, num_clients={num_clients}], "
            f"got {clients_per_round!r}"
        )
    return int(clients_per_round)


class UniformSampler(ClientSampler):
    """``clients_per_round`` distinct clients, uniformly without replacement (Flower's scheme)."""

    kind: Literal["poisson", "fixed_size"] = "fixed_size"

    def __init__(self, num_clients: int, clients_per_round: int, seed: int = 0) -> None:
        self.num_clients = _check_num_clients(num_clients)
        self.clients_per_round = _check_per_round(clients_per_round, self.num_clients)
        self.seed = seed

    @property
    def sample_rate(self) -> float:
        """``clients_per_round / num_clients``."""
        return self.clients_per_round / self.num_clients

    def sample(self, round_index: int) -> SampleResult:
        """Choose the clients of round ``round_index``."""
        rng = round_rng(self.seed, round_index, _SELECT)
        chosen = rng.choice(self.num_clients, size=self.clients_per_round, replace=False)
        return SampleResult(round_index, np.sort(chosen).astype(np.int64), sample_rate=self.sample_rate)


def inclusion_probabilities(sizes: npt.ArrayLike, clients_per_round: int) -> npt.NDArray[np.float64]:
    """Inclusion probabilities proportional to ``sizes`` summing to ``clients_per_round``, capped
    at 1 (a client that would exceed 1 is always taken and the rest share the remainder).
    """
    w = np.asarray(sizes, dtype=np.float64)
    pi = np.zeros_like(w)
    certain = np.zeros(w.shape, dtype=bool)
    while True:
        remaining = clients_per_round - certain.sum()
        free = ~certain
        total = w[free].sum()
        pi[free] = remaining * w[free] / total if total > 0 else 0.0
        pi[certain] = 1.0
        newly = free & (pi >= 1.0)
        if not newly.any():
            return pi
        certain |= newly


class WeightedSampler(ClientSampler):
    """``clients_per_round`` distinct clients, each included with probability proportional to its
    data size: ``pi_k = m * n_k / sum(n)`` (capped at 1), by systematic PPS sampling over a random
    order of the clients (Madow 1949), which hits these inclusion probabilities exactly.

    ``replace=True`` instead draws ``clients_per_round`` times with replacement with
    probabilities ``n_k / sum(n)`` (duplicates collapse, so fewer clients may take part).
    """

    kind: Literal["poisson", "fixed_size"] = "fixed_size"

    def __init__(
        self,
        sizes: Sequence[float] | npt.ArrayLike,
        clients_per_round: int,
        seed: int = 0,
        replace: bool = False,
    ) -> None:
        w = np.asarray(sizes, dtype=np.float64)
        if w.ndim != 1 or w.size == 0:
            raise InvalidArgumentError(
                f"[federated.sampling] sizes must be a non-empty 1-D sequence, got shape {w.shape}"
            )
        bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
        if bad.size:
            raise InvalidArgumentError(
                f"[federated.sampling] sizes[{int(bad[0])}] must be finite and >= 0, got {w[bad[0]]}"
            )
        self.num_clients = int(w.size)
        self.clients_per_round = _check_per_round(clients_per_round, self.num_clients)
        if np.count_nonzero(w) < self.clients_per_round:
            raise InvalidArgumentError(
                f"[federated.sampling] only {np.count_nonzero(w)} clients have data (size > 0), "
                f"fewer than clients_per_round={self.clients_per_round}"
            )
        self.sizes = w
        self.seed = seed
        self.replace = replace
        self.probabilities = (
            1.0 - (1.0 - w / w.sum()) ** self.clients_per_round
            if replace
            else inclusion_probabilities(w, self.clients_per_round)
        )

    @property
    def sample_rate(self) -> float:
        """The largest inclusion probability of any client."""
        return float(self.probabilities.max())

    def sample(self, round_index: int) -> SampleResult:
        """Choose the clients of round ``round_index``."""
        rng = round_rng(self.seed, round_index, _SELECT)
        if self.replace:
            draws = rng.choice(self.num_clients, size=self.clients_per_round, p=self.sizes / self.sizes.sum())
            chosen = np.unique(draws)
        else:
            order = rng.permutation(self.num_clients)
            cumulative = np.concatenate([[0.0], np.cumsum(self.probabilities[order])])
            points = rng.uniform() + np.arange(self.clients_per_round)
            slots = np.searchsorted(cumulative, points, side="right") - 1
            chosen = order[np.clip(slots, 0, self.num_clients - 1)]
        return SampleResult(round_index, np.sort(chosen).astype(np.int64), sample_rate=self.sample_rate)


class PoissonSampler(ClientSampler):
    """Each client joins independently with probability ``rate`` (the number per round varies;
    a round may have no client). This is the sampling the subsampled-Gaussian RDP bound assumes.
    """

    kind: Literal["poisson", "fixed_size"] = "poisson"

    def __init__(self, num_clients: int, rate: float, seed: int = 0) -> None:
        self.num_clients = _check_num_clients(num_clients)
        if not isinstance(rate, int | float) or not 0.0 < float(rate) <= 1.0:
            raise InvalidArgumentError(f"[federated.sampling] rate must be in (0, 1], got {rate!r}")
        self.rate = float(rate)
        self.seed = seed

    @property
    def sample_rate(self) -> float:
        """``rate``."""
        return self.rate

    def sample(self, round_index: int) -> SampleResult:
        """Choose the clients of round ``round_index``."""
        rng = round_rng(self.seed, round_index, _SELECT)
        chosen = np.flatnonzero(rng.random(self.num_clients) < self.rate)
        return SampleResult(round_index, chosen.astype(np.int64), sample_rate=self.rate, kind="poisson")


Schedule = Callable[[int], Any]


class AvailabilityAwareSampler(ClientSampler):
    """Wrap a sampler: of the clients it chooses, those not available this round are skipped and
    reported in ``SampleResult.unavailable``.

    ``availability`` is either a sequence of per-client probabilities (client ``k`` is online in a
    round with probability ``p_k``, drawn from ``(seed, round)``) or a schedule: a callable
    ``schedule(round) -> boolean mask of length num_clients`` (e.g. a diurnal pattern).

    Dropping a sampled client for a reason independent of its data only lowers its inclusion
    probability, so the wrapped sampler's ``sample_rate`` stays a valid (conservative) rate for
    privacy accounting.
    """

    def __init__(self, base: ClientSampler, availability: Sequence[float] | npt.ArrayLike | Schedule) -> None:
        self.base = base
        self.num_clients = base.num_clients
        self.seed = base.seed
        self.kind = base.kind
        self.schedule: Schedule | None = None
        self.probabilities: npt.NDArray[np.float64] | None = None
        if callable(availability):
            self.schedule = availability
        else:
            p = np.asarray(availability, dtype=np.float64)
            if p.shape != (self.num_clients,):
                raise InvalidArgumentError(
                    f"[federated.sampling] availability: expected {self.num_clients} probabilities "
                    f"(one per client), got shape {p.shape}"
                )
            bad = np.flatnonzero(~np.isfinite(p) | (p < 0) | (p > 1))
            if bad.size:
                raise InvalidArgumentError(
                    f"[federated.sampling] availability[{int(bad[0])}] must be in [0, 1], got {p[bad[0]]}"
                )
            self.probabilities = p

    @property
    def sample_rate(self) -> float:
        """The wrapped sampler's rate (an upper bound on the effective rate)."""
        return self.base.sample_rate

    def available(self, round_index: int) -> npt.NDArray[np.bool_]:
        """Boolean mask of the clients online in round ``round_index``."""
        if self.schedule is not None:
            mask = np.asarray(self.schedule(round_index), dtype=bool)
            if mask.shape != (self.num_clients,):
                raise InvalidArgumentError(
                    f"[federated.sampling] availability schedule({round_index}) must return "
                    f"{self.num_clients} booleans, got shape {mask.shape}"
                )
            return mask
        assert self.probabilities is not None
        return round_rng(self.seed, round_index, _AVAILABLE).random(self.num_clients) < self.probabilities

    def sample(self, round_index: int) -> SampleResult:
        """Choose the clients of round ``round_index`` and skip the unavailable ones."""
        chosen = self.base.sample(round_index)
        online = self.available(round_index)[chosen.selected]
        return SampleResult(
            round_index,
            chosen.selected[online],
            unavailable=chosen.selected[~online],
            sample_rate=chosen.sample_rate,
            kind=chosen.kind,
        )
