"""Results never depend on the thread count or on how work is split."""

from __future__ import annotations

import numpy as np
import pytest

from reactor import engine


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_generation_is_identical_for_any_thread_count(dtype):
    results = []
    for threads in (1, 2, 3, 8):
        with engine.threads(threads):
            results.append(
                (
                    engine.normal(200_003, seed=9, stream=2, dtype=dtype),
                    engine.uniform(200_003, seed=9, dtype=dtype),
                )
            )
    for normal, uniform in results[1:]:
        np.testing.assert_array_equal(normal, results[0][0])
        np.testing.assert_array_equal(uniform, results[0][1])


def test_reduce_sum_is_bit_identical_for_any_thread_count():
    data = engine.normal(3_000_001, seed=4, dtype=np.float32)
    sums = []
    for threads in (1, 2, 5):
        with engine.threads(threads):
            sums.append(engine.reduce_sum(data))
    assert sums[0] == sums[1] == sums[2]


@pytest.mark.parametrize("cut", [1, 3, 4, 5, 1001])
def test_pieces_with_offsets_equal_the_whole(cut):
    whole = engine.normal(5000, seed=7, stream=1)
    head = engine.normal(cut, seed=7, stream=1)
    tail = engine.normal(5000 - cut, seed=7, stream=1, offset=cut)
    np.testing.assert_array_equal(np.concatenate([head, tail]), whole)
    out = np.empty(5000 - cut)
    engine.fill_normal(out, seed=7, stream=1, offset=cut)
    np.testing.assert_array_equal(out, whole[cut:])


def test_thread_context_restores_previous_size():
    before = engine.num_threads()
    with engine.threads(3):
        assert engine.num_threads() == 3
    assert engine.num_threads() == before
