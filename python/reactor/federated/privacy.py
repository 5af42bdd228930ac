"""Differential privacy for federated rounds (user-level DP-FedAvg, McMahan et al. ICLR 2018).

One round of the Gaussian mechanism:

1. **Clip** every client update to L2 norm ``C`` in the engine (:func:`clip_updates`): flat (the
   whole update) or per layer (layer ``l`` to ``C_l``; sensitivity ``S = sqrt(sum C_l^2)``, by
   default ``C_l = C / sqrt(L)`` so ``S = C``).
2. **Sum** the clipped updates, add ``N(0, (z * S)^2 I)`` and divide by the expected number of
   clients ``m`` (the fixed-denominator estimator): the noise on the mean has std ``z * S / m``.
   The noise of round ``r`` is the engine's counter-based Philox stream ``normal(D, seed=seed,
   stream=r)`` scaled by the std (:func:`gaussian_noise`): reproducible per ``(seed, round)``,
   independent of thread count and device.
3. **Adaptive clipping** (Andrew et al., NeurIPS 2021): with ``b_i = [||x_i|| <= C]``,
   ``b_bar = (sum_i b_i + N(0, sigma_b^2)) / m`` and ``C <- C * exp(-eta_C * (b_bar - gamma))``;
   so that the pair (update sum, count) still has total noise multiplier ``z``, the update noise
   uses ``z_delta = (z^-2 - (2 sigma_b)^-2)^(-1/2)`` (:func:`adaptive_noise_multiplier`). The count
   noise is element ``COUNT_NOISE_OFFSET`` of the same ``(seed, stream=round)`` sequence.
4. **Accounting** with Opacus (:class:`PrivacyAccountant`): each round is one step of the sampled
   Gaussian mechanism with noise multiplier ``z`` and client sampling rate ``q``; ``epsilon`` at the
   configured ``delta`` comes from Opacus' ``RDPAccountant`` (or ``PRVAccountant``). With a target
   epsilon, :meth:`PrivacyAccountant.can_run` says whether one more round stays within budget.

Sampling and the accountant. Poisson client sampling (each client joins with probability ``q``)
is exactly the subsampled-Gaussian mechanism the RDP/PRV analyses assume. Fixed-size sampling
(``m`` of ``N`` without replacement) is accounted by one of two documented treatments:
``"poisson_approx"`` uses ``q = m / N`` as if it were Poisson — Opacus' own approximation when
``poisson_sampling=False``, tight in practice but not a proof for this scheme — and
``"no_amplification"`` uses ``q = 1``: the Gaussian mechanism on the sampled set without any
amplification by subsampling, a valid upper bound under add/remove-one-client adjacency.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reactor import engine
from reactor.engine import privacy as engine_privacy
from reactor.engine.privacy import adaptive_noise_multiplier
from reactor.errors import InvalidArgumentError, UnavailableError

__all__ = [
    "COUNT_NOISE_OFFSET",
    "AdaptiveClipping",
    "ClipResult",
    "PrivacyAccountant",
    "adaptive_noise_multiplier",
    "clip_updates",
    "gaussian_noise",
    "layer_clip_norms",
]

#: Offset in the ``(seed, stream=round)`` Philox sequence of the adaptive-clipping count noise, far
#: past any update's coordinates so the two never share a random number.
COUNT_NOISE_OFFSET = 2**62

Mechanism = Literal["rdp", "prv"]
FixedSizeAccounting = Literal["poisson_approx", "no_amplification"]
SamplingKind = Literal["poisson", "fixed_size"]


def _positive(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0)
    ):
        raise InvalidArgumentError(f"[federated.privacy] {name} must be a finite number > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ClipResult:
    """What clipping did to a round's updates.

    ``norms``: L2 norm of each update before clipping (K,). ``layer_norms``: (K, L) per-layer norms
    before clipping (per-layer clipping only). ``unclipped``: (K,) True where the update was within
    its bound (no layer scaled). ``sensitivity``: the L2 bound every clipped update now satisfies.
    """

    norms: npt.NDArray[np.float64]
    unclipped: npt.NDArray[np.bool_]
    sensitivity: float
    layer_norms: npt.NDArray[np.float64] | None = None

    @property
    def unclipped_count(self) -> int:
        """How many updates were not scaled."""
        return int(self.unclipped.sum())


def layer_clip_norms(clip_norm: float, num_layers: int) -> list[float]:
    """The equal split ``C_l = C / sqrt(L)`` whose overall bound is ``sqrt(sum C_l^2) = C``."""
    _positive("clip_norm", clip_norm)
    if num_layers < 1:
        raise InvalidArgumentError(f"[federated.privacy] num_layers must be >= 1, got {num_layers}")
    return [clip_norm / math.sqrt(num_layers)] * num_layers


def clip_updates(
    updates: npt.NDArray[np.float32],
    clip_norm: float | Sequence[float],
    layer_sizes: Sequence[int] | None = None,
) -> ClipResult:
    """Clip each row of ``updates`` (K, D) float32, C-contiguous, **in place**, in the engine.

    Flat (``layer_sizes`` None): every row to L2 norm ``clip_norm``. Per layer: ``layer_sizes``
    splits D into consecutive layers; layer ``l`` of every row is clipped to ``clip_norm[l]``
    (a sequence) or to ``clip_norm / sqrt(L)`` (a number).
    """
    if not isinstance(updates, np.ndarray) or updates.ndim != 2 or updates.dtype != np.float32:
        raise InvalidArgumentError(
            "[federated.privacy] updates: expected a (K, D) float32 numpy array, got "
            f"{type(updates).__name__} {getattr(updates, 'dtype', '')}{getattr(updates, 'shape', '')}"
        )
    if layer_sizes is None:
        if not isinstance(clip_norm, int | float):
            raise InvalidArgumentError(
                "[federated.privacy] a sequence of clip norms needs layer_sizes (per-layer clipping)"
            )
        bound = _positive("clip_norm", clip_norm)
        norms = engine.clip_rows(updates, bound)
        return ClipResult(norms=norms, unclipped=norms <= bound, sensitivity=bound)
    sizes = [int(s) for s in layer_sizes]
    if any(s <= 0 for s in sizes) or sum(sizes) != updates.shape[1]:
        raise InvalidArgumentError(
            f"[federated.privacy] layer_sizes must be positive and sum to the update length "
            f"{updates.shape[1]}, got {sizes}"
        )
    if isinstance(clip_norm, int | float):
        bounds = layer_clip_norms(float(clip_norm), len(sizes))
    else:
        bounds = [_positive(f"clip_norm[{i}]", c) for i, c in enumerate(clip_norm)]
        if len(bounds) != len(sizes):
            raise InvalidArgumentError(
                f"[federated.privacy] clip_norm: expected {len(sizes)} per-layer norms, got {len(bounds)}"
            )
    layer_norms = np.empty((updates.shape[0], len(sizes)), dtype=np.float64)
    unclipped = np.ones(updates.shape[0], dtype=bool)
    start = 0
    for layer, (size, bound) in enumerate(zip(sizes, bounds, strict=True)):
        # Contiguous row slices of one layer; the engine scales them in place.
        views = [updates[k, start : start + size] for k in range(updates.shape[0])]
        layer_norms[:, layer] = engine.clip_rows(views, bound)
        unclipped &= layer_norms[:, layer] <= bound
        start += size
    return ClipResult(
        norms=np.sqrt((layer_norms**2).sum(axis=1)),
        unclipped=unclipped,
        sensitivity=math.sqrt(sum(b * b for b in bounds)),
        layer_norms=layer_norms,
    )


def gaussian_noise(dim: int, std: float, *, seed: int, round_index: int) -> npt.NDArray[np.float32]:
    """``std * z`` with ``z = engine.normal(dim, seed=seed, stream=round_index)``, as float32."""
    if not (math.isfinite(std) and std >= 0):
        raise InvalidArgumentError(f"[federated.privacy] noise std must be finite and >= 0, got {std!r}")
    return engine.normal(dim, seed=seed, stream=round_index, std=float(std), dtype=np.float32)


class AdaptiveClipping:
    """Geometric quantile tracking of the clip norm (Andrew et al. 2021).

    ``update(unclipped_count, denominator, noise)`` applies
    ``C <- C * exp(-learning_rate * (b_bar - target_quantile))`` with
    ``b_bar = (unclipped_count + noise) / denominator`` and returns the new ``C``.
    """

    def __init__(
        self, initial_clip_norm: float = 0.1, target_quantile: float = 0.5, learning_rate: float = 0.2
    ) -> None:
        self.clip_norm = _positive("initial_clip_norm", initial_clip_norm)
        if not 0.0 <= target_quantile <= 1.0:
            raise InvalidArgumentError(
                f"[federated.privacy] target_quantile must be in [0, 1], got {target_quantile!r}"
            )
        self.target_quantile = float(target_quantile)
        self.learning_rate = _positive("learning_rate", learning_rate)

    def update(self, unclipped_count: int, denominator: float, noise: float = 0.0) -> float:
        """One step of the geometric update (in the engine); returns the new clip norm."""
        step = engine_privacy.adaptive_clip_update(
            self.clip_norm,
            unclipped_count,
            denominator,
            target_quantile=self.target_quantile,
            learning_rate=self.learning_rate,
            count_noise=noise,
        )
        self.clip_norm = step.clip_norm
        return self.clip_norm

    def state_dict(self) -> dict[str, float]:
        """The clip norm and hyper-parameters."""
        return {
            "clip_norm": self.clip_norm,
            "target_quantile": self.target_quantile,
            "learning_rate": self.learning_rate,
        }

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Continue from ``state``."""
        self.clip_norm = _positive("clip_norm", state["clip_norm"])
        self.target_quantile = float(state["target_quantile"])
        self.learning_rate = _positive("learning_rate", state["learning_rate"])


