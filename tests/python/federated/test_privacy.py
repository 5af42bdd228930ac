from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from opacus.accountants import PRVAccountant, RDPAccountant

from reactor import engine
from reactor.errors import InvalidArgumentError
from reactor.federated.pipeline import AggregationPipeline, PipelineConfig
from reactor.federated.privacy import (
    COUNT_NOISE_OFFSET,
    AdaptiveClipping,
    PrivacyAccountant,
    adaptive_noise_multiplier,
    clip_updates,
    gaussian_noise,
)


def _updates(k: int = 8, d: int = 30, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(k, d)) * rng.uniform(0.1, 3.0, size=(k, 1))).astype(np.float32)


def _numpy_clip(x: np.ndarray, bound: float) -> np.ndarray:
    norms = np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    return x * np.minimum(1.0, bound / norms)


def test_flat_clipping_matches_numpy():
    x = _updates()
    expected = _numpy_clip(x, 1.5)
    result = clip_updates(x, 1.5)
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(result.norms, np.linalg.norm(_updates().astype(np.float64), axis=1), rtol=1e-6)
    assert result.unclipped.tolist() == (result.norms <= 1.5).tolist()
    assert 0 < result.unclipped_count < 8
    assert np.all(np.linalg.norm(x, axis=1) <= 1.5 * (1 + 1e-6))
    assert result.sensitivity == 1.5


def test_per_layer_clipping_matches_numpy():
    x = _updates(d=30)
    sizes = [10, 15, 5]
    expected = x.copy()
    start = 0
    for size in sizes:
        expected[:, start : start + size] = _numpy_clip(x[:, start : start + size], 2.0 / math.sqrt(3))
        start += size
    result = clip_updates(x, 2.0, sizes)
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-7)
    assert result.layer_norms is not None and result.layer_norms.shape == (8, 3)
    assert result.sensitivity == pytest.approx(2.0)
    assert np.all(np.linalg.norm(x, axis=1) <= 2.0 * (1 + 1e-6))
    # Explicit per-layer bounds.
    y = _updates(seed=1)
    expected = y.copy()
    bounds = [0.5, 1.0, 0.25]
    start = 0
    for size, bound in zip(sizes, bounds, strict=True):
        expected[:, start : start + size] = _numpy_clip(y[:, start : start + size], bound)
        start += size
    result = clip_updates(y, bounds, sizes)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-7)
    assert result.sensitivity == pytest.approx(math.sqrt(0.25 + 1 + 0.0625))


@pytest.mark.parametrize(
    ("norm", "sizes", "match"),
    [
        (0.0, None, "clip_norm"),
        (-1.0, None, "clip_norm"),
        (1.0, [10, 10], "sum to the update length 30"),
        ([1.0, 2.0], [10, 20, 0], "positive"),
        ([1.0, 2.0], [10, 20], None),
        ([1.0], [10, 20], "expected 2 per-layer norms"),
    ],
)
def test_clipping_bad_arguments(norm, sizes, match):
    x = _updates()
    if match is None:
        clip_updates(x, norm, sizes)
        return
    with pytest.raises(InvalidArgumentError, match=match):
        clip_updates(x, norm, sizes)


def test_noise_reproducible_per_seed_and_round_and_matches_engine():
    a = gaussian_noise(1000, 0.3, seed=7, round_index=4)
    b = gaussian_noise(1000, 0.3, seed=7, round_index=4)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32
    assert not np.array_equal(a, gaussian_noise(1000, 0.3, seed=7, round_index=5))
    assert not np.array_equal(a, gaussian_noise(1000, 0.3, seed=8, round_index=4))
    reference = engine.normal(1000, seed=7, stream=4) * 0.3
    np.testing.assert_allclose(a, reference, rtol=1e-6, atol=1e-7)
    assert 0.27 < a.std() < 0.33


def test_dp_pipeline_adds_exactly_the_engine_noise():
    x = _updates(k=10, d=40)
    config = PipelineConfig(
        clip={"enabled": True, "norm": 1.0},
        dp={"enabled": True, "noise_multiplier": 1.3, "expected_clients": 12.5},
        seed=3,
    )
    report = AggregationPipeline(config).aggregate(x, round_index=6, sample_rate=0.25)
    mean = _numpy_clip(x, 1.0).astype(np.float64).sum(axis=0) / 12.5
    std = 1.3 * 1.0 / 12.5
    assert report.noise_std == pytest.approx(std)
    np.testing.assert_allclose(report.update - mean, engine.normal(40, seed=3, stream=6) * std, atol=2e-6)
    assert report.epsilon is not None and report.epsilon > 0


def test_adaptive_clipping_update_matches_hand_computation():
    clip = AdaptiveClipping(initial_clip_norm=1.0, target_quantile=0.5, learning_rate=0.2)
    new = clip.update(3, 10, noise=0.7)
    assert new == pytest.approx(1.0 * math.exp(-0.2 * ((3 + 0.7) / 10 - 0.5)))
    again = clip.update(10, 10)
    assert again == pytest.approx(new * math.exp(-0.2 * (1.0 - 0.5)))
    assert adaptive_noise_multiplier(0.5, 0.5) == pytest.approx((0.5**-2 - 1.0**-2) ** -0.5)
    with pytest.raises(InvalidArgumentError, match="count_stddev must exceed noise_multiplier / 2"):
        adaptive_noise_multiplier(1.0, 0.5)


