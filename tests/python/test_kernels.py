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


@pytest.mark.parametrize("where", [0, 5, 1023, 1024, 40_000, 99_999])
def test_reduce_sum_handles_cancellation_in_every_lane_and_block(where):
    # Large arrays go through the 16-lane blocked path: put the cancelling pair in various lanes,
    # blocks and chunks and check the small terms survive exactly.
    values = np.ones(100_000)
    values[where] = 1e16
    values[(where + 50_001) % values.size] = -1e16
    assert engine.reduce_sum(values) == 100_000 - 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("where", [3, 1030, 70_000])
def test_reduce_sum_special_values_in_large_arrays(dtype, where):
    values = np.ones(100_000, dtype=dtype)
    values[where] = np.inf
    assert engine.reduce_sum(values) == math.inf
    values[where + 7] = np.nan
    assert math.isnan(engine.reduce_sum(values))
    values[:] = 1.0
    values[where] = np.inf
    values[where // 2] = -np.inf
    assert math.isnan(engine.reduce_sum(values))


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