def _opacus_accountant(mechanism: str) -> Any:
    try:
        from opacus.accountants import PRVAccountant, RDPAccountant
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise UnavailableError(
            "[federated.privacy] DP accounting needs Opacus: pip install 'reactor[federated]'"
        ) from error
    if mechanism == "rdp":
        return RDPAccountant()
    if mechanism == "prv":
        return PRVAccountant()
    raise InvalidArgumentError(f"[federated.privacy] accountant must be 'rdp' or 'prv', got {mechanism!r}")


#: Opacus' default RDP orders (``RDPAccountant.DEFAULT_ALPHAS``).
_RDP_ORDERS: list[float] = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


@functools.lru_cache(maxsize=256)
def _rdp_curve(sample_rate: float, noise_multiplier: float) -> npt.NDArray[np.float64]:
    """Opacus' RDP of one step of the sampled Gaussian mechanism at every default order."""
    from opacus.accountants.analysis import rdp as analysis

    return np.asarray(
        analysis.compute_rdp(q=sample_rate, noise_multiplier=noise_multiplier, steps=1, orders=_RDP_ORDERS)
    )


class PrivacyAccountant:
    """(epsilon, delta) of the rounds run so far, from Opacus' RDP or PRV accountant, and a budget.

    ``step(noise_multiplier, sample_rate, kind)`` records one round of the subsampled Gaussian
    mechanism; ``epsilon`` is the spend at ``delta``. ``target_epsilon`` (optional) is the budget:
    :meth:`can_run` is False once one more round would exceed it. Fixed-size sampling is accounted
    by ``fixed_size`` (see the module docstring): ``"poisson_approx"`` (q as given) or
    ``"no_amplification"`` (q = 1).
    """

    def __init__(
        self,
        *,
        delta: float,
        target_epsilon: float | None = None,
        mechanism: Mechanism = "rdp",
        fixed_size: FixedSizeAccounting = "poisson_approx",
    ) -> None:
        if not (isinstance(delta, int | float) and 0.0 < delta < 1.0):
            raise InvalidArgumentError(f"[federated.privacy] delta must be in (0, 1), got {delta!r}")
        if target_epsilon is not None:
            _positive("target_epsilon", target_epsilon)
        if fixed_size not in ("poisson_approx", "no_amplification"):
            raise InvalidArgumentError(
                "[federated.privacy] fixed_size accounting must be 'poisson_approx' or 'no_amplification', "
                f"got {fixed_size!r}"
            )
        self.delta = float(delta)
        self.target_epsilon = target_epsilon
        self.mechanism = mechanism
        self.fixed_size = fixed_size
        self._accountant = _opacus_accountant(mechanism)
        self._epsilon_cache: float | None = None

    def accounted_rate(self, sample_rate: float, kind: SamplingKind) -> float:
        """The sampling rate handed to Opacus for a round sampled with ``kind`` at ``sample_rate``."""
        if not (isinstance(sample_rate, int | float) and 0.0 < sample_rate <= 1.0):
            raise InvalidArgumentError(
                f"[federated.privacy] sample_rate must be in (0, 1], got {sample_rate!r}"
            )
        if kind == "poisson":
            return float(sample_rate)
        if kind == "fixed_size":
            return 1.0 if self.fixed_size == "no_amplification" else float(sample_rate)
        raise InvalidArgumentError(
            f"[federated.privacy] sampling kind must be 'poisson' or 'fixed_size', got {kind!r}"
        )

    def _epsilon_of(self, history: list[tuple[float, float, int]]) -> float:
        if not history:
            return 0.0
        with warnings.catch_warnings():
            # Opacus warns when the best RDP order is at the edge of its default grid; the bound is
            # still valid (just not the tightest), so this is not an error for a caller.
            warnings.filterwarnings("ignore", message="Optimal order is the")
            if self.mechanism == "prv":
                trial = _opacus_accountant("prv")
                trial.history = list(history)
                return float(trial.get_epsilon(delta=self.delta))
            # RDPAccountant.get_privacy_spent, with Opacus' per-step RDP curve cached: it computes
            # sum_h compute_rdp(q_h, z_h, steps_h) = sum_h steps_h * compute_rdp(q_h, z_h, 1), so this
            # is the same number without re-evaluating 150 orders for every round of the history.
            from opacus.accountants.analysis import rdp as analysis

            rdp = sum(steps * _rdp_curve(rate, z) for z, rate, steps in history)
            epsilon, _ = analysis.get_privacy_spent(orders=_RDP_ORDERS, rdp=rdp, delta=self.delta)
            return float(epsilon)

    def step(self, noise_multiplier: float, sample_rate: float, kind: SamplingKind = "poisson") -> None:
        """Record one round (read :attr:`epsilon` for the spend; it is computed when first read)."""
        z = _positive("noise_multiplier", noise_multiplier)
        self._accountant.step(noise_multiplier=z, sample_rate=self.accounted_rate(sample_rate, kind))
        self._epsilon_cache = None

    @property
    def rounds(self) -> int:
        """Rounds recorded so far."""
        return int(sum(steps for _, _, steps in self._accountant.history))

    @property
    def epsilon(self) -> float:
        """Epsilon spent so far at ``delta`` (0 before any round)."""
        if self._epsilon_cache is None:
            self._epsilon_cache = self._epsilon_of(self._accountant.history)
        return self._epsilon_cache

    def epsilon_after(
        self, noise_multiplier: float, sample_rate: float, kind: SamplingKind = "poisson", rounds: int = 1
    ) -> float:
        """Epsilon if ``rounds`` more rounds with these parameters were run (nothing is recorded)."""
        trial = copy.deepcopy(self._accountant)
        rate = self.accounted_rate(sample_rate, kind)
        z = _positive("noise_multiplier", noise_multiplier)
        for _ in range(rounds):
            trial.step(noise_multiplier=z, sample_rate=rate)
        return self._epsilon_of(trial.history)

    def can_run(self, noise_multiplier: float, sample_rate: float, kind: SamplingKind = "poisson") -> bool:
        """Whether one more round keeps epsilon within ``target_epsilon`` (always True without one)."""
        if self.target_epsilon is None:
            return True
        return self.epsilon_after(noise_multiplier, sample_rate, kind) <= self.target_epsilon

    def state_dict(self) -> dict[str, Any]:
        """Settings and the Opacus history, for a checkpoint."""
        return {
            "delta": self.delta,
            "target_epsilon": self.target_epsilon,
            "mechanism": self.mechanism,
            "fixed_size": self.fixed_size,
            "history": [list(entry) for entry in self._accountant.history],
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> PrivacyAccountant:
        """Rebuild an accountant that continues where ``state`` was taken."""
        accountant = cls(
            delta=state["delta"],
            target_epsilon=state["target_epsilon"],
            mechanism=state["mechanism"],
            fixed_size=state["fixed_size"],
        )
        accountant._accountant.history = [
            (float(z), float(rate), int(steps)) for z, rate, steps in state["history"]
        ]
        return accountant