def test_adaptive_clipping_in_pipeline_uses_noisy_count_and_reduced_noise():
    x = _updates(k=10, d=20, seed=2)
    norms = np.linalg.norm(x.astype(np.float64), axis=1)
    config = PipelineConfig(
        clip={"enabled": True, "norm": 1.0, "adaptive": True, "target_quantile": 0.5, "learning_rate": 0.2},
        dp={"enabled": True, "noise_multiplier": 0.8, "count_stddev": 0.6},
        seed=11,
    )
    pipeline = AggregationPipeline(config)
    report = pipeline.aggregate(x, round_index=2)
    sigma_b = 0.6
    count_noise = engine.normal(1, seed=11, stream=2, offset=COUNT_NOISE_OFFSET)[0] * sigma_b
    b_bar = ((norms <= 1.0).sum() + count_noise) / 10
    assert pipeline.clip_norm == pytest.approx(math.exp(-0.2 * (b_bar - 0.5)), rel=1e-9)
    z_delta = (0.8**-2 - (2 * sigma_b) ** -2) ** -0.5
    assert report.noise_std == pytest.approx(z_delta * 1.0 / 10)
    assert report.clip_norm == 1.0
    # The next round clips at the adapted norm.
    second = pipeline.aggregate(x, round_index=3)
    assert second.clip_norm == pytest.approx(math.exp(-0.2 * (b_bar - 0.5)))


@pytest.mark.parametrize(("q", "sigma", "steps"), [(0.1, 1.0, 20), (0.02, 0.8, 50), (1.0, 2.0, 5)])
def test_rdp_epsilon_matches_opacus_and_grows(q, sigma, steps):
    ours = PrivacyAccountant(delta=1e-5)
    reference = RDPAccountant()
    history = []
    for _ in range(steps):
        ours.step(sigma, q, "poisson")
        history.append(ours.epsilon)
        reference.step(noise_multiplier=sigma, sample_rate=q)
    assert ours.epsilon == pytest.approx(reference.get_epsilon(delta=1e-5), rel=1e-12)
    assert ours.rounds == steps
    assert all(b > a for a, b in itertools.pairwise(history))


def test_prv_accountant_matches_opacus():
    ours = PrivacyAccountant(delta=1e-5, mechanism="prv")
    reference = PRVAccountant()
    for _ in range(10):
        ours.step(1.0, 0.2)
        reference.step(noise_multiplier=1.0, sample_rate=0.2)
    assert ours.epsilon == pytest.approx(reference.get_epsilon(delta=1e-5), rel=1e-9)


def test_fixed_size_accounting_modes():
    approx = PrivacyAccountant(delta=1e-5, fixed_size="poisson_approx")
    strict = PrivacyAccountant(delta=1e-5, fixed_size="no_amplification")
    for _ in range(5):
        approx.step(1.0, 0.1, "fixed_size")
        strict.step(1.0, 0.1, "fixed_size")
    poisson = RDPAccountant()
    unamplified = RDPAccountant()
    for _ in range(5):
        poisson.step(noise_multiplier=1.0, sample_rate=0.1)
        unamplified.step(noise_multiplier=1.0, sample_rate=1.0)
    assert approx.epsilon == pytest.approx(poisson.get_epsilon(delta=1e-5))
    assert strict.epsilon == pytest.approx(unamplified.get_epsilon(delta=1e-5))
    assert strict.epsilon > approx.epsilon


def test_budget_stops_before_exceeding_target():
    accountant = PrivacyAccountant(delta=1e-5, target_epsilon=2.0)
    rounds = 0
    while accountant.can_run(1.1, 0.1):
        accountant.step(1.1, 0.1)
        rounds += 1
        assert rounds < 10_000
    assert 0 < accountant.epsilon <= 2.0
    assert accountant.epsilon_after(1.1, 0.1) > 2.0
    reference = RDPAccountant()
    for _ in range(rounds + 1):
        reference.step(noise_multiplier=1.1, sample_rate=0.1)
    assert reference.get_epsilon(delta=1e-5) > 2.0
    # Without a target the budget never stops anything.
    assert PrivacyAccountant(delta=1e-5).can_run(0.1, 1.0)


def test_accountant_state_round_trip_and_bad_arguments():
    accountant = PrivacyAccountant(delta=1e-6, target_epsilon=5.0)
    for _ in range(3):
        accountant.step(1.0, 0.3)
    restored = PrivacyAccountant.from_state_dict(accountant.state_dict())
    assert restored.epsilon == accountant.epsilon
    restored.step(1.0, 0.3)
    accountant.step(1.0, 0.3)
    assert restored.epsilon == pytest.approx(accountant.epsilon)
    with pytest.raises(InvalidArgumentError, match="delta must be in \\(0, 1\\), got 0"):
        PrivacyAccountant(delta=0)
    with pytest.raises(InvalidArgumentError, match=re.escape("sample_rate must be in (0, 1], got 1.5")):
        accountant.step(1.0, 1.5)
    with pytest.raises(InvalidArgumentError, match="noise_multiplier"):
        accountant.step(-1.0, 0.5)
    with pytest.raises(InvalidArgumentError, match="accountant must be 'rdp' or 'prv'"):
        PrivacyAccountant(delta=1e-5, mechanism="gdp")  # type: ignore[arg-type]
