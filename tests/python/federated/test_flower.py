"""Engine-backed Flower strategies: unit tests on hand-made FitRes replies against
reactor.federated.aggregate, Flower's own strategies and numpy references, and a real Flower
simulation (its Ray-based engine on a local cluster) training a small torch MLP.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest

flwr = pytest.importorskip("flwr", reason="Flower is not installed (pip install 'reactor[flower]')")

from flwr.common import (  # noqa: E402
    Code,
    Context,
    FitRes,
    Status,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.server.strategy import FedAvg as FlowerFedAvg  # noqa: E402
from flwr.server.strategy import FedMedian as FlowerFedMedian  # noqa: E402
from flwr.server.strategy import FedTrimmedAvg as FlowerFedTrimmedAvg  # noqa: E402
from flwr.server.strategy import Krum as FlowerKrum  # noqa: E402

from reactor import engine  # noqa: E402
from reactor.errors import InvalidArgumentError  # noqa: E402
from reactor.federated import ServerOptimizer, aggregate  # noqa: E402
from reactor.federated import flower as rf  # noqa: E402

SHAPES = [(6, 5), (5,), (5, 3), (3,)]
D = sum(math.prod(s) for s in SHAPES)


class Proxy:
    """The part of a Flower ClientProxy the strategies read: its ``cid``."""

    def __init__(self, cid: str) -> None:
        self.cid = cid


def split(flat: np.ndarray) -> list[np.ndarray]:
    out, start = [], 0
    for shape in SHAPES:
        size = math.prod(shape)
        out.append(flat[start : start + size].reshape(shape).copy())
        start += size
    return out


def fit_res(layers: list[np.ndarray], n: int) -> FitRes:
    return FitRes(Status(Code.OK, ""), ndarrays_to_parameters(layers), n, {})


def replies(rows: np.ndarray, weights: np.ndarray) -> list:
    return [(Proxy(f"c{k}"), fit_res(split(rows[k]), int(weights[k]))) for k in range(rows.shape[0])]


def flat(parameters) -> np.ndarray:
    return np.concatenate([a.reshape(-1) for a in parameters_to_ndarrays(parameters)])


def make_round(k: int = 11, seed: int = 0, outliers: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    center = rng.standard_normal(D).astype(np.float32)
    rows = (center + 0.3 * rng.standard_normal((k, D))).astype(np.float32)
    rows[:outliers] += 25 * rng.standard_normal((outliers, D)).astype(np.float32)
    weights = rng.integers(5, 200, k)
    return center, rows, weights


def global_params(center: np.ndarray):
    return ndarrays_to_parameters(split(center))


# ----------------------------------------------------------------------------- conversions
def test_decode_is_zero_copy_for_float32_and_casts_others() -> None:
    layers = [np.arange(12, dtype=np.float32).reshape(3, 4), np.arange(4, dtype=np.float64)]
    params = ndarrays_to_parameters(layers)
    views, layout = rf.decode_parameters(params, "test")
    assert layout.shapes == ((3, 4), (4,))
    assert layout.dtypes == (np.dtype(np.float32), np.dtype(np.float64))
    assert not views[0].flags.owndata and not views[0].flags.writeable  # a view into Flower's bytes
    assert views[0].base is not None
    np.testing.assert_array_equal(views[0], layers[0].reshape(-1))
    assert views[1].dtype == np.float32  # cast copy
    np.testing.assert_array_equal(views[1], layers[1])


def test_decode_fortran_order_layer_keeps_c_flattening() -> None:
    a = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    views, _ = rf.decode_parameters(ndarrays_to_parameters([a]), "test")
    np.testing.assert_array_equal(views[0], a.reshape(-1, order="C"))


# ------------------------------------------------------------------- each rule vs references
def test_fedavg_equals_reactor_aggregate_and_flower() -> None:
    _, rows, weights = make_round()
    res = replies(rows, weights)
    params, metrics = rf.FedAvg().aggregate_fit(1, res, [])
    got = parameters_to_ndarrays(params)
    assert [a.shape for a in got] == SHAPES and all(a.dtype == np.float32 for a in got)
    ours = flat(params)
    np.testing.assert_allclose(ours, aggregate(rows, weights, "fedavg"), rtol=1e-6, atol=1e-6)
    ref = (weights[:, None] * rows.astype(np.float64)).sum(0) / weights.sum()
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    flower, _ = FlowerFedAvg(inplace=False).aggregate_fit(1, replies(rows, weights), [])
    np.testing.assert_allclose(ours, flat(flower), rtol=1e-5, atol=1e-5)
    assert metrics["reactor_num_clients"] == 11 and metrics["reactor_num_dropped"] == 0


def test_fedavg_unweighted() -> None:
    _, rows, weights = make_round(seed=1)
    params, _ = rf.FedAvg(weighted=False).aggregate_fit(1, replies(rows, weights), [])
    np.testing.assert_allclose(flat(params), rows.astype(np.float64).mean(0), rtol=1e-5, atol=1e-6)


def test_median_equals_reactor_aggregate_and_flower() -> None:
    _, rows, weights = make_round(k=10, seed=2)
    params, _ = rf.FedMedian().aggregate_fit(1, replies(rows, weights), [])
    ours = flat(params)
    np.testing.assert_array_equal(ours, aggregate(rows, weights, "median"))
    np.testing.assert_allclose(ours, np.median(rows.astype(np.float64), axis=0), rtol=1e-6, atol=1e-6)
    flower, _ = FlowerFedMedian().aggregate_fit(1, replies(rows, weights), [])
    np.testing.assert_allclose(ours, flat(flower), rtol=1e-6, atol=1e-6)


def test_trimmed_mean_equals_reactor_aggregate_and_flower() -> None:
    _, rows, weights = make_round(k=12, seed=3)
    params, _ = rf.FedTrimmedAvg(beta=0.2).aggregate_fit(1, replies(rows, weights), [])
    ours = flat(params)
    np.testing.assert_allclose(ours, aggregate(rows, weights, "trimmed_mean", beta=0.2), rtol=1e-6, atol=1e-6)
    srt = np.sort(rows.astype(np.float64), axis=0)
    cut = int(0.2 * 12)
    np.testing.assert_allclose(ours, srt[cut : 12 - cut].mean(0), rtol=1e-5, atol=1e-6)
    flower, _ = FlowerFedTrimmedAvg(beta=0.2).aggregate_fit(1, replies(rows, weights), [])
    np.testing.assert_allclose(ours, flat(flower), rtol=1e-5, atol=1e-5)


def _krum_reference(rows: np.ndarray, f: int) -> np.ndarray:
    x = rows.astype(np.float64)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    k = len(x)
    return np.array([np.sort(np.delete(d2[i], i))[: k - f - 2].sum() for i in range(k)])


def test_krum_picks_the_same_client_as_flower_and_the_paper() -> None:
    _, rows, weights = make_round(k=11, seed=4)
    params, metrics = rf.Krum(f=2).aggregate_fit(1, replies(rows, weights), [])
    ours = flat(params)
    best = int(np.argmin(_krum_reference(rows, 2)))
    np.testing.assert_array_equal(ours, rows[best])
    np.testing.assert_array_equal(ours, aggregate(rows, weights, "krum", f=2))
    assert metrics["reactor_selected_clients"] == f"client 'c{best}' (results[{best}])"
    flower, _ = FlowerKrum(num_malicious_clients=2, num_clients_to_keep=0).aggregate_fit(
        1, replies(rows, weights), []
    )
    np.testing.assert_array_equal(ours, flat(flower))


def test_multi_krum_equals_reactor_aggregate_and_reference() -> None:
    _, rows, weights = make_round(k=11, seed=5)
    params, metrics = rf.MultiKrum(f=2, m=4).aggregate_fit(1, replies(rows, weights), [])
    ours = flat(params)
    np.testing.assert_allclose(ours, aggregate(rows, weights, "multi_krum", f=2, m=4), rtol=1e-6, atol=1e-6)
    picks = np.argsort(_krum_reference(rows, 2), kind="stable")[:4]
    np.testing.assert_allclose(ours, rows[picks].astype(np.float64).mean(0), rtol=1e-5, atol=1e-6)
    assert len(str(metrics["reactor_selected_clients"]).split("; ")) == 4


def _bulyan_reference(rows: np.ndarray, f: int) -> np.ndarray:
    x = rows.astype(np.float64)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    remaining, chosen = list(range(len(x))), []
    for _ in range(len(x) - 2 * f):
        n = len(remaining)
        sub = d2[np.ix_(remaining, remaining)]
        scores = [np.sort(np.delete(sub[i], i))[: max(n - f - 2, 1)].sum() for i in range(n)]
        chosen.append(remaining.pop(int(np.argmin(scores))))
    sel = x[chosen]
    beta = len(chosen) - 2 * f
    med = np.median(sel, axis=0)
    order = np.argsort(np.abs(sel - med), axis=0, kind="stable")[:beta]
    return np.take_along_axis(sel, order, axis=0).mean(0)


def test_bulyan_equals_reactor_aggregate_and_paper_reference() -> None:
    _, rows, weights = make_round(k=11, seed=6)
    params, _ = rf.Bulyan(f=2).aggregate_fit(1, replies(rows, weights), [])
    ours = flat(params)
    np.testing.assert_allclose(ours, aggregate(rows, weights, "bulyan", f=2), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours, _bulyan_reference(rows, 2), rtol=1e-5, atol=1e-5)


def test_geometric_median_equals_reactor_aggregate() -> None:
    _, rows, weights = make_round(k=9, seed=7)
    params, metrics = rf.GeometricMedian(max_iter=8).aggregate_fit(1, replies(rows, weights), [])
    expected = aggregate(rows, weights, "geometric_median", max_iter=8)
    np.testing.assert_allclose(flat(params), expected, rtol=1e-6, atol=1e-6)
    assert 1 <= metrics["reactor_weiszfeld_iterations"] <= 8
    # The geometric median resists the two outliers: far closer to the honest mean than FedAvg.
    honest = rows[2:].astype(np.float64).mean(0)
    assert np.linalg.norm(flat(params) - honest) < 0.2 * np.linalg.norm(aggregate(rows, weights) - honest)


def test_centered_clipping_centres_on_the_global_model() -> None:
    center, rows, weights = make_round(k=9, seed=8)
    strategy = rf.CenteredClipping(tau=2.0, iters=3, initial_parameters=global_params(center))
    params, _ = strategy.aggregate_fit(1, replies(rows, weights), [])
    expected = aggregate(rows, weights, "centered_clip", tau=2.0, iters=3, center=center)
    np.testing.assert_allclose(flat(params), expected, rtol=1e-6, atol=1e-6)
    v = center.astype(np.float64)  # numpy reference of the paper's iteration
    for _ in range(3):
        diff = rows - v
        norms = np.linalg.norm(diff, axis=1, keepdims=True)
        v = v + (diff * np.minimum(1.0, 2.0 / norms)).mean(0)
    np.testing.assert_allclose(flat(params), v, rtol=1e-4, atol=1e-5)
    with pytest.raises(InvalidArgumentError, match="global model"):
        rf.CenteredClipping(tau=1.0).aggregate_fit(1, replies(rows, weights), [])


@pytest.mark.parametrize(
    ("cls", "kind", "kwargs", "opt"),
    [
        (rf.FedAdam, "fedadam", {"eta": 0.05, "beta_1": 0.9, "beta_2": 0.99, "tau": 1e-3}, {}),
        (rf.FedYogi, "fedyogi", {"eta": 0.05, "beta_1": 0.9, "beta_2": 0.99, "tau": 1e-3}, {}),
        (rf.FedAdagrad, "fedadagrad", {"eta": 0.05, "beta_1": 0.0, "tau": 1e-3}, {}),
        (
            rf.FedAvgM,
            "fedavgm",
            {"server_learning_rate": 0.7, "server_momentum": 0.9},
            {"eta": 0.7, "beta_1": 0.9},
        ),
    ],
)
def test_server_optimizers_match_server_optimizer_on_the_mean(cls, kind, kwargs, opt) -> None:
    center, _, _ = make_round(seed=9)
    strategy = cls(initial_parameters=global_params(center), **kwargs)
    reference = ServerOptimizer(kind, **(opt or kwargs))
    x = center.copy()
    for rnd in (1, 2, 3):
        _, rows, weights = make_round(seed=10 + rnd, outliers=0)
        params, _ = strategy.aggregate_fit(rnd, replies(rows, weights), [])
        mean = (weights[:, None] * rows.astype(np.float64)).sum(0) / weights.sum()
        reference.step(x, (mean - x).astype(np.float32))
        np.testing.assert_allclose(flat(params), x, rtol=1e-4, atol=1e-5)
    if kind == "fedavgm":  # Flower's FedAvgM with momentum: the same update rule
        from flwr.server.strategy import FedAvgM as FlowerFedAvgM

        flower = FlowerFedAvgM(initial_parameters=global_params(center), **kwargs)
        ours = cls(initial_parameters=global_params(center), **kwargs)
        for rnd in (1, 2):
            _, rows, weights = make_round(seed=20 + rnd, outliers=0)
            a, _ = flower.aggregate_fit(rnd, replies(rows, weights), [])
            b, _ = ours.aggregate_fit(rnd, replies(rows, weights), [])
            np.testing.assert_allclose(flat(b), flat(a), rtol=1e-4, atol=1e-5)


def test_server_optimizer_needs_initial_parameters() -> None:
    with pytest.raises(InvalidArgumentError, match="initial_parameters"):
        rf.FedAdam()


def test_dp_fixed_clipping_matches_numpy_and_is_keyed_by_seed_and_round() -> None:
    center, rows, weights = make_round(k=10, seed=30)
    z, clip, m = 0.8, 3.0, 10

    def run(rnd: int, seed: int) -> tuple[np.ndarray, dict]:
        inner = rf.FedAvg(weighted=False, initial_parameters=global_params(center))
        dp = rf.DPFixedClipping(
            inner, noise_multiplier=z, clipping_norm=clip, num_sampled_clients=m, seed=seed
        )
        params, metrics = dp.aggregate_fit(rnd, replies(rows, weights), [])
        return flat(params), metrics

    got, metrics = run(3, seed=7)
    delta = rows.astype(np.float64) - center
    norms = np.linalg.norm(delta, axis=1, keepdims=True)
    clipped = delta * np.minimum(1.0, clip / norms)
    noise = engine.normal(D, seed=7, stream=3, std=z * clip / m, dtype=np.float32)
    np.testing.assert_allclose(got, center + clipped.mean(0) + noise, rtol=1e-4, atol=1e-5)
    assert metrics["reactor_dp_clipped"] == int((norms[:, 0] > clip).sum()) > 0
    assert metrics["reactor_dp_noise_std"] == pytest.approx(z * clip / m)
    np.testing.assert_array_equal(run(3, seed=7)[0], got)  # reproducible per (seed, round)
    assert not np.allclose(run(4, seed=7)[0], got)  # another round, another noise draw
    with pytest.raises(InvalidArgumentError, match="clipping_norm"):
        rf.DPFixedClipping(rf.FedAvg(), noise_multiplier=1.0, clipping_norm=0.0, num_sampled_clients=2)


# ------------------------------------------------------------------------------ bad replies
def test_nan_update_raises_naming_the_client_and_can_be_dropped() -> None:
    _, rows, weights = make_round(k=11, seed=40)
    rows[6, 17] = np.nan
    for strategy in (rf.FedAvg(), rf.FedMedian(), rf.Krum(f=2)):
        with pytest.raises(InvalidArgumentError, match=r"client 'c6' \(results\[6\]\).*NaN"):
            strategy.aggregate_fit(1, replies(rows, weights), [])
    keep = np.arange(11) != 6
    params, metrics = rf.FedAvg(on_bad_client="drop").aggregate_fit(1, replies(rows, weights), [])
    np.testing.assert_allclose(flat(params), aggregate(rows[keep], weights[keep]), rtol=1e-6, atol=1e-6)
    assert metrics["reactor_num_dropped"] == 1 and "client 'c6'" in metrics["reactor_dropped_clients"]
    params, metrics = rf.FedMedian(on_bad_client="drop").aggregate_fit(1, replies(rows, weights), [])
    np.testing.assert_array_equal(flat(params), aggregate(rows[keep], None, "median"))
    assert metrics["reactor_num_clients"] == 10


def test_inf_in_zero_weight_client_is_still_caught() -> None:
    _, rows, weights = make_round(k=5, seed=41)
    weights[2] = 0
    rows[2, 0] = np.inf
    with pytest.raises(InvalidArgumentError, match="client 'c2'"):
        rf.FedAvg().aggregate_fit(1, replies(rows, weights), [])


def test_shape_mismatch_raises_naming_the_client_and_can_be_dropped() -> None:
    _, rows, weights = make_round(k=11, seed=42)
    res = replies(rows, weights)
    bad = split(rows[3])
    bad[2] = bad[2][:4]
    res[3] = (Proxy("c3"), fit_res(bad, 10))
    with pytest.raises(InvalidArgumentError, match=r"client 'c3'.*shapes"):
        rf.FedAvg().aggregate_fit(1, res, [])
    keep = np.arange(11) != 3
    params, metrics = rf.Krum(f=2, on_bad_client="drop").aggregate_fit(1, res, [])
    np.testing.assert_array_equal(flat(params), aggregate(rows[keep], None, "krum", f=2))
    assert "client 'c3'" in metrics["reactor_dropped_clients"]


def test_garbage_bytes_and_too_few_clients_give_clear_errors() -> None:
    _, rows, weights = make_round(k=6, seed=43)
    res = replies(rows, weights)
    res[1][1].parameters.tensors[0] = b"not an npy file"
    with pytest.raises(InvalidArgumentError, match=r"client 'c1'.*layer 0.*npy"):
        rf.FedAvg().aggregate_fit(1, res, [])
    _, rows, weights = make_round(k=6, seed=44)
    with pytest.raises(InvalidArgumentError, match=r"K > 2f \+ 2 = 6"):
        rf.Krum(f=2).aggregate_fit(1, replies(rows, weights), [])
    with pytest.raises(InvalidArgumentError, match=r"K >= 4f \+ 3 = 11"):
        rf.Bulyan(f=2).aggregate_fit(1, replies(rows, weights), [])
    with pytest.raises(InvalidArgumentError, match="on_bad_client"):
        rf.FedAvg(on_bad_client="ignore")


def test_failures_follow_accept_failures() -> None:
    _, rows, weights = make_round(k=4, seed=45)
    assert rf.FedAvg(accept_failures=False).aggregate_fit(1, replies(rows, weights), [RuntimeError("x")]) == (
        None,
        {},
    )
    params, _ = rf.FedAvg().aggregate_fit(1, replies(rows, weights), [RuntimeError("x")])
    assert params is not None


# ---------------------------------------------------------------------- Flower simulation
NUM_CLIENTS, NUM_CLASSES, FEATURES = 10, 4, 16
_SIM_SEED = 1234


def _class_means() -> np.ndarray:
    return np.random.default_rng(_SIM_SEED).normal(0.0, 1.0, (NUM_CLASSES, FEATURES)).astype(np.float32)


def _client_data(partition: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-IID label skew: each client holds mostly two classes (Dirichlet(0.3) mixture)."""
    rng = np.random.default_rng(_SIM_SEED + 1 + partition)
    mix = rng.dirichlet(np.full(NUM_CLASSES, 0.3))
    n = int(rng.integers(120, 360))
    y = rng.choice(NUM_CLASSES, size=n, p=mix)
    x = _class_means()[y] + 0.9 * rng.standard_normal((n, FEATURES)).astype(np.float32)
    return x.astype(np.float32), y.astype(np.int64)


