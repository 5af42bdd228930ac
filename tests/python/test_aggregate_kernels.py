"""Aggregation kernels against float64 numpy/scipy references of the definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from reactor import engine
from reactor.errors import InvalidArgumentError


def _updates(k=13, d=20_011, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((k, d)) + offset).astype(np.float32)


@pytest.mark.parametrize("as_list", [False, True])
def test_weighted_sum_matches_float64_reference(as_list):
    x = _updates()
    w = np.random.default_rng(1).random(13) * 10
    got = engine.weighted_sum(list(x) if as_list else x, w)
    np.testing.assert_allclose(got, np.einsum("k,kd->d", w, x.astype(np.float64)), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("k", [1, 2, 7, 10])
def test_coordinate_median_matches_numpy(k):
    x = _updates(k=k, d=5003)
    np.testing.assert_array_equal(
        engine.coordinate_median(x), np.median(x.astype(np.float64), axis=0).astype(np.float32)
    )


@pytest.mark.parametrize(("k", "beta"), [(10, 0.0), (10, 0.2), (11, 0.3), (4, 0.49)])
def test_trimmed_mean_matches_scipy(k, beta):
    x = _updates(k=k, d=5003)
    expected = stats.trim_mean(x.astype(np.float64), beta, axis=0)
    np.testing.assert_allclose(engine.coordinate_trimmed_mean(x, beta), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_pairwise_distances_match_scipy_even_for_full_weights(offset):
    # With a large common offset (full model weights rather than deltas) an uncentred float32 Gram
    # loses the distances; the centred computation (float32 tile dots summed in float64) must still
    # match cdist in float64 far inside the 1e-5 the rules need.
    x = _updates(k=9, d=30_000, offset=offset)
    expected = cdist(x.astype(np.float64), x.astype(np.float64), "sqeuclidean")
    got = engine.pairwise_sq_distances(x)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-6)
    assert np.all(np.diag(got) == 0)
    naive = np.diag(x @ x.T)[:, None] + np.diag(x @ x.T)[None, :] - 2 * (x @ x.T)  # the float32 Gram
    if offset:
        assert np.max(np.abs(naive - expected) / expected.max()) > 1e-3  # why centring matters


def test_norms_and_clipping_in_place():
    x = _updates(k=5, d=1000)
    x[2] *= 100
    norms = np.linalg.norm(x.astype(np.float64), axis=1)
    np.testing.assert_allclose(engine.row_norms(x), norms, rtol=1e-12)
    before = x.copy()
    returned = engine.clip_rows(x, max_norm=40.0)
    np.testing.assert_allclose(returned, norms, rtol=1e-12)
    for k in range(5):
        if norms[k] > 40.0:
            np.testing.assert_allclose(np.linalg.norm(x[k].astype(np.float64)), 40.0, rtol=1e-6)
        else:
            np.testing.assert_array_equal(x[k], before[k])


def test_results_do_not_depend_on_thread_count():
    x = _updates(k=12, d=100_003)
    outputs = []
    for threads in (1, 3):
        with engine.threads(threads):
            outputs.append(
                (
                    engine.weighted_sum(x, np.arange(12.0)),
                    engine.pairwise_sq_distances(x),
                    engine.coordinate_trimmed_mean(x, 0.25),
                )
            )
    for a, b in zip(outputs[0], outputs[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_nan_propagates_to_its_coordinate_only():
    x = _updates(k=5, d=100)
    x[3, 17] = np.nan
    median = engine.coordinate_median(x)
    assert np.isnan(median[17]) and np.isfinite(np.delete(median, 17)).all()


def test_reject_non_finite_names_the_first_bad_update():
    x = _updates(k=7, d=100)
    x[5, 99] = np.inf
    x[2, 40] = np.nan
    with pytest.raises(InvalidArgumentError, match=r"median\] updates\[2\] contains NaN"):
        engine.coordinate_median(x, reject_non_finite=True)
    with pytest.raises(InvalidArgumentError, match=r"updates\[2\] contains NaN or infinite"):
        engine.coordinate_trimmed_mean(x, 0.2, reject_non_finite=True)
    x[2, 40] = 0.0
    # By default infinities are values (numpy's median), and rejecting needs nothing non-finite.
    np.testing.assert_array_equal(engine.coordinate_median(x), np.median(x, axis=0).astype(np.float32))
    with pytest.raises(InvalidArgumentError, match=r"updates\[5\]"):
        engine.coordinate_median(x, reject_non_finite=True)
    x[5, 99] = 1.0
    engine.coordinate_median(x, reject_non_finite=True)


def test_bad_updates_are_named():
    with pytest.raises(
        InvalidArgumentError, match=r"updates\[1\]: expected a vector of length 4 like updates\[0\]"
    ):
        engine.weighted_sum([np.zeros(4, np.float32), np.zeros(5, np.float32)])
    with pytest.raises(InvalidArgumentError, match=r"updates\[0\]: expected dtype float32"):
        engine.coordinate_median([np.zeros(4)])
    with pytest.raises(InvalidArgumentError, match="at least one update"):
        engine.coordinate_median([])
    with pytest.raises(InvalidArgumentError, match=r"weights\[1\] must be finite"):
        engine.weighted_sum(_updates(k=2, d=3), [1.0, np.nan])
    with pytest.raises(InvalidArgumentError, match=r"beta must be in \[0, 0.5\)"):
        engine.coordinate_trimmed_mean(_updates(k=4, d=3), 0.5)
    with pytest.raises(InvalidArgumentError, match="max_norm must be finite and > 0"):
        engine.clip_rows(_updates(k=2, d=3), 0.0)
    frozen = _updates(k=2, d=3)
    frozen.flags.writeable = False
    with pytest.raises(InvalidArgumentError, match="read-only"):
        engine.clip_rows(frozen, 1.0)
