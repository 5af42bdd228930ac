"""Server optimizers against numpy implementations of Reddi et al. 2021 / Hsu et al. 2019."""

from __future__ import annotations

import numpy as np
import pytest

from reactor.errors import InvalidArgumentError
from reactor.federated import ServerOptimizer


def _reference(kind, x, deltas, eta, b1, b2, tau):
    x = x.astype(np.float64).copy()
    m = np.zeros_like(x)
    v = np.full_like(x, tau**2)
    for d in deltas:
        d = d.astype(np.float64)
        if kind == "fedavgm":
            m = b1 * m + d
            x += eta * m
            continue
        m = b1 * m + (1 - b1) * d
        if kind == "fedadagrad":
            v = v + d**2
        elif kind == "fedyogi":
            v = v - (1 - b2) * d**2 * np.sign(v - d**2)
        else:
            v = b2 * v + (1 - b2) * d**2
        x += eta * m / (np.sqrt(v) + tau)
    return x


@pytest.mark.parametrize("kind", ["fedavgm", "fedadagrad", "fedyogi", "fedadam"])
def test_updates_match_the_paper(kind):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(5000).astype(np.float32)
    deltas = [rng.standard_normal(5000).astype(np.float32) * 0.1 for _ in range(6)]
    optimizer = ServerOptimizer(kind, eta=0.05, beta_1=0.9, beta_2=0.99, tau=1e-3)
    params = x.copy()
    for d in deltas:
        optimizer.step(params, d)
    np.testing.assert_allclose(
        params, _reference(kind, x, deltas, 0.05, 0.9, 0.99, 1e-3), rtol=1e-5, atol=1e-5
    )


def test_fedavgm_without_momentum_is_fedavg():
    x = np.ones(10, dtype=np.float32)
    delta = np.arange(10, dtype=np.float32)
    ServerOptimizer("fedavgm", eta=1.0, beta_1=0.0).step(x, delta)
    np.testing.assert_array_equal(x, 1 + np.arange(10, dtype=np.float32))


def test_state_dict_resumes_bit_for_bit():
    rng = np.random.default_rng(1)
    deltas = [rng.standard_normal(100).astype(np.float32) for _ in range(4)]
    straight = ServerOptimizer("fedyogi", eta=0.1)
    a = np.zeros(100, dtype=np.float32)
    for d in deltas:
        straight.step(a, d)
    first = ServerOptimizer("fedyogi", eta=0.1)
    b = np.zeros(100, dtype=np.float32)
    for d in deltas[:2]:
        first.step(b, d)
    resumed = ServerOptimizer.from_state_dict(first.state_dict())
    for d in deltas[2:]:
        resumed.step(b, d)
    np.testing.assert_array_equal(a, b)


def test_bad_hyper_parameters_and_shapes():
    with pytest.raises(InvalidArgumentError, match="kind must be one of"):
        ServerOptimizer("fedsgd")
    with pytest.raises(InvalidArgumentError, match=r"beta_1 must be in \[0, 1\)"):
        ServerOptimizer("fedadam", beta_1=1.0).step(np.zeros(3, np.float32), np.zeros(3, np.float32))
    with pytest.raises(InvalidArgumentError, match="eta must be finite and > 0"):
        ServerOptimizer("fedadam", eta=0.0).step(np.zeros(3, np.float32), np.zeros(3, np.float32))
    with pytest.raises(InvalidArgumentError, match=r"delta: expected the shape of float32\[3\]"):
        ServerOptimizer("fedadam").step(np.zeros(3, np.float32), np.zeros(4, np.float32))
