from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from scipy.stats import norm

from reactor.errors import InvalidArgumentError
from reactor.federated.attacks import (
    LabelFlipDataset,
    alie,
    alie_z_max,
    apply_attack,
    gaussian,
    inner_product_manipulation,
    scaled,
    sign_flip,
)


def _honest(k: int = 10, d: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(k, d)) + 1.0).astype(np.float32)


def test_sign_flip_and_scaled():
    g = _honest()
    np.testing.assert_allclose(sign_flip(g), -g)
    np.testing.assert_allclose(sign_flip(g, 3.0), -3.0 * g, rtol=1e-6)
    np.testing.assert_allclose(scaled(g, 10.0), 10.0 * g, rtol=1e-6)
    with pytest.raises(
        InvalidArgumentError, match=re.escape("sign_flip scale must be finite and > 0, got -1.0")
    ):
        sign_flip(g, -1.0)


def test_gaussian_seeded():
    a = gaussian(4, 5000, 2.0, seed=1, round_index=3)
    np.testing.assert_array_equal(a, gaussian(4, 5000, 2.0, seed=1, round_index=3))
    assert not np.array_equal(a, gaussian(4, 5000, 2.0, seed=1, round_index=4))
    assert a.shape == (4, 5000) and abs(a.std() - 2.0) < 0.05 and abs(a.mean()) < 0.05


@pytest.mark.parametrize(("n", "f"), [(50, 12), (10, 2), (20, 4), (7, 1)])
def test_alie_z_max_formula(n, f):
    s = np.floor(n / 2 + 1) - f
    assert alie_z_max(n, f) == pytest.approx(norm.ppf((n - s) / n), rel=1e-9)


def test_alie_and_ipm_formulas():
    g = _honest(k=20).astype(np.float64)
    mu, sigma = g.mean(axis=0), g.std(axis=0)
    np.testing.assert_allclose(alie(g, 20, 4), mu - alie_z_max(20, 4) * sigma, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(alie(g, 20, 4, z_max=1.5), mu - 1.5 * sigma, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inner_product_manipulation(g, 0.5), -0.5 * mu, rtol=1e-5, atol=1e-6)
    assert float(inner_product_manipulation(g, 0.5) @ mu) < 0  # negative inner product with the mean


def test_apply_attack_replaces_only_malicious_rows():
    g = _honest()
    for kind in ("sign_flip", "scaled", "gaussian", "alie", "ipm"):
        out = apply_attack(kind, g, [2, 7], seed=0, round_index=1, scale=4.0, std=0.5, epsilon=0.2)
        honest_rows = [i for i in range(10) if i not in (2, 7)]
        np.testing.assert_array_equal(out[honest_rows], g[honest_rows])
        assert not np.allclose(out[[2, 7]], g[[2, 7]]), kind
    np.testing.assert_allclose(apply_attack("scaled", g, [3], seed=0, round_index=0, scale=4.0)[3], 4 * g[3])
    np.testing.assert_allclose(
        apply_attack("alie", g, [0, 1], seed=0, round_index=0)[1],
        g.astype(np.float64).mean(0) - alie_z_max(10, 2) * g.astype(np.float64).std(0),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_array_equal(apply_attack("label_flip", g, [1], seed=0, round_index=0), g)
    with pytest.raises(InvalidArgumentError, match="kind must be one of"):
        apply_attack("nope", g, [1], seed=0, round_index=0)
    with pytest.raises(InvalidArgumentError, match="malicious index 10 is outside the 10 updates"):
        apply_attack("sign_flip", g, [10], seed=0, round_index=0)


def test_label_flip_dataset_wraps_a_torch_dataset():
    x = torch.arange(12, dtype=torch.float32).reshape(6, 2)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    flipped = LabelFlipDataset(torch.utils.data.TensorDataset(x, y), num_classes=4)
    assert len(flipped) == 6
    assert [int(flipped[i][1]) for i in range(6)] == [3, 2, 1, 0, 3, 2]
    assert torch.equal(flipped[2][0], x[2])
    batch = next(iter(torch.utils.data.DataLoader(flipped, batch_size=6)))
    assert batch[1].tolist() == [3, 2, 1, 0, 3, 2]
    with pytest.raises(InvalidArgumentError, match="num_classes must be >= 2"):
        LabelFlipDataset(flipped, 1)
