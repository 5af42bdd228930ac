from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from reactor.errors import ConfigError, InvalidArgumentError
from reactor.federated.aggregate import aggregate
from reactor.federated.config import load_fl_config
from reactor.federated.pipeline import AggregationPipeline, PipelineConfig, TooFewClientsError
from reactor.federated.server_optimizer import ServerOptimizer


def _updates(k: int = 11, d: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(k, d)).astype(np.float32)


@pytest.mark.parametrize(
    ("params", "kwargs"),
    [
        ({"rule": "fedavg"}, {}),
        ({"rule": "median"}, {}),
        ({"rule": "trimmed_mean", "beta": 0.2}, {"beta": 0.2}),
        ({"rule": "krum", "f": 2}, {"f": 2}),
        ({"rule": "multi_krum", "f": 2, "m": 4}, {"f": 2, "m": 4}),
        ({"rule": "bulyan", "f": 2}, {"f": 2}),
        ({"rule": "geometric_median"}, {}),
        ({"rule": "centered_clip", "tau": 0.5, "iters": 2}, {"tau": 0.5, "iters": 2}),
    ],
)
def test_rule_stage_is_reactor_aggregate(params, kwargs):
    x = _updates()
    w = np.arange(1, 12, dtype=float)
    report = AggregationPipeline(PipelineConfig(**params)).aggregate(x, w, round_index=0)
    np.testing.assert_array_equal(report.update, aggregate(x, w, params["rule"], **kwargs))
    assert report.clients == list(range(11)) and report.dropped == {}


def test_clip_then_median_matches_numpy():
    x = _updates(seed=1) * np.linspace(0.1, 5, 11, dtype=np.float32)[:, None]
    config = PipelineConfig(rule="median", clip={"enabled": True, "norm": 2.0})
    report = AggregationPipeline(config).aggregate(x, round_index=0)
    norms = np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    expected = np.median(x * np.minimum(1, 2.0 / norms), axis=0)
    np.testing.assert_allclose(report.update, expected, rtol=1e-5, atol=1e-6)
    assert 0 < report.unclipped_fraction < 1
    assert np.array_equal(x, _updates(seed=1) * np.linspace(0.1, 5, 11, dtype=np.float32)[:, None])


def _bad_round() -> tuple[list[np.ndarray], np.ndarray]:
    rows = list(_updates())
    rows[3] = rows[3].copy()
    rows[3][5] = np.nan
    rows[6] = rows[6][:10]
    rows[8] = rows[8].copy()
    rows[8][0] = np.inf
    weights = np.ones(11)
    weights[9] = -1.0
    return rows, weights


def test_bad_updates_raise_naming_the_client():
    rows, weights = _bad_round()
    ids = list(range(100, 111))
    pipeline = AggregationPipeline(PipelineConfig(rule="median"))
    with pytest.raises(InvalidArgumentError, match="client 103: contains NaN or infinite values"):
        pipeline.aggregate(rows, weights, round_index=0, client_ids=ids)
    rows[3] = _updates()[3]
    with pytest.raises(InvalidArgumentError, match="client 106: shape mismatch: length 10, expected 40"):
        pipeline.aggregate(rows, weights, round_index=0, client_ids=ids)
    rows[6] = _updates()[6]
    rows[8] = _updates()[8]
    with pytest.raises(
        InvalidArgumentError, match=re.escape("client 109: weight must be finite and >= 0, got -1.0")
    ):
        pipeline.aggregate(rows, weights, round_index=0, client_ids=ids)


def test_bad_updates_dropped_and_reported():
    rows, weights = _bad_round()
    ids = list(range(100, 111))
    config = PipelineConfig(rule="median", on_bad_update="drop")
    report = AggregationPipeline(config).aggregate(rows, weights, round_index=0, client_ids=ids)
    assert sorted(report.dropped) == [103, 106, 108, 109]
    assert "NaN" in report.dropped[103] and "shape mismatch" in report.dropped[106]
    assert "weight" in report.dropped[109]
    keep = [0, 1, 2, 4, 5, 7, 10]
    assert report.clients == [ids[i] for i in keep]
    np.testing.assert_allclose(report.update, np.median(_updates()[keep], axis=0), rtol=1e-6)
    assert report.to_dict()["dropped"]["103"].startswith("contains NaN")


def test_too_few_clients_for_f():
    x = _updates(k=6)
    with pytest.raises(
        TooFewClientsError, match="rule 'krum' with f=2 needs n > 2f \\+ 2 = 6 clients, got 6"
    ):
        AggregationPipeline(PipelineConfig(rule="krum", f=2)).aggregate(x, round_index=0)
    with pytest.raises(TooFewClientsError, match="n >= 4f \\+ 3 = 11 clients, got 6"):
        AggregationPipeline(PipelineConfig(rule="bulyan", f=2)).aggregate(x, round_index=0)
    rows = list(_updates(k=7))
    rows[0] = rows[0] * np.nan
    drop = PipelineConfig(rule="krum", f=2, on_bad_update="drop")
    with pytest.raises(TooFewClientsError, match="got 6 after dropping 1 bad update"):
        AggregationPipeline(drop).aggregate(rows, round_index=0)


