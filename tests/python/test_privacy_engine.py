"""DP kernels of the engine against numpy references and the Andrew et al. 2021 formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reactor import engine
from reactor.errors import InvalidArgumentError


def test_clip_updates_matches_numpy_in_place():
    rng = np.random.default_rng(0)
    updates = rng.normal(size=(5, 20_001)).astype(np.float32)
    updates[2] *= 1e-4  # below the bound: untouched
    original = updates.copy()
    norms = engine.clip_updates(updates, 10.0)
    reference = np.linalg.norm(original.astype(np.float64), axis=1)
    np.testing.assert_allclose(norms, reference, rtol=1e-12)
    factors = np.minimum(1.0, 10.0 / reference)
    expected = (original.astype(np.float64) * factors[:, None]).astype(np.float32)
    np.testing.assert_array_equal(updates, expected)
    np.testing.assert_array_equal(updates[2], original[2])
    np.testing.assert_allclose(
        np.linalg.norm(updates.astype(np.float64), axis=1)[[0, 1, 3, 4]], 10.0, rtol=1e-6
    )


def test_clip_updates_list_of_arrays_and_nan_names_the_client():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=1000).astype(np.float32), rng.normal(size=(10, 30)).astype(np.float32)
    b[3, 7] = np.nan
    a_before = a.copy()
    with pytest.raises(InvalidArgumentError, match=r"updates\[1\]: value at flat index 97 is nan"):
        engine.clip_updates([a, b], 0.1)
    np.testing.assert_array_equal(a, a_before)  # nothing modified
    b[3, 7] = 0.0
    expected = np.linalg.norm(b.astype(np.float64))
    norms = engine.clip_updates([a, b], 0.1)
    np.testing.assert_allclose(norms[1], expected, rtol=1e-12)
    assert np.linalg.norm(b.astype(np.float64)) == pytest.approx(0.1, rel=1e-6)


def test_flat_clip_over_layers_and_per_layer_clip():
    rng = np.random.default_rng(2)
    layers = [rng.normal(size=(64, 32)).astype(np.float32), rng.normal(size=32).astype(np.float32)]
    original = [x.copy() for x in layers]
    total = math.sqrt(sum(float(np.sum(x.astype(np.float64) ** 2)) for x in original))
    assert engine.clip_update_layers(layers, 1.0) == pytest.approx(total, rel=1e-12)
    for got, before in zip(layers, original, strict=True):
        np.testing.assert_array_equal(got, (before.astype(np.float64) * (1.0 / total)).astype(np.float32))

    layers = [x.copy() for x in original]
    norms = engine.clip_layers(layers, [100.0, 1.0])
    np.testing.assert_allclose(norms, [np.linalg.norm(x.astype(np.float64)) for x in original], rtol=1e-12)
    np.testing.assert_array_equal(layers[0], original[0])  # under its bound
    assert np.linalg.norm(layers[1].astype(np.float64)) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(InvalidArgumentError, match=r"clip_norms\[0\] must be finite and > 0"):
        engine.clip_layers(layers, [0.0, 1.0])
    with pytest.raises(InvalidArgumentError, match="clip_norms"):
        engine.clip_layers(layers, [1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_noise_is_engine_normal_of_the_round(dtype):
    rng = np.random.default_rng(3)
    x = rng.normal(size=50_001).astype(dtype)
    out = x.copy()
    engine.add_gaussian_noise(out, 0.75, seed=42, round=9)
    noise = engine.normal(x.size, seed=42, stream=9, std=0.75)
    np.testing.assert_array_equal(out, (x.astype(np.float64) + noise).astype(dtype))
    again = x.copy()
    engine.add_gaussian_noise(again, 0.75, seed=42, round=10)
    assert not np.array_equal(again, out)


def test_gaussian_noise_statistics_and_thread_independence():
    out = np.zeros(400_000, dtype=np.float32)
    before = engine.num_threads()
    try:
        engine.set_num_threads(1)
        engine.add_gaussian_noise(out, 2.0, seed=5, round=0)
        one = out.copy()
        out[:] = 0
        engine.set_num_threads(2)
        engine.add_gaussian_noise(out, 2.0, seed=5, round=0)
    finally:
        engine.set_num_threads(before)
    np.testing.assert_array_equal(out, one)
    assert abs(float(out.mean())) < 0.02
    assert float(out.std()) == pytest.approx(2.0, rel=0.01)


def test_gaussian_noise_bad_input():
    out = np.zeros(4, dtype=np.float32)
    with pytest.raises(InvalidArgumentError, match="stddev must be finite and >= 0, got -1"):
        engine.add_gaussian_noise(out, -1.0, seed=1, round=0)
    with pytest.raises(InvalidArgumentError, match="stddev"):
        engine.add_gaussian_noise(out, float("nan"), seed=1, round=0)
    with pytest.raises(InvalidArgumentError, match="round"):
        engine.add_gaussian_noise(out, 1.0, seed=1, round=-1)
    with pytest.raises(InvalidArgumentError, match="float32 or float64"):
        engine.add_gaussian_noise(np.zeros(4, dtype=np.int32), 1.0, seed=1, round=0)


def _andrew_reference(clip, norms, gamma, eta, noise):
    # Andrew et al. 2021, Algorithm 1 (geometric update), as Flower and TFF implement it.
    m = len(norms)
    b_bar = (sum(1 for n in norms if n <= clip) + noise) / m
    return clip * math.exp(-eta * (b_bar - gamma)), b_bar


def test_adaptive_clip_step_matches_the_paper_formula():
    norms = np.array([0.2, 0.9, 1.0, 1.7, 2.5, 0.05], dtype=np.float64)
    sigma_b = len(norms) / 20
    got = engine.adaptive_clip_step(norms, clip_norm=1.0, count_stddev=sigma_b, seed=3, round=7)
    z = engine.normal(1, seed=3, stream=7, offset=2**64 - 4)[0]
    clip, fraction = _andrew_reference(1.0, norms, 0.5, 0.2, sigma_b * z)
    assert got.unclipped == 4
    assert got.noisy_fraction == pytest.approx(fraction, rel=1e-15)
    assert got.clip_norm == pytest.approx(clip, rel=1e-15)
    pure = engine.adaptive_clip_update(
        1.0, 4, 6, target_quantile=0.5, learning_rate=0.2, count_noise=sigma_b * z
    )
    assert pure == got


def test_adaptive_clipping_converges_to_the_target_quantile():
    rng = np.random.default_rng(4)
    clip = 0.1
    for round_ in range(300):
        norms = rng.lognormal(mean=0.0, sigma=0.5, size=100)
        clip = engine.adaptive_clip_step(
            norms, clip_norm=clip, count_stddev=5.0, seed=11, round=round_, target_quantile=0.5
        ).clip_norm
    assert clip == pytest.approx(1.0, rel=0.2)  # the median of lognormal(0, 0.5) is 1


def test_adaptive_noise_multiplier_and_errors():
    assert engine.adaptive_noise_multiplier(1.0, 5.0) == pytest.approx((1.0 - 1.0 / 100.0) ** -0.5)
    with pytest.raises(InvalidArgumentError, match="count_stddev must exceed noise_multiplier / 2"):
        engine.adaptive_noise_multiplier(2.0, 1.0)
    with pytest.raises(InvalidArgumentError, match=r"norms\[1\] must be finite"):
        engine.adaptive_clip_step(np.array([1.0, np.nan]), clip_norm=1.0, count_stddev=0.1, seed=0, round=0)
    with pytest.raises(InvalidArgumentError, match="unclipped must be a non-negative integer"):
        engine.adaptive_clip_update(1.0, -1, 3)
    with pytest.raises(InvalidArgumentError, match="num_clients must be finite and > 0"):
        engine.adaptive_clip_update(1.0, 1, 0.0)
    # Poisson sampling: the denominator is the expected count q * N, which a round may exceed.
    step = engine.adaptive_clip_update(1.0, 14, 12.5, target_quantile=0.5, learning_rate=0.2)
    assert step.clip_norm == pytest.approx(math.exp(-0.2 * (14 / 12.5 - 0.5)))
    with pytest.raises(InvalidArgumentError, match="clip_norm"):
        engine.adaptive_clip_update(-1.0, 1, 3)
