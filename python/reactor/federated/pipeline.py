"""A composable aggregation pipeline: validate -> clip -> robust rule -> DP noise -> (secure sum)
-> server optimizer, configured by one pydantic model (:class:`PipelineConfig`).

    pipeline = AggregationPipeline(PipelineConfig(rule="median", clip={"enabled": True, "norm": 2.0}))
    report = pipeline.step(global_params, client_updates, weights, round_index=r, client_ids=ids)
    # global_params updated in place; report.dropped / report.epsilon / report.clip_norm ...

    grads = pipeline.aggregate_gradients([g_worker0, g_worker1, ...], step=t)   # data-parallel use

Stages (each optional except the rule):

- **validate**: every update must be numeric, finite, of the common length; weights finite and
  >= 0. ``on_bad_update = "raise"`` raises naming the client; ``"drop"`` leaves the client out of
  the round and reports why. Too few clients for the rule's ``f`` raises :class:`TooFewClientsError`
  naming the requirement.
- **clip**: per-client L2 clipping in the engine, flat or per layer, fixed or adaptive
  (:mod:`reactor.federated.privacy`).
- **rule**: :func:`reactor.federated.aggregate` (FedAvg or a robust rule). With DP and FedAvg the
  clipped updates are summed with unit weights and divided by the expected client count (the
  DP-FedAvg fixed-denominator estimator), so one client moves the result by at most ``C / m``.
- **DP noise**: ``N(0, (z C / m)^2)`` per coordinate from the engine's Philox stream keyed by
  ``(seed, round)``; the Opacus accountant records the round. The accountant's guarantee assumes
  the clipped mean; robust rules under DP need ``dp.allow_non_mean_rule`` (their sensitivity is
  not ``C / m``, so epsilon is then a heuristic, not a guarantee).
- **secure sum**: ``reactor.federated.secagg.secure_sum`` replaces the plain weighted sum
  (FedAvg only: the server learns nothing but the sum). Imported lazily when enabled.
- **server optimizer**: ``params += eta * update`` (``none``) or FedAvgM/FedAdam/FedYogi/FedAdagrad.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from reactor import engine
from reactor.errors import InvalidArgumentError
from reactor.federated.aggregate import aggregate
from reactor.federated.privacy import (
    COUNT_NOISE_OFFSET,
    AdaptiveClipping,
    ClipResult,
    PrivacyAccountant,
    SamplingKind,
    adaptive_noise_multiplier,
    clip_updates,
    gaussian_noise,
)
from reactor.federated.server_optimizer import ServerOptimizer
from reactor.train.config import Section

__all__ = [
    "AggregationPipeline",
    "ClipSettings",
    "DPSettings",
    "PipelineConfig",
    "RoundReport",
    "SecureAggregationSettings",
    "ServerOptimizerSettings",
    "TooFewClientsError",
    "rule_requirement",
]

Rule = Literal[
    "fedavg", "median", "trimmed_mean", "krum", "multi_krum", "bulyan", "geometric_median", "centered_clip"
]
F32 = npt.NDArray[np.float32]


class TooFewClientsError(InvalidArgumentError):
    """The round has fewer (valid) clients than the rule needs for its ``f``."""


class ClipSettings(Section):
    """Per-client L2 clipping (needed by DP; also a robustness defence on its own)."""

    enabled: bool = False
    norm: float = Field(default=1.0, gt=0, description="C (or the initial C when adaptive).")
    per_layer: bool = Field(default=False, description="Clip each layer to C / sqrt(L) (or layer_norms).")
    layer_norms: list[float] | None = Field(default=None, description="Explicit per-layer bounds C_l.")
    adaptive: bool = Field(default=False, description="Andrew et al. 2021 geometric quantile tracking.")
    target_quantile: float = Field(default=0.5, ge=0, le=1, description="gamma: target unclipped fraction.")
    learning_rate: float = Field(default=0.2, gt=0, description="eta_C of the geometric update.")

    @model_validator(mode="after")
    def _consistent(self) -> ClipSettings:
        if self.layer_norms is not None:
            if not self.per_layer:
                raise ValueError("layer_norms needs per_layer = true")
            if self.adaptive:
                raise ValueError("adaptive clipping tracks one norm; use per_layer without layer_norms")
            if any(not (math.isfinite(c) and c > 0) for c in self.layer_norms):
                raise ValueError(f"layer_norms must all be finite and > 0, got {self.layer_norms}")
        return self


class DPSettings(Section):
    """Central DP on the aggregate (DP-FedAvg) and its accountant."""

    enabled: bool = False
    noise_multiplier: float = Field(default=1.0, gt=0, description="z: noise std / sensitivity.")
    delta: float = Field(default=1e-5, gt=0, lt=1)
    target_epsilon: float | None = Field(default=None, gt=0, description="Budget: stop before exceeding it.")
    accountant: Literal["rdp", "prv"] = "rdp"
    fixed_size_accounting: Literal["poisson_approx", "no_amplification"] = "poisson_approx"
    expected_clients: float | None = Field(
        default=None, gt=0, description="Denominator m of the mean; default: the clients in the round."
    )
    count_stddev: float | None = Field(
        default=None, gt=0, description="sigma_b of the adaptive-clipping count; default m / 20."
    )
    allow_non_mean_rule: bool = Field(
        default=False, description="Add the same noise after a robust rule (epsilon is then heuristic)."
    )


class SecureAggregationSettings(Section):
    """Arguments of ``reactor.federated.secagg.secure_sum``: coordinate clip range, threshold, dropout."""

    enabled: bool = False
    clip: float = Field(default=8.0, gt=0, description="Quantisation range of the secure sum.")
    threshold: int | None = Field(default=None, ge=2, description="Shamir threshold t (default K // 2 + 1).")
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Simulated client dropout probability.")


class ServerOptimizerSettings(Section):
    """How the aggregate moves the global model."""

    kind: Literal["none", "fedavgm", "fedadam", "fedyogi", "fedadagrad"] = "none"
    eta: float | None = Field(
        default=None, gt=0, description="Server learning rate; 1.0 (none) / 0.01 default."
    )
    beta_1: float = Field(default=0.9, ge=0, lt=1)
    beta_2: float = Field(default=0.99, ge=0, lt=1)
    tau: float = Field(default=1e-3, gt=0)

    @property
    def learning_rate(self) -> float:
        """``eta`` or its default for ``kind``."""
        if self.eta is not None:
            return self.eta
        return 1.0 if self.kind in ("none", "fedavgm") else 1e-2


class PipelineConfig(Section):
    """The whole aggregation pipeline; see the module docstring for the stages."""

    rule: Rule = "fedavg"
    f: int = Field(default=0, ge=0, description="Byzantine clients tolerated (krum, multi_krum, bulyan).")
    m: int | None = Field(default=None, ge=1, description="multi_krum: vectors averaged (default n - f).")
    beta: float = Field(default=0.1, ge=0, lt=0.5, description="trimmed_mean: fraction cut at each end.")
    tau: float = Field(default=1.0, gt=0, description="centered_clip radius.")
    iters: int = Field(default=1, ge=1, description="centered_clip iterations.")
    on_bad_update: Literal["raise", "drop"] = "raise"
    seed: int = Field(default=0, ge=0, description="Keys the DP noise and secure-sum masks with the round.")
    clip: ClipSettings = Field(default_factory=ClipSettings)
    dp: DPSettings = Field(default_factory=DPSettings)
    secure_aggregation: SecureAggregationSettings = Field(default_factory=SecureAggregationSettings)
    server_optimizer: ServerOptimizerSettings = Field(default_factory=ServerOptimizerSettings)

    @model_validator(mode="after")
    def _stages_compose(self) -> PipelineConfig:
        if self.dp.enabled and not self.clip.enabled:
            raise ValueError("dp.enabled needs clip.enabled = true (DP noise is calibrated to the clip norm)")
        if self.dp.enabled and self.rule != "fedavg" and not self.dp.allow_non_mean_rule:
            raise ValueError(
                f"dp with rule={self.rule!r}: the accountant assumes the clipped mean (rule='fedavg'); "
                "set dp.allow_non_mean_rule = true to add the noise anyway (epsilon is then not a guarantee)"
            )
        if self.secure_aggregation.enabled and self.rule != "fedavg":
            raise ValueError(
                f"secure_aggregation needs rule='fedavg' (the server only sees the sum), got {self.rule!r}"
            )
        return self


def rule_requirement(rule: str, f: int, m: int | None = None) -> tuple[int, str]:
    """(minimum clients, human-readable requirement) of ``rule`` for ``f`` Byzantine clients."""
    if rule in ("krum", "multi_krum"):
        need, text = 2 * f + 3, f"n > 2f + 2 = {2 * f + 2}"
        if rule == "multi_krum" and m is not None and m > need:
            need, text = m, f"{text} and n >= m = {m}"
        return need, text
    if rule == "bulyan":
        return 4 * f + 3, f"n >= 4f + 3 = {4 * f + 3}"
    return 1, "n >= 1"


@dataclass
class RoundReport:
    """What one pipeline call did. ``update`` is the aggregated float32 update (after noise)."""

    round: int
    update: F32
    clients: list[int]
    dropped: dict[int, str] = field(default_factory=dict)
    clip_norm: float | None = None
    unclipped_fraction: float | None = None
    noise_std: float = 0.0
    epsilon: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the update vector)."""
        return {
            "round": self.round,
            "clients": self.clients,
            "dropped": {str(k): v for k, v in self.dropped.items()},
            "clip_norm": self.clip_norm,
            "unclipped_fraction": self.unclipped_fraction,
            "noise_std": self.noise_std,
            "epsilon": self.epsilon,
            "update_norm": float(np.linalg.norm(self.update.astype(np.float64))),
        }


