"""In-process federated-learning simulation: non-IID synthetic clients, local torch training, client
sampling, Byzantine attacks, the aggregation pipeline (rule, clipping, DP, secure sum, server
optimizer) and held-out evaluation every round.

    from reactor.federated.config import FLSimulationConfig
    from reactor.federated.simulation import run_simulation

    result = run_simulation(FLSimulationConfig(), out_dir="runs/fl")
    result.final_accuracy, result.epsilon, result.stopped_reason

Outputs in ``out_dir``: ``metrics.jsonl`` (one line per round, flushed as it goes),
``metrics.json`` (config, summary and every round) and ``accuracy.png`` (accuracy per round).
Training stops early when the DP budget (``aggregation.dp.target_epsilon``) would be exceeded by
one more round; an interrupt (Ctrl-C) stops after writing what was done.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reactor.federated.attacks import apply_attack, flip_labels
from reactor.federated.config import FLSimulationConfig
from reactor.federated.pipeline import AggregationPipeline, TooFewClientsError, rule_requirement
from reactor.federated.sampling import (
    AvailabilityAwareSampler,
    ClientSampler,
    PoissonSampler,
    UniformSampler,
    WeightedSampler,
    round_rng,
)

__all__ = [
    "FederatedData",
    "SimulationResult",
    "build_sampler",
    "make_federated_data",
    "plot_accuracy",
    "run_simulation",
]

_DATA_PURPOSE = 100
_ATTACKERS_PURPOSE = 101


@dataclass
class FederatedData:
    """Per-client training sets and a held-out test set (float32 features, int64 labels)."""

    client_x: list[npt.NDArray[np.float32]]
    client_y: list[npt.NDArray[np.int64]]
    test_x: npt.NDArray[np.float32]
    test_y: npt.NDArray[np.int64]

    @property
    def sizes(self) -> npt.NDArray[np.int64]:
        """Examples per client."""
        return np.array([len(y) for y in self.client_y], dtype=np.int64)


def make_federated_data(config: FLSimulationConfig) -> FederatedData:
    """The Gaussian-mixture task of ``config.data`` with Dirichlet label skew, seeded by ``run.seed``."""
    d = config.data
    rng = round_rng(config.run.seed, 0, _DATA_PURPOSE)
    means = rng.normal(0.0, d.class_separation, size=(d.num_classes, d.dim))

    def draw(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        return (means[labels] + rng.normal(size=(labels.size, d.dim))).astype(np.float32)

    sizes = np.maximum(8, np.round(d.samples_per_client * rng.lognormal(0.0, d.size_spread, d.num_clients)))
    client_x, client_y = [], []
    for size in sizes.astype(np.int64):
        proportions = rng.dirichlet(np.full(d.num_classes, d.dirichlet_alpha))
        labels = rng.choice(d.num_classes, size=int(size), p=proportions).astype(np.int64)
        client_x.append(draw(labels))
        client_y.append(labels)
    test_y = rng.integers(0, d.num_classes, size=d.test_samples).astype(np.int64)
    return FederatedData(client_x, client_y, draw(test_y), test_y)


def build_sampler(config: FLSimulationConfig, sizes: npt.ArrayLike) -> ClientSampler:
    """The client sampler of ``config.sampling`` (wrapped for availability when configured)."""
    s, n, seed = config.sampling, config.data.num_clients, config.run.seed
    sampler: ClientSampler
    if s.kind == "uniform":
        sampler = UniformSampler(n, s.clients_per_round, seed)
    elif s.kind == "weighted":
        sampler = WeightedSampler(sizes, s.clients_per_round, seed)
    else:
        sampler = PoissonSampler(n, s.rate, seed)
    if s.availability is None:
        return sampler
    probabilities = [float(s.availability)] * n if isinstance(s.availability, int | float) else s.availability
    return AvailabilityAwareSampler(sampler, probabilities)


@dataclass
class SimulationResult:
    """The run's per-round metrics and summary."""

    rounds: list[dict[str, Any]] = field(default_factory=list)
    initial_accuracy: float = 0.0
    stopped_reason: str = "completed"
    out_dir: Path | None = None

    @property
    def accuracies(self) -> list[float]:
        """Test accuracy after each round."""
        return [r["accuracy"] for r in self.rounds]

    @property
    def final_accuracy(self) -> float:
        """Accuracy after the last round run (the initial accuracy if none ran)."""
        return self.accuracies[-1] if self.rounds else self.initial_accuracy

    @property
    def epsilon(self) -> float | None:
        """Privacy spent by the run (None without DP)."""
        for r in reversed(self.rounds):
            if r["epsilon"] is not None:
                return float(r["epsilon"])
        return None

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "rounds_run": len(self.rounds),
            "initial_accuracy": self.initial_accuracy,
            "final_accuracy": self.final_accuracy,
            "best_accuracy": max(self.accuracies, default=self.initial_accuracy),
            "epsilon": self.epsilon,
            "stopped_reason": self.stopped_reason,
        }