def _test_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_SIM_SEED - 1)
    y = rng.integers(0, NUM_CLASSES, 2000)
    x = _class_means()[y] + 0.9 * rng.standard_normal((2000, FEATURES)).astype(np.float32)
    return x.astype(np.float32), y


def _mlp():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 32), torch.nn.ReLU(), torch.nn.Linear(32, NUM_CLASSES)
    )


def _get(model) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in model.state_dict().values()]


def _set(model, arrays: list[np.ndarray]) -> None:
    import torch

    keys = list(model.state_dict().keys())
    model.load_state_dict(
        {k: torch.from_numpy(np.asarray(a).copy()) for k, a in zip(keys, arrays, strict=True)}
    )


def _accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


class _MLPClient(flwr.client.NumPyClient):
    def __init__(self, partition: int, byzantine: bool) -> None:
        self.partition, self.byzantine = partition, byzantine
        self.x, self.y = _client_data(partition)

    def fit(self, parameters, config):
        import torch

        torch.set_num_threads(1)
        model = _mlp()
        _set(model, parameters)
        if self.byzantine:  # a Gaussian attack (std 10 around the global model): what the robust rule resists
            rng = np.random.default_rng(self.partition)
            noisy = [p + 10.0 * rng.standard_normal(p.shape).astype(np.float32) for p in parameters]
            return noisy, len(self.y), {}
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        gen = torch.Generator().manual_seed(self.partition)
        xs, ys = torch.from_numpy(self.x), torch.from_numpy(self.y)
        for _ in range(2):
            for idx in torch.randperm(len(ys), generator=gen).split(32):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(xs[idx]), ys[idx]).backward()
                opt.step()
        return _get(model), len(self.y), {}

    def evaluate(self, parameters, config):
        model = _mlp()
        _set(model, parameters)
        return 0.0, len(self.y), {"accuracy": _accuracy(model, self.x, self.y)}