def _problem(update: Any, dim: int | None) -> str | None:
    """Why ``update`` cannot be aggregated (None when it can)."""
    array = np.asarray(update)
    if array.dtype.kind not in "fiu":
        return f"dtype {array.dtype} is not numeric"
    if array.ndim != 1:
        return f"expected a 1-D vector, got shape {array.shape}"
    if dim is not None and array.shape[0] != dim:
        return f"shape mismatch: length {array.shape[0]}, expected {dim}"
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return "contains NaN or infinite values"
    return None


class AggregationPipeline:
    """Runs :class:`PipelineConfig`'s stages round after round and keeps their state (adaptive clip
    norm, server-optimizer moments, privacy accountant). ``layer_sizes`` (optional) splits updates
    into layers for per-layer clipping.
    """

    def __init__(
        self, config: PipelineConfig | None = None, *, layer_sizes: Sequence[int] | None = None
    ) -> None:
        self.config = config or PipelineConfig()
        self.layer_sizes = None if layer_sizes is None else [int(s) for s in layer_sizes]
        clip = self.config.clip
        self.last_report: RoundReport | None = None
        self.adaptive = (
            AdaptiveClipping(clip.norm, clip.target_quantile, clip.learning_rate) if clip.adaptive else None
        )
        dp = self.config.dp
        self.accountant = (
            PrivacyAccountant(
                delta=dp.delta,
                target_epsilon=dp.target_epsilon,
                mechanism=dp.accountant,
                fixed_size=dp.fixed_size_accounting,
            )
            if dp.enabled
            else None
        )
        opt = self.config.server_optimizer
        self.server_optimizer = (
            None
            if opt.kind == "none"
            else ServerOptimizer(opt.kind, opt.learning_rate, opt.beta_1, opt.beta_2, opt.tau)
        )

    # -- state ---------------------------------------------------------------------------------
    @property
    def clip_norm(self) -> float | None:
        """The clip norm the next round uses (None when clipping is off)."""
        if not self.config.clip.enabled:
            return None
        return self.adaptive.clip_norm if self.adaptive is not None else self.config.clip.norm

    @property
    def epsilon(self) -> float | None:
        """Privacy spent so far (None without DP)."""
        return None if self.accountant is None else self.accountant.epsilon

    def can_run(self, sample_rate: float = 1.0, sampling: SamplingKind = "poisson") -> bool:
        """Whether the DP budget allows one more round (always True without DP or a budget)."""
        if self.accountant is None:
            return True
        return self.accountant.can_run(self.config.dp.noise_multiplier, sample_rate, sampling)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: adaptive clip, server optimizer, accountant."""
        return {
            "config": self.config.model_dump(mode="json"),
            "adaptive": None if self.adaptive is None else self.adaptive.state_dict(),
            "server_optimizer": None if self.server_optimizer is None else self.server_optimizer.state_dict(),
            "accountant": None if self.accountant is None else self.accountant.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` output (same config)."""
        if self.adaptive is not None and state.get("adaptive"):
            self.adaptive.load_state_dict(state["adaptive"])
        if self.server_optimizer is not None and state.get("server_optimizer"):
            self.server_optimizer = ServerOptimizer.from_state_dict(state["server_optimizer"])
        if self.accountant is not None and state.get("accountant"):
            self.accountant = PrivacyAccountant.from_state_dict(state["accountant"])

    # -- stages --------------------------------------------------------------------------------
    def _validate(
        self, updates: Any, weights: Any, client_ids: Sequence[int] | None, dim: int | None
    ) -> tuple[F32, npt.NDArray[np.float64], list[int], dict[int, str]]:
        rows = list(updates)
        ids = list(range(len(rows))) if client_ids is None else [int(c) for c in client_ids]
        if len(ids) != len(rows):
            raise InvalidArgumentError(
                f"[federated.pipeline] client_ids: expected {len(rows)} ids (one per update), got {len(ids)}"
            )
        w = np.ones(len(rows)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.shape != (len(rows),):
            raise InvalidArgumentError(
                f"[federated.pipeline] weights: expected {len(rows)} values (one per client), "
                f"got shape {w.shape}"
            )
        if dim is None:
            lengths = Counter(int(np.size(r)) for r in rows if np.ndim(r) == 1)
            dim = lengths.most_common(1)[0][0] if lengths else None
        dropped: dict[int, str] = {}
        keep: list[int] = []
        for index, (client, update) in enumerate(zip(ids, rows, strict=True)):
            reason = _problem(update, dim)
            if reason is None and not (math.isfinite(w[index]) and w[index] >= 0):
                reason = f"weight must be finite and >= 0, got {w[index]}"
            if reason is None:
                keep.append(index)
            elif self.config.on_bad_update == "raise":
                raise InvalidArgumentError(f"[federated.pipeline] client {client}: {reason}")
            else:
                dropped[client] = reason
        need, text = rule_requirement(self.config.rule, self.config.f, self.config.m)
        if len(keep) < need:
            detail = f" after dropping {len(dropped)} bad update(s)" if dropped else ""
            raise TooFewClientsError(
                f"[federated.pipeline] rule {self.config.rule!r} with f={self.config.f} needs {text} "
                f"clients, got {len(keep)}{detail}"
            )
        if self.config.rule == "fedavg" and w[keep].sum() <= 0:
            raise InvalidArgumentError("[federated.pipeline] the weights of the round's clients are all 0")
        stack = np.empty((len(keep), dim or 0), dtype=np.float32)
        for row, index in enumerate(keep):
            stack[row] = np.asarray(rows[index], dtype=np.float32)
        return stack, w[keep], [ids[i] for i in keep], dropped

    def _clip(self, stack: F32) -> ClipResult | None:
        clip = self.config.clip
        if not clip.enabled:
            return None
        layers = None
        if clip.per_layer:
            if self.layer_sizes is None:
                raise InvalidArgumentError(
                    "[federated.pipeline] clip.per_layer needs layer_sizes (pass them to AggregationPipeline)"
                )
            layers = self.layer_sizes
        bound: float | list[float] = (
            clip.layer_norms if clip.layer_norms is not None else self.clip_norm or clip.norm
        )
        return clip_updates(stack, bound, layers)

    def _rule_params(self, count: int) -> dict[str, Any]:
        cfg = self.config
        if cfg.rule in ("krum", "bulyan"):
            return {"f": cfg.f}
        if cfg.rule == "multi_krum":
            return {"f": cfg.f, "m": cfg.m if cfg.m is not None else count - cfg.f}
        if cfg.rule == "trimmed_mean":
            return {"beta": cfg.beta}
        if cfg.rule == "centered_clip":
            return {"tau": cfg.tau, "iters": cfg.iters}
        return {}

    def _secure_sum(
        self, stack: F32, weights: npt.NDArray[np.float64] | None, round_index: int
    ) -> tuple[npt.NDArray[np.float64], float, list[int]]:
        """(weighted sum, total weight, row indices included) through the secure-aggregation protocol."""
        from reactor.federated.secagg import secure_sum  # the protocol's crypto imports only when used

        sa = self.config.secure_aggregation
        seed = int(np.random.SeedSequence([self.config.seed, round_index, 11]).generate_state(1)[0])
        result = secure_sum(
            stack, weights, clip=sa.clip, threshold=sa.threshold, dropout=sa.dropout, seed=seed
        )
        total = np.asarray(result.total, dtype=np.float64)
        if total.shape != (stack.shape[1],):
            raise InvalidArgumentError(
                f"[federated.pipeline] secure_sum returned shape {total.shape}, expected ({stack.shape[1]},)"
            )
        return total, float(result.weight_total), [int(i) for i in result.included]

    # -- public API ----------------------------------------------------------------------------
    def aggregate(
        self,
        updates: Any,
        weights: Any = None,
        *,
        round_index: int,
        client_ids: Sequence[int] | None = None,
        sample_rate: float = 1.0,
        sampling: SamplingKind = "poisson",
        expected_clients: float | None = None,
        dim: int | None = None,
    ) -> RoundReport:
        """Aggregate one round of client updates (a (K, D) array or K vectors) into one update.

        ``sample_rate`` / ``sampling`` describe how the round's clients were drawn (for the DP
        accountant); ``expected_clients`` overrides ``dp.expected_clients`` as the mean's
        denominator; ``dim`` is the expected update length (default: the most common length).
        """
        cfg = self.config
        stack, w, ids, dropped = self._validate(updates, weights, client_ids, dim)
        clip_norm = self.clip_norm
        clipped = self._clip(stack)
        denominator = float(expected_clients or cfg.dp.expected_clients or len(ids))
        if cfg.secure_aggregation.enabled:
            # The server sees only the sum of the clients that finish the protocol.
            total, weight_total, included = self._secure_sum(
                stack, None if cfg.dp.enabled else w, round_index
            )
            for row in sorted(set(range(len(ids))) - set(included)):
                dropped[ids[row]] = "dropped out during secure aggregation"
            ids = [ids[row] for row in included]
            update = total / (denominator if cfg.dp.enabled else weight_total)
        elif cfg.dp.enabled and cfg.rule == "fedavg":
            update = engine.weighted_sum(stack) / np.float32(denominator)
        else:
            update = aggregate(stack, w, cfg.rule, **self._rule_params(len(ids)))
        update = np.ascontiguousarray(update, dtype=np.float32)

        noise_std = 0.0
        count_noise = 0.0
        if cfg.dp.enabled:
            assert clipped is not None
            z = cfg.dp.noise_multiplier
            z_update = z
            if self.adaptive is not None:
                sigma_b = cfg.dp.count_stddev or denominator / 20.0
                z_update = adaptive_noise_multiplier(z, sigma_b)
                count_noise = float(
                    engine.normal(
                        1, seed=cfg.seed, stream=round_index, offset=COUNT_NOISE_OFFSET, std=sigma_b
                    )[0]
                )
            noise_std = z_update * clipped.sensitivity / denominator
            update += gaussian_noise(update.size, noise_std, seed=cfg.seed, round_index=round_index)
        if self.adaptive is not None and clipped is not None:
            self.adaptive.update(clipped.unclipped_count, denominator, count_noise)
        epsilon = None
        if self.accountant is not None:
            self.accountant.step(cfg.dp.noise_multiplier, sample_rate, sampling)
            epsilon = self.accountant.epsilon
        return RoundReport(
            round=round_index,
            update=update,
            clients=ids,
            dropped=dropped,
            clip_norm=clip_norm,
            unclipped_fraction=None if clipped is None else clipped.unclipped_count / max(stack.shape[0], 1),
            noise_std=noise_std,
            epsilon=epsilon,
        )

    def apply(self, params: F32, update: F32) -> None:
        """Move ``params`` (float32, contiguous, writable) by ``update`` with the server optimizer."""
        if self.server_optimizer is None:
            params += np.float32(self.config.server_optimizer.learning_rate) * update
        else:
            self.server_optimizer.step(params, update)

    def step(self, params: F32, updates: Any, weights: Any = None, **kwargs: Any) -> RoundReport:
        """:meth:`aggregate` then :meth:`apply` to ``params`` in place; returns the round's report."""
        if not (isinstance(params, np.ndarray) and params.dtype == np.float32 and params.ndim == 1):
            raise InvalidArgumentError("[federated.pipeline] params must be a 1-D float32 numpy array")
        report = self.aggregate(updates, weights, dim=params.size, **kwargs)
        self.apply(params, report.update)
        return report

    def aggregate_gradients(self, gradients: Sequence[Any], *, step: int, sample_rate: float = 1.0) -> Any:
        """Data-parallel use: combine one gradient per worker into one gradient of the same structure.

        Each worker's gradient is an array (any shape; numpy or torch) or a list of per-layer arrays
        (then ``clip.per_layer`` uses those layers). Returns the same structure (numpy, or torch
        tensors on the input's device and dtype when the inputs are tensors). The server optimizer
        is not applied: hand the result to the training optimizer. Workers are the clients.
        """
        if len(gradients) == 0:
            raise InvalidArgumentError(
                "[federated.pipeline] gradients: at least one worker's gradient is needed"
            )
        first = gradients[0]
        layered = isinstance(first, list | tuple)
        templates = list(first) if layered else [first]
        shapes = [tuple(np.shape(_to_numpy(t))) for t in templates]
        sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
        rows, workers, mismatched = [], [], {}
        for worker, grad in enumerate(gradients):
            arrays = [_to_numpy(p) for p in (list(grad) if layered else [grad])]
            if [a.shape for a in arrays] != shapes:
                message = f"gradient shapes {[a.shape for a in arrays]} differ from worker 0's {shapes}"
                if self.config.on_bad_update == "raise":
                    raise InvalidArgumentError(f"[federated.pipeline] worker {worker}: {message}")
                mismatched[worker] = message
                continue
            rows.append(np.concatenate([a.reshape(-1) for a in arrays]).astype(np.float32, copy=False))
            workers.append(worker)
        if self.layer_sizes is None and layered:
            self.layer_sizes = sizes
        report = self.aggregate(
            rows, round_index=step, client_ids=workers, sample_rate=sample_rate, dim=sum(sizes)
        )
        report.dropped.update(mismatched)
        self.last_report = report
        out, start = [], 0
        for template, shape, size in zip(templates, shapes, sizes, strict=True):
            piece = report.update[start : start + size].reshape(shape)
            out.append(_like(piece, template))
            start += size
        return out if layered else out[0]


def _to_numpy(value: Any) -> npt.NDArray[Any]:
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _like(array: F32, template: Any) -> Any:
    if hasattr(template, "detach"):
        import torch

        return torch.from_numpy(np.ascontiguousarray(array)).to(device=template.device, dtype=template.dtype)
    return array.astype(np.asarray(template).dtype, copy=False)