def test_config_rejects_incoherent_stages():
    with pytest.raises(ValueError, match=re.escape("dp.enabled needs clip.enabled")):
        PipelineConfig(dp={"enabled": True})
    with pytest.raises(ValueError, match="accountant assumes the clipped mean"):
        PipelineConfig(rule="median", clip={"enabled": True}, dp={"enabled": True})
    PipelineConfig(rule="median", clip={"enabled": True}, dp={"enabled": True, "allow_non_mean_rule": True})
    with pytest.raises(ValueError, match="secure_aggregation needs rule='fedavg'"):
        PipelineConfig(rule="krum", secure_aggregation={"enabled": True})
    with pytest.raises(ConfigError, match=re.escape("aggregation.beta")):
        load_fl_config(overrides={"aggregation": {"rule": "trimmed_mean", "beta": 0.7}})
    with pytest.raises(ConfigError, match=re.escape("aggregation.rule")):
        load_fl_config(overrides={"aggregation": {"rule": "mean"}})


def test_server_optimizer_stage_matches_server_optimizer():
    x = _updates()
    params = np.linspace(-1, 1, 40, dtype=np.float32)
    reference = params.copy()
    config = PipelineConfig(server_optimizer={"kind": "fedadam", "eta": 0.05})
    pipeline = AggregationPipeline(config)
    optimizer = ServerOptimizer("fedadam", 0.05, 0.9, 0.99, 1e-3)
    for r in range(3):
        pipeline.step(params, x * (r + 1), round_index=r)
        optimizer.step(reference, aggregate(x * (r + 1)))
    np.testing.assert_allclose(params, reference, rtol=1e-6, atol=1e-7)
    plain = np.zeros(40, dtype=np.float32)
    AggregationPipeline(PipelineConfig(server_optimizer={"eta": 0.5})).step(plain, x, round_index=0)
    np.testing.assert_allclose(plain, 0.5 * x.mean(axis=0), rtol=1e-5, atol=1e-7)


def test_data_parallel_gradients_keep_structure_and_clip_per_layer():
    rng = np.random.default_rng(3)
    workers = [
        [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=5).astype(np.float32)] for _ in range(5)
    ]
    config = PipelineConfig(rule="median", clip={"enabled": True, "norm": 1.0, "per_layer": True})
    out = AggregationPipeline(config).aggregate_gradients(workers, step=0)
    assert [o.shape for o in out] == [(3, 4), (5,)]
    expected = []
    for layer in range(2):
        stack = np.stack([w[layer].reshape(-1) for w in workers]).astype(np.float64)
        bound = 1.0 / np.sqrt(2)
        stack *= np.minimum(1, bound / np.linalg.norm(stack, axis=1, keepdims=True))
        expected.append(np.median(stack, axis=0))
    np.testing.assert_allclose(out[0].reshape(-1), expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[1], expected[1], rtol=1e-5, atol=1e-6)
    tensors = [torch.from_numpy(w[0].reshape(-1).copy()).double() for w in workers]
    mean = AggregationPipeline().aggregate_gradients(tensors, step=1)
    assert isinstance(mean, torch.Tensor) and mean.dtype == torch.float64
    np.testing.assert_allclose(mean.numpy(), np.mean([w[0].reshape(-1) for w in workers], axis=0), rtol=1e-5)
    broken = [*workers[:4], [workers[4][0][:2], workers[4][1]]]
    with pytest.raises(InvalidArgumentError, match="worker 4: gradient shapes"):
        AggregationPipeline().aggregate_gradients(broken, step=2)
    dropping = AggregationPipeline(PipelineConfig(on_bad_update="drop"))
    dropping.aggregate_gradients(broken, step=2)
    assert dropping.last_report is not None and list(dropping.last_report.dropped) == [4]


def test_pipeline_state_round_trip():
    config = PipelineConfig(
        clip={"enabled": True, "norm": 1.0, "adaptive": True},
        dp={"enabled": True, "noise_multiplier": 0.7, "count_stddev": 1.0},
        server_optimizer={"kind": "fedavgm", "eta": 1.0},
    )
    x = _updates()
    params = np.zeros(40, dtype=np.float32)
    pipeline = AggregationPipeline(config)
    for r in range(2):
        pipeline.step(params, x, round_index=r, sample_rate=0.2)
    resumed = AggregationPipeline(config)
    resumed.load_state_dict(pipeline.state_dict())
    assert resumed.clip_norm == pipeline.clip_norm and resumed.epsilon == pipeline.epsilon
    twin = params.copy()
    a = pipeline.step(params, x, round_index=2, sample_rate=0.2)
    b = resumed.step(twin, x, round_index=2, sample_rate=0.2)
    np.testing.assert_array_equal(params, twin)
    assert a.epsilon == b.epsilon


def test_secure_aggregation_sum_equals_plain_fedavg():
    x = _updates(k=8, d=30) * np.float32(0.1)
    w = np.arange(1, 9, dtype=float)
    config = PipelineConfig(secure_aggregation={"enabled": True, "clip": 1.0})
    report = AggregationPipeline(config).aggregate(x, w, round_index=0)
    np.testing.assert_allclose(report.update, aggregate(x, w), atol=1e-6)
    assert report.clients == list(range(8))
