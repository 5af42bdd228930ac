from __future__ import annotations

import numpy as np
import pytest

from reactor.errors import InvalidArgumentError
from reactor.federated.sampling import (
    AvailabilityAwareSampler,
    PoissonSampler,
    UniformSampler,
    WeightedSampler,
    inclusion_probabilities,
)

ROUNDS = 3000


def _frequencies(sampler, n: int, rounds: int = ROUNDS) -> tuple[np.ndarray, list[int]]:
    counts = np.zeros(n)
    sizes = []
    for r in range(rounds):
        chosen = sampler.sample(r).selected
        counts[chosen] += 1
        sizes.append(len(chosen))
    return counts / rounds, sizes


def _within(freq: np.ndarray, p: np.ndarray, rounds: int = ROUNDS, sigmas: float = 5.0) -> bool:
    return bool(np.all(np.abs(freq - p) <= sigmas * np.sqrt(p * (1 - p) / rounds) + 1e-9))


def test_uniform_fixed_size_distinct_seeded_and_uniform():
    sampler = UniformSampler(30, 6, seed=4)
    first = sampler.sample(9).selected
    assert len(first) == 6 and len(set(first.tolist())) == 6
    np.testing.assert_array_equal(first, UniformSampler(30, 6, seed=4).sample(9).selected)
    assert not np.array_equal(first, sampler.sample(10).selected)
    assert not np.array_equal(first, UniformSampler(30, 6, seed=5).sample(9).selected)
    freq, sizes = _frequencies(sampler, 30)
    assert set(sizes) == {6}
    assert _within(freq, np.full(30, 0.2))
    assert sampler.sample_rate == 0.2 and sampler.kind == "fixed_size"


def test_poisson_rate_and_count():
    sampler = PoissonSampler(40, 0.15, seed=1)
    freq, sizes = _frequencies(sampler, 40)
    assert _within(freq, np.full(40, 0.15))
    # Mean count q * N within 5 standard errors; sizes vary from round to round.
    assert abs(np.mean(sizes) - 6.0) < 5 * np.sqrt(40 * 0.15 * 0.85 / ROUNDS)
    assert len(set(sizes)) > 5
    assert sampler.sample(0).kind == "poisson" and sampler.sample(0).sample_rate == 0.15


def test_weighted_inclusion_proportional_to_size():
    sizes = np.array([5, 10, 20, 40, 80, 15, 30, 60, 25, 35], dtype=float)
    sampler = WeightedSampler(sizes, 3, seed=2)
    expected = 3 * sizes / sizes.sum()
    np.testing.assert_allclose(sampler.probabilities, expected)
    freq, counts = _frequencies(sampler, 10)
    assert set(counts) == {3}
    assert _within(freq, expected)
    assert sampler.sample_rate == pytest.approx(expected.max())


def test_weighted_caps_large_clients_and_with_replacement():
    sizes = np.array([1000, 1, 1, 1, 1, 1, 1, 1], dtype=float)
    pi = inclusion_probabilities(sizes, 3)
    assert pi[0] == 1.0 and pi.sum() == pytest.approx(3)
    np.testing.assert_allclose(pi[1:], 2 / 7)
    sampler = WeightedSampler(sizes, 3, seed=0)
    freq, _ = _frequencies(sampler, 8, rounds=1000)
    assert freq[0] == 1.0
    assert _within(freq[1:], pi[1:], rounds=1000)
    with_replacement = WeightedSampler([1, 2, 3, 4], 2, seed=3, replace=True)
    draws = np.zeros(4)
    for r in range(ROUNDS):
        draws[with_replacement.sample(r).selected] += 1
    expected = 1 - (1 - np.array([1, 2, 3, 4]) / 10) ** 2
    assert _within(draws / ROUNDS, expected)


def test_availability_probability_skips_and_reports():
    base = UniformSampler(20, 10, seed=6)
    sampler = AvailabilityAwareSampler(base, np.full(20, 0.7))
    skipped = 0
    for r in range(500):
        result = sampler.sample(r)
        picked = np.sort(np.concatenate([result.selected, result.unavailable]))
        np.testing.assert_array_equal(picked, base.sample(r).selected)
        assert not set(result.selected.tolist()) & set(result.unavailable.tolist())
        skipped += len(result.unavailable)
    assert abs(skipped / (500 * 10) - 0.3) < 5 * np.sqrt(0.21 / 5000)
    np.testing.assert_array_equal(sampler.sample(3).selected, sampler.sample(3).selected)


def test_availability_schedule():
    def even_rounds_only_even_clients(round_index: int) -> np.ndarray:
        mask = np.ones(12, dtype=bool)
        if round_index % 2 == 0:
            mask[1::2] = False
        return mask

    sampler = AvailabilityAwareSampler(UniformSampler(12, 12), even_rounds_only_even_clients)
    assert sampler.sample(0).selected.tolist() == list(range(0, 12, 2))
    assert sampler.sample(0).unavailable.tolist() == list(range(1, 12, 2))
    assert sampler.sample(1).selected.tolist() == list(range(12))
    bad = AvailabilityAwareSampler(UniformSampler(12, 3), lambda r: np.ones(5, dtype=bool))
    with pytest.raises(InvalidArgumentError, match="must return 12 booleans"):
        bad.sample(0)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: UniformSampler(10, 11), "clients_per_round must be an integer in \\[1, num_clients=10\\]"),
        (lambda: UniformSampler(0, 1), "num_clients must be an integer >= 1"),
        (lambda: PoissonSampler(10, 0.0), "rate must be in \\(0, 1\\]"),
        (lambda: WeightedSampler([1, -2, 3], 1), "sizes\\[1\\] must be finite and >= 0"),
        (lambda: WeightedSampler([1, 0, 0], 2), "only 1 clients have data"),
        (lambda: AvailabilityAwareSampler(UniformSampler(4, 2), [0.5] * 3), "expected 4 probabilities"),
        (lambda: AvailabilityAwareSampler(UniformSampler(4, 2), [0.5, 2, 1, 1]), "availability\\[1\\]"),
        (lambda: UniformSampler(4, 2, seed=-1).sample(0), "seed must be an integer >= 0"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(InvalidArgumentError, match=match):
        make()
