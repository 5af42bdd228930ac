"""reactor.federated.aggregate against float64 numpy references of each paper's definition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from reactor.errors import InvalidArgumentError
from reactor.federated import aggregate


def _updates(k=15, d=2_003, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((k, d)).astype(np.float32)
    x[:2] += 25.0  # two attackers far away
    return x


def _sq_distances(x):
    x = x.astype(np.float64)
    return ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)


def _krum_scores(x, members, f):
    dist = _sq_distances(x)
    n = len(members)
    nearest = min(n - 1, max(1, n - f - 2))
    scores = []
    for i in members:
        others = sorted(dist[i, j] for j in members if j != i)
        scores.append(sum(others[:nearest]))
    return np.array(scores)


def test_fedavg_is_the_weighted_mean():
    x = _updates()
    w = np.arange(1, 16, dtype=np.float64)
    np.testing.assert_allclose(
        aggregate(x, w), (w[:, None] * x.astype(np.float64)).sum(0) / w.sum(), rtol=1e-6, atol=1e-6
    )


def test_median_and_trimmed_mean():
    x = _updates()
    np.testing.assert_array_equal(
        aggregate(x, rule="median"), np.median(x.astype(np.float64), axis=0).astype(np.float32)
    )
    np.testing.assert_allclose(
        aggregate(x, rule="trimmed_mean", beta=0.2),
        stats.trim_mean(x.astype(np.float64), 0.2, axis=0),
        rtol=1e-6,
        atol=1e-6,
    )


def test_krum_and_multi_krum_pick_the_paper_choice():
    x = _updates()
    scores = _krum_scores(x, list(range(15)), f=2)
    best = int(np.argmin(scores))
    assert best >= 2  # never an attacker
    np.testing.assert_array_equal(aggregate(x, rule="krum", f=2), x[best])
    chosen = np.argsort(scores, kind="stable")[:5]
    np.testing.assert_allclose(
        aggregate(x, rule="multi_krum", f=2, m=5), x[chosen].astype(np.float64).mean(0), rtol=1e-6, atol=1e-6
    )


def test_bulyan_matches_recursive_krum_then_trimmed_around_the_median():
    x = _updates(k=15)
    f = 3  # 15 >= 4 * 3 + 3
    remaining, picks = list(range(15)), []
    for _ in range(15 - 2 * f):
        scores = _krum_scores(x, remaining, f)
        best = remaining[int(np.argmin(scores))]
        picks.append(best)
        remaining.remove(best)
    chosen = x[picks].astype(np.float64)
    median = np.median(chosen, axis=0)
    beta = len(picks) - 2 * f
    order = np.argsort(np.abs(chosen - median), axis=0, kind="stable")[:beta]
    expected = np.take_along_axis(chosen, order, axis=0).mean(0)
    np.testing.assert_allclose(aggregate(x, rule="bulyan", f=f), expected, rtol=1e-5, atol=1e-6)
    assert not {0, 1} & set(picks)


def test_geometric_median_matches_smoothed_weiszfeld_in_float64():
    x = _updates()
    a = np.linspace(1, 2, 15)
    z = (a[:, None] * x.astype(np.float64)).sum(0) / a.sum()
    objective = (a * np.linalg.norm(x - z, axis=1)).sum()
    for _ in range(4):
        b = a / np.maximum(1e-5, np.linalg.norm(x.astype(np.float64) - z, axis=1))
        z = (b[:, None] * x.astype(np.float64)).sum(0) / b.sum()
        previous, objective = objective, (a * np.linalg.norm(x.astype(np.float64) - z, axis=1)).sum()
        if abs(previous - objective) < 1e-6 * objective:
            break
    np.testing.assert_allclose(aggregate(x, a, rule="geometric_median"), z, rtol=1e-5, atol=1e-5)
    # Robust: the attackers barely move it, unlike the mean.
    clean = aggregate(x[2:], rule="geometric_median")
    assert np.linalg.norm(aggregate(x, rule="geometric_median") - clean) < np.linalg.norm(
        aggregate(x) - clean
    )


def test_centered_clip_matches_its_update_rule():
    x = _updates()
    v = np.zeros(x.shape[1])
    for _ in range(3):
        diff = x.astype(np.float64) - v
        factors = np.minimum(1.0, 5.0 / np.linalg.norm(diff, axis=1))
        v = v + (factors[:, None] * diff).mean(0)
    np.testing.assert_allclose(aggregate(x, rule="centered_clip", tau=5.0, iters=3), v, rtol=1e-5, atol=1e-5)


def test_list_of_layers_equals_the_stacked_array():
    x = _updates(k=9)
    for rule, params in [("fedavg", {}), ("krum", {"f": 2}), ("bulyan", {"f": 1}), ("geometric_median", {})]:
        np.testing.assert_array_equal(
            aggregate(list(x), rule=rule, **params), aggregate(x, rule=rule, **params)
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rule": "krum", "f": 7}, r"needs more than 2f \+ 2 = 16 clients for f = 7, got 15"),
        ({"rule": "bulyan", "f": 4}, r"needs at least 4f \+ 3 = 19 clients for f = 4, got 15"),
        ({"rule": "multi_krum", "f": 2, "m": 20}, r"m must be in \[1, 15\], got 20"),
        ({"rule": "trimmed_mean", "beta": 0.5}, r"beta must be in \[0, 0.5\)"),
        ({"rule": "krum"}, r"rule 'krum': .*'f'"),
        ({"rule": "fedprox"}, r"rule must be one of"),
        ({"weights": [1.0] * 14}, r"weights: expected 15 values"),
        ({"weights": [1.0] * 14 + [-1.0]}, r"weights\[14\] must be finite and >= 0"),
    ],
)
def test_bad_parameters_name_the_requirement(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        aggregate(_updates(), **kwargs)


def test_bad_updates_name_the_client():
    x = _updates()
    x[4, 10] = np.nan
    with pytest.raises(InvalidArgumentError, match=r"updates\[4\] contains NaN or infinite values"):
        aggregate(x)
    with pytest.raises(InvalidArgumentError, match=r"updates\[1\]: expected a vector of length 3"):
        aggregate([np.zeros(3, np.float32), np.zeros(4, np.float32)])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    ("rule", "params"),
    [
        ("fedavg", {}),
        ("median", {}),
        ("trimmed_mean", {"beta": 0.2}),
        ("krum", {"f": 1}),
        ("multi_krum", {"f": 1, "m": 3}),
        ("bulyan", {"f": 1}),
        ("geometric_median", {}),
        ("centered_clip", {"tau": 1.0}),
    ],
)
def test_non_finite_update_is_named_even_with_zero_weight(bad, rule, params):
    # No rule makes a separate pass over the inputs when it can check them in its own: FedAvg tests
    # its result (a NaN/inf must still be caught when its client's weight is 0: 0 * inf = NaN), the
    # coordinate-wise rules check while gathering, the Krum family through the pairwise distances.
    x = _updates()
    x[6, 3] = bad
    x[9, 0] = bad
    w = np.ones(len(x))
    w[6] = 0.0
    with pytest.raises(InvalidArgumentError, match=r"updates\[6\] contains NaN or infinite values"):
        aggregate(x, w, rule=rule, **params)


def test_fedavg_of_finite_extremes_is_not_mistaken_for_bad_input():
    x = np.full((4, 5), np.finfo(np.float32).max, dtype=np.float32)
    x[1] = -np.finfo(np.float32).max
    got = aggregate(x, [1.0, 0.0, 2.0, 3.0])
    np.testing.assert_array_equal(got, np.full(5, np.finfo(np.float32).max, dtype=np.float32))


@pytest.mark.parametrize("scale", [1e37, 1e-30])
def test_distances_and_krum_at_extreme_magnitudes(scale):
    """Updates near FLT_MAX or far below 1 must not overflow or underflow the float32 Gram tiles."""
    from reactor import engine

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(12, 1000)) * scale).astype(np.float32)
    x[3] *= 3
    exact = ((x[:, None, :].astype(np.float64) - x[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(engine.pairwise_sq_distances(x), exact, rtol=1e-6, atol=0)
    scores = [np.sort(np.delete(exact[i], i))[: 12 - 2 - 2].sum() for i in range(12)]
    np.testing.assert_array_equal(aggregate(x, rule="krum", f=2), x[int(np.argmin(scores))])