class _Model:
    """The MLP, with its parameters as one flat float32 vector."""

    def __init__(self, config: FLSimulationConfig) -> None:
        import torch

        self.torch = torch
        torch.manual_seed(config.run.seed)
        d = config.data
        self.net = torch.nn.Sequential(
            torch.nn.Linear(d.dim, config.model.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(config.model.hidden, d.num_classes),
        )
        self.layer_sizes = [int(p.numel()) for p in self.net.parameters()]

    def get(self) -> npt.NDArray[np.float32]:
        vector = self.torch.nn.utils.parameters_to_vector(self.net.parameters())
        return vector.detach().numpy().astype(np.float32, copy=True)

    def set(self, flat: npt.NDArray[np.float32]) -> None:
        self.torch.nn.utils.vector_to_parameters(self.torch.from_numpy(flat.copy()), self.net.parameters())

    def train(
        self,
        x: npt.NDArray[np.float32],
        y: npt.NDArray[np.int64],
        epochs: int,
        batch_size: int,
        lr: float,
        seed: int,
    ) -> None:
        torch = self.torch
        features, labels = torch.from_numpy(x), torch.from_numpy(y)
        optimizer = torch.optim.SGD(self.net.parameters(), lr=lr)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            order = torch.randperm(len(labels), generator=generator)
            for start in range(0, len(labels), batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(self.net(features[batch]), labels[batch]).backward()
                optimizer.step()

    def evaluate(self, x: npt.NDArray[np.float32], y: npt.NDArray[np.int64]) -> tuple[float, float]:
        torch = self.torch
        with torch.no_grad():
            logits = self.net(torch.from_numpy(x))
            loss = float(torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)))
            accuracy = float((logits.argmax(dim=1).numpy() == y).mean())
        return accuracy, loss


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """Tiny models train fastest on one thread; restore the caller's setting afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2))
    os.replace(temporary, path)


def plot_accuracy(result: SimulationResult, path: Path, title: str) -> None:
    """Accuracy per round (round 0 = the initial model) as a PNG, with the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = [0, *[r["round"] + 1 for r in result.rounds]]
    accuracy = [result.initial_accuracy, *result.accuracies]
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(rounds, accuracy, marker="o", markersize=3)
    axis.set_xlabel("round")
    axis.set_ylabel("test accuracy")
    axis.set_ylim(0.0, 1.0)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    temporary = path.with_name(path.stem + ".tmp.png")
    figure.savefig(temporary, dpi=100)
    plt.close(figure)
    os.replace(temporary, path)


RoundCallback = Callable[[dict[str, Any]], None]


def run_simulation(
    config: FLSimulationConfig,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    on_round: RoundCallback | None = None,
    write_outputs: bool = True,
) -> SimulationResult:
    """Run the federated experiment of ``config``; write outputs to ``out_dir`` (default
    ``config.run.out_dir``) unless ``write_outputs`` is False. ``on_round`` gets each round's metrics.
    """
    with _torch_threads(1):
        return _run(config, Path(out_dir or config.run.out_dir), on_round, write_outputs)


