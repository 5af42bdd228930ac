"""The engine's counter-based generator against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from reactor import engine


def _numpy_philox_bits(seed: int, stream: int, n: int) -> np.ndarray:
    # numpy.random.Philox is an independent Philox4x64-10; it increments the counter before each
    # block, so starting from 2**64 - 1 its first block is block 0.
    generator = np.random.Philox(key=[seed, stream], counter=[2**64 - 1] * 4)
    return generator.random_raw(n)


@pytest.mark.parametrize(("seed", "stream"), [(0, 0), (12345, 7), (2**64 - 1, 2**63)])
def test_uniform_float64_equals_numpy_philox_bit_for_bit(seed, stream):
    n = 10_001
    expected = (_numpy_philox_bits(seed, stream, n) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    np.testing.assert_array_equal(engine.uniform(n, seed=seed, stream=stream), expected)


def test_uniform_scaling_and_offset():
    expected = (_numpy_philox_bits(5, 0, 100)[10:] >> np.uint64(11)).astype(np.float64) * 2.0**-53
    got = engine.uniform(90, seed=5, offset=10, low=-3.0, high=5.0)
    np.testing.assert_allclose(got, -3.0 + 8.0 * expected, rtol=0, atol=1e-15)


def test_float32_uniform_stays_below_high():
    values = engine.uniform(1_000_000, seed=1, low=0.0, high=1.0, dtype=np.float32)
    assert values.dtype == np.float32
    assert values.min() >= 0.0
    assert values.max() < 1.0


def test_normal_passes_kolmogorov_smirnov_against_scipy():
    values = engine.normal(200_000, seed=11, mean=2.0, std=3.0)
    result = stats.kstest(values, stats.norm(loc=2.0, scale=3.0).cdf)
    assert result.pvalue > 1e-4, result
    assert abs(values.mean() - 2.0) < 5 * 3.0 / np.sqrt(values.size)


def test_uniform_passes_kolmogorov_smirnov_against_scipy():
    values = engine.uniform(200_000, seed=12, low=-1.0, high=1.0)
    assert stats.kstest(values, stats.uniform(loc=-1.0, scale=2.0).cdf).pvalue > 1e-4


def test_streams_and_seeds_are_uncorrelated():
    a = engine.normal(100_000, seed=1, stream=0)
    b = engine.normal(100_000, seed=1, stream=1)
    c = engine.normal(100_000, seed=2, stream=0)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.02
    assert abs(np.corrcoef(a, c)[0, 1]) < 0.02


def test_zero_std_gives_the_mean_and_empty_gives_empty():
    np.testing.assert_array_equal(engine.normal(10, seed=0, mean=4.5, std=0.0), np.full(10, 4.5))
    assert engine.normal(0, seed=0).shape == (0,)


def test_normal_equals_box_muller_with_libm_on_the_same_philox_words():
    # The engine evaluates log and sin/cos with its own polynomials (bit-identical on CPU and
    # CUDA); numpy's libm on the same uniforms is the independent reference.
    n = 40_000
    words = _numpy_philox_bits(21, 3, n).reshape(-1, 4)
    u1 = 1.0 - (words[:, 0::2] >> np.uint64(11)).astype(np.float64) * 2.0**-53
    u2 = (words[:, 1::2] >> np.uint64(11)).astype(np.float64) * 2.0**-53
    radius = np.sqrt(-2.0 * np.log(u1))
    expected = np.empty((words.shape[0], 4))
    expected[:, 0::2] = radius * np.cos(2 * np.pi * u2)
    expected[:, 1::2] = radius * np.sin(2 * np.pi * u2)
    np.testing.assert_allclose(engine.normal(n, seed=21, stream=3), expected.ravel(), rtol=1e-13, atol=1e-14)