def _simulate(strategy_factory, rounds: int, byzantine: bool, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    import sys

    from flwr.client import ClientApp
    from flwr.server import ServerApp, ServerAppComponents, ServerConfig
    from flwr.simulation import run_simulation
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import tests/
    # Flower's Ray backend rewrites os.environ["PYTHONPATH"]; monkeypatch restores it afterwards.
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    if not os.environ["PYTHONPATH"]:
        monkeypatch.delenv("PYTHONPATH")  # undone in reverse order: back to unset
    x_test, y_test = _test_data()
    accuracies: list[float] = []

    def evaluate_fn(server_round, arrays, config):
        model = _mlp()
        _set(model, arrays)
        accuracies.append(_accuracy(model, x_test, y_test))
        return 0.0, {"accuracy": accuracies[-1]}

    def server_fn(context: Context) -> ServerAppComponents:
        strategy = strategy_factory(
            fraction_fit=1.0,
            fraction_evaluate=0.0,
            min_fit_clients=NUM_CLIENTS,
            min_available_clients=NUM_CLIENTS,
            evaluate_fn=evaluate_fn,
            initial_parameters=ndarrays_to_parameters(_get(_mlp())),
        )
        return ServerAppComponents(strategy=strategy, config=ServerConfig(num_rounds=rounds))

    def client_fn(context: Context):
        partition = int(context.node_config["partition-id"])
        return _MLPClient(partition, byzantine and partition < 2).to_client()

    run_simulation(
        server_app=ServerApp(server_fn=server_fn),
        client_app=ClientApp(client_fn=client_fn),
        num_supernodes=NUM_CLIENTS,
        backend_config={
            "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {"num_cpus": 2, "include_dashboard": False, "log_to_driver": False},
        },
    )
    return accuracies


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_flower_simulation_engine_fedavg_and_multi_krum_reach_accuracy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("ray", reason="Flower's simulation engine needs Ray")
    pytest.importorskip("torch")
    start = time.monotonic()
    # FedAvg on the engine, 10 non-IID clients; evaluate_fn also runs on the initial model (round 0).
    fedavg = _simulate(lambda **kw: rf.FedAvg(**kw), 3, False, monkeypatch)
    assert len(fedavg) == 4, fedavg
    assert fedavg[0] < 0.6, fedavg  # the untrained model is not already good
    assert fedavg[-1] >= 0.85, fedavg
    # Multi-Krum (f=2, m=K-f) while 2 of the 10 clients send the global model plus N(0, 10^2) noise.
    robust = _simulate(lambda **kw: rf.MultiKrum(f=2, **kw), 3, True, monkeypatch)
    assert robust[-1] >= 0.85, robust
    # The same attack against plain FedAvg: the accuracy collapses, so the robust rule did the work.
    attacked = _simulate(lambda **kw: rf.FedAvg(**kw), 2, True, monkeypatch)
    assert attacked[-1] < 0.6, attacked
    assert time.monotonic() - start < 180