def _run(
    config: FLSimulationConfig, out: Path, on_round: RoundCallback | None, write_outputs: bool
) -> SimulationResult:
    seed = config.run.seed
    data = make_federated_data(config)
    sampler = build_sampler(config, data.sizes)
    model = _Model(config)
    pipeline = AggregationPipeline(config.aggregation, layer_sizes=model.layer_sizes)
    n = config.data.num_clients
    attackers = set(
        round_rng(seed, 0, _ATTACKERS_PURPOSE).permutation(n)[: round(config.attack.fraction * n)].tolist()
    )
    expected = (
        config.sampling.rate * n
        if config.sampling.kind == "poisson"
        else float(config.sampling.clients_per_round)
    )
    need, requirement = rule_requirement(config.aggregation.rule, config.aggregation.f, config.aggregation.m)
    params = model.get()
    result = SimulationResult(initial_accuracy=model.evaluate(data.test_x, data.test_y)[0], out_dir=out)
    jsonl = None
    if write_outputs:
        out.mkdir(parents=True, exist_ok=True)
        jsonl = (out / "metrics.jsonl").open("w")
    try:
        for round_index in range(config.run.rounds):
            if not pipeline.can_run(sampler.sample_rate, sampler.kind):
                result.stopped_reason = (
                    f"privacy budget: one more round would exceed target_epsilon="
                    f"{config.aggregation.dp.target_epsilon} (spent {pipeline.epsilon:.4f})"
                )
                break
            started = time.perf_counter()
            metrics = _round(config, data, sampler, model, pipeline, params, attackers, expected, round_index)
            if metrics["skipped"] is not None and config.aggregation.on_bad_update == "raise":
                raise TooFewClientsError(
                    f"[federated.simulation] round {round_index}: rule {config.aggregation.rule!r} needs "
                    f"{requirement} (at least {need}) clients, got {metrics['num_aggregated']} "
                    f"({metrics['skipped']})"
                )
            model.set(params)
            metrics["accuracy"], metrics["loss"] = model.evaluate(data.test_x, data.test_y)
            metrics["epsilon"] = pipeline.epsilon
            metrics["seconds"] = round(time.perf_counter() - started, 4)
            result.rounds.append(metrics)
            if jsonl is not None:
                jsonl.write(json.dumps(metrics) + "\n")
                jsonl.flush()
            if on_round is not None:
                on_round(metrics)
            if not np.isfinite(params).all():
                result.stopped_reason = f"diverged: the global model became non-finite in round {round_index}"
                break
    except KeyboardInterrupt:
        result.stopped_reason = "interrupted"
    finally:
        if jsonl is not None:
            jsonl.close()
        if write_outputs:
            _write_json(
                out / "metrics.json",
                {
                    "config": config.model_dump(mode="json"),
                    "attackers": sorted(attackers),
                    "summary": result.summary(),
                    "rounds": result.rounds,
                },
            )
            plot_accuracy(
                result, out / "accuracy.png", f"{config.aggregation.rule}, attack={config.attack.kind}"
            )
    return result


def _round(
    config: FLSimulationConfig,
    data: FederatedData,
    sampler: ClientSampler,
    model: _Model,
    pipeline: AggregationPipeline,
    params: npt.NDArray[np.float32],
    attackers: set[int],
    expected: float,
    round_index: int,
) -> dict[str, Any]:
    """One round: sample, train locally, attack, aggregate, update ``params`` in place."""
    seed = config.run.seed
    sample = sampler.sample(round_index)
    selected = sample.selected.tolist()
    malicious_rows = [i for i, c in enumerate(selected) if c in attackers]
    updates = np.empty((len(selected), params.size), dtype=np.float32)
    for row, client in enumerate(selected):
        model.set(params)
        labels = data.client_y[client]
        if config.attack.kind == "label_flip" and client in attackers:
            labels = flip_labels(labels, config.data.num_classes)
        c = config.client
        client_seed = int(np.random.SeedSequence([seed, round_index, client]).generate_state(1)[0])
        model.train(data.client_x[client], labels, c.local_epochs, c.batch_size, c.learning_rate, client_seed)
        updates[row] = model.get() - params
    a = config.attack
    if malicious_rows and (a.kind != "alie" or len(malicious_rows) < len(selected)):
        updates = apply_attack(
            a.kind,
            updates,
            malicious_rows,
            seed=seed,
            round_index=round_index,
            scale=a.scale,
            std=a.std,
            epsilon=a.epsilon,
            z_max=a.z_max,
        )
    metrics: dict[str, Any] = {
        "round": round_index,
        "clients_sampled": selected,
        "num_sampled": len(selected),
        "unavailable": sample.unavailable.tolist(),
        "malicious": [selected[i] for i in malicious_rows],
        "dropped": {},
        "skipped": None,
        "num_aggregated": 0,
        "clip_norm": pipeline.clip_norm,
        "unclipped_fraction": None,
        "noise_std": 0.0,
        "update_norm": 0.0,
    }
    weights = data.sizes[sample.selected].astype(np.float64)
    try:
        report = pipeline.step(
            params,
            updates,
            weights,
            round_index=round_index,
            client_ids=selected,
            sample_rate=sample.sample_rate,
            sampling=sample.kind,
            expected_clients=expected,
        )
    except TooFewClientsError as error:
        metrics["skipped"] = str(error)
        metrics["num_aggregated"] = len(selected)
        if pipeline.accountant is not None:
            # The round's sampling happened; account it so skipping never under-reports epsilon.
            pipeline.accountant.step(config.aggregation.dp.noise_multiplier, sample.sample_rate, sample.kind)
        return metrics
    summary = report.to_dict()
    metrics.update(
        dropped=summary["dropped"],
        num_aggregated=len(report.clients),
        unclipped_fraction=summary["unclipped_fraction"],
        noise_std=summary["noise_std"],
        update_norm=summary["update_norm"],
    )
    return metrics
