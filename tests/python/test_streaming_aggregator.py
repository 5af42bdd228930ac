from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from reactor import engine
from reactor.errors import InvalidArgumentError
from reactor.federated import StreamingAggregator


def test_weighted_mean_and_sum_match_numpy_in_float64():
    rng = np.random.default_rng(0)
    updates = rng.normal(size=(200, 1000)).astype(np.float32)
    weights = rng.integers(1, 100, size=200).astype(np.float64)
    agg = StreamingAggregator(1000)
    for update, weight in zip(updates, weights, strict=True):
        assert agg.add(update, weight) == 1.0
    expected = (weights[:, None] * updates.astype(np.float64)).sum(0)
    np.testing.assert_allclose(agg.sum(np.empty(1000)), expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(agg.mean(np.empty(1000)), expected / weights.sum(), rtol=1e-12, atol=1e-12)
    assert agg.mean().dtype == np.float32 and agg.count == 200 and agg.total_weight == weights.sum()


def test_no_drift_with_many_clients():
    """A million additions of 0.1 (and a large offset): float32 running sums drift, these do not."""
    agg = StreamingAggregator(4)
    update = np.array([0.1, 1e4, -1e4, 3.3], dtype=np.float32)
    for _ in range(100_000):
        agg.add(update)
    exact = [math.fsum([float(v)] * 100_000) / 100_000 for v in update]
    np.testing.assert_allclose(agg.mean(np.empty(4)), exact, rtol=1e-15)
    naive = np.zeros(4, dtype=np.float32)
    for _ in range(100_000):
        naive += update
    assert abs(naive[0] / 1e5 - exact[0]) > 1e-6 > abs(agg.mean(np.empty(4))[0] - exact[0])


def test_clipping_scales_each_update_to_the_norm():
    agg = StreamingAggregator(3, clip_norm=1.0)
    assert agg.add(np.array([3.0, 4.0, 0.0], np.float32)) == pytest.approx(0.2)
    assert agg.add(np.array([0.3, 0.4, 0.0], np.float32)) == 1.0  # already inside the ball
    np.testing.assert_allclose(agg.sum(np.empty(3)), [0.6 + 0.3, 0.8 + 0.4, 0.0], rtol=1e-7)


def test_bad_input_is_rejected_before_anything_changes():
    agg = StreamingAggregator(3)
    agg.add(np.ones(3, np.float32))
    with pytest.raises(InvalidArgumentError, match=r"update\[1\] is not finite"):
        agg.add(np.array([1.0, np.nan, 2.0], np.float32))
    with pytest.raises(InvalidArgumentError, match="weight"):
        agg.add(np.ones(3, np.float32), -1.0)
    with pytest.raises(InvalidArgumentError, match=r"shape \(3,\)"):
        agg.add(np.ones(4, np.float32))
    with pytest.raises(InvalidArgumentError, match="clip_norm"):
        StreamingAggregator(3, clip_norm=-1.0)
    with pytest.raises(InvalidArgumentError, match="no weight"):
        StreamingAggregator(3).mean()
    assert agg.count == 1
    np.testing.assert_array_equal(agg.mean(), np.ones(3, np.float32))


def test_thread_count_and_concurrent_adds_do_not_change_the_result():
    rng = np.random.default_rng(1)
    updates = rng.normal(size=(64, 50_000)).astype(np.float32)
    results = []
    for threads in (1, 2):
        with engine.threads(threads):
            agg = StreamingAggregator(50_000)
            for update in updates:
                agg.add(update, 2.0)
            results.append(agg.mean(np.empty(50_000)))
    np.testing.assert_array_equal(results[0], results[1])
    shared = StreamingAggregator(50_000)
    workers = [
        threading.Thread(target=lambda chunk=chunk: [shared.add(u, 2.0) for u in chunk])
        for chunk in np.array_split(updates, 4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert shared.count == 64
    np.testing.assert_allclose(shared.mean(np.empty(50_000)), results[0], rtol=1e-12, atol=1e-14)
