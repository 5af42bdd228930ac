from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from reactor import engine


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 7, 32_768, 32_769, 1_000_003])
def test_reduce_sum_matches_exactly_rounded_fsum(dtype, n):
    values = (np.random.default_rng(n).standard_normal(n) * 1e3).astype(dtype)
    expected = math.fsum(values.astype(np.float64).tolist())
    assert engine.reduce_sum(values) == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_reduce_sum_handles_cancellation_better_than_naive():
    values = np.array([1e16] + [1.0] * 1000 + [-1e16])
    assert engine.reduce_sum(values) == 1000.0


def test_reduce_sum_of_multidimensional_and_torch_inputs():
    matrix = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert engine.reduce_sum(matrix) == 276.0
    assert engine.reduce_sum(torch.arange(24, dtype=torch.float64).reshape(4, 6)) == 276.0


def test_reduce_sum_propagates_nan_and_infinity_like_numpy():
    assert math.isnan(engine.reduce_sum(np.array([1.0, np.nan, 2.0])))
    assert engine.reduce_sum(np.array([1.0, np.inf], dtype=np.float32)) == math.inf
    assert math.isnan(engine.reduce_sum(np.array([np.inf, -np.inf])))


@pytest.mark.cuda
def test_reduce_sum_on_cuda_matches_cpu_twin():
    host = torch.randn(5_000_003, dtype=torch.float32)
    device = host.cuda()
    stream = torch.cuda.current_stream()
    assert engine.reduce_sum(device, stream=stream) == pytest.approx(engine.reduce_sum(host), rel=1e-9)
    assert engine.describe_array(device).device == "cuda"
