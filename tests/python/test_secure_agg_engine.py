"""Secure-aggregation arithmetic of the engine against `cryptography`'s ChaCha20 and numpy."""

from __future__ import annotations

import struct
import sys
import threading
import time

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from reactor import engine
from reactor.errors import CapacityExceededError, InvalidArgumentError


def _reference_mask(seed: bytes, size: int, counter: int = 0, nonce: bytes = bytes(12)) -> np.ndarray:
    # The SecAgg protocol's convention: 16-byte nonce = little-endian 32-bit counter || 12-byte nonce.
    cipher = Cipher(algorithms.ChaCha20(seed, struct.pack("<I", counter) + nonce), mode=None)
    return np.frombuffer(cipher.encryptor().update(bytes(4 * size)), dtype="<u4")


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 255, 256, 257, 4099, 1_000_003])
def test_mask_equals_cryptography_chacha20(size):
    rng = np.random.default_rng(size)
    seed = rng.bytes(32)
    np.testing.assert_array_equal(engine.expand_mask(seed, size), _reference_mask(seed, size))


def test_counter_and_nonce_follow_the_16_byte_nonce_convention():
    seed, nonce = bytes(range(32)), bytes.fromhex("000000090000004a00000000")
    np.testing.assert_array_equal(
        engine.expand_mask(seed, 1000, counter=5, nonce=nonce), _reference_mask(seed, 1000, 5, nonce)
    )
    # RFC 8439 section 2.3.2 through the Python surface.
    block = engine.chacha20_block(seed, 1, nonce)
    assert block[:16].hex() == "10f1e7e4d13b5915500fdd1fa32071c4"
    assert block == _reference_mask(seed, 16, 1, nonce).tobytes()


def test_expand_into_is_in_place_and_threads_do_not_matter():
    seed = bytes([7]) * 32
    out = np.zeros(300_001, dtype=np.uint32)
    before = engine.num_threads()
    try:
        engine.set_num_threads(1)
        engine.expand_mask_into(out, seed)
        one = out.copy()
        engine.set_num_threads(2)
        engine.expand_mask_into(out, seed)
    finally:
        engine.set_num_threads(before)
    np.testing.assert_array_equal(out, one)
    np.testing.assert_array_equal(out, _reference_mask(seed, out.size))


def test_fused_masks_equal_numpy_modular_arithmetic():
    rng = np.random.default_rng(1)
    acc = rng.integers(0, 2**32, size=10_000, dtype=np.uint32)
    seeds = [rng.bytes(32) for _ in range(3)]
    signs = [1, -1, 1]
    expected = acc.copy()
    for seed, sign in zip(seeds, signs, strict=True):
        mask = _reference_mask(seed, acc.size)
        expected = expected + mask if sign > 0 else expected - mask  # uint32 wraps mod 2^32
    pointer = acc.ctypes.data
    engine.add_masks(acc, seeds, signs)
    assert acc.ctypes.data == pointer
    np.testing.assert_array_equal(acc, expected)
    engine.add_mask(acc, seeds[0], -1)
    np.testing.assert_array_equal(acc, expected - _reference_mask(seeds[0], acc.size))


def test_secure_sum_with_pairwise_masks_is_exact():
    rng = np.random.default_rng(2)
    clients, d, clip = 6, 50_000, 1.0
    updates = rng.uniform(-clip, clip, size=(clients, d)).astype(np.float32)
    levels = engine.fixed_point_levels(clients)
    pair = {(u, v): rng.bytes(32) for u in range(clients) for v in range(u + 1, clients)}
    server = np.zeros(d, dtype=np.uint32)
    plain = np.zeros(d, dtype=np.uint32)
    for u in range(clients):
        y = engine.quantize(updates[u], clip=clip, num_clients=clients)
        plain += y
        seeds = [pair[min(u, v), max(u, v)] for v in range(clients) if v != u]
        signs = [1 if v > u else -1 for v in range(clients) if v != u]
        engine.add_masks(y, seeds, signs)
        assert not np.array_equal(y, engine.quantize(updates[u], clip=clip, num_clients=clients))
        engine.add_mod(server, y)
    np.testing.assert_array_equal(server, plain)
    total = engine.dequantize(server, clip=clip, levels=levels, dtype=np.float64)
    reference = updates.astype(np.float64).sum(axis=0)
    assert np.max(np.abs(total - reference)) <= clients * clip / levels / 2 * (1 + 1e-9)


def test_quantize_matches_numpy_reference_and_round_trips():
    rng = np.random.default_rng(3)
    x = rng.uniform(-2.0, 2.0, size=100_001).astype(np.float32)
    levels = 12_345
    q = engine.quantize(x, clip=2.0, num_clients=10, levels=levels)
    reference = np.rint(x.astype(np.float64) * (levels / 2.0)).astype(np.int64).astype(np.uint32)
    np.testing.assert_array_equal(q, reference)
    back = engine.dequantize(q, clip=2.0, levels=levels)
    assert back.dtype == np.float32
    assert np.max(np.abs(back.astype(np.float64) - x)) <= 2.0 / levels / 2 + 1e-6
    # Negative values wrap: the uint32 is the two's complement of the level.
    assert engine.quantize(np.array([-2.0], np.float32), clip=2.0, num_clients=1, levels=7)[0] == 2**32 - 7


def test_overflow_is_capacity_exceeded_naming_the_values():
    x = np.zeros(4, dtype=np.float32)
    levels = engine.fixed_point_levels(100)
    assert levels == (2**31 - 1) // 100
    engine.quantize(x, clip=1.0, num_clients=100, levels=levels)
    with pytest.raises(CapacityExceededError, match=r"num_clients=100 \* levels=21474837"):
        engine.quantize(x, clip=1.0, num_clients=100, levels=levels + 1)
    with pytest.raises(CapacityExceededError):
        engine.fixed_point_levels(2**31)


def test_out_of_range_error_or_clip_and_nan_names_the_index():
    x = np.array([0.1, 5.0, -0.2], dtype=np.float32)
    with pytest.raises(InvalidArgumentError, match=r"x\[1\] = 5 lies outside"):
        engine.quantize(x, clip=1.0, num_clients=2)
    q = engine.quantize(x, clip=1.0, num_clients=2, levels=10, out_of_range="clip")
    np.testing.assert_array_equal(q.view(np.int32), [1, 10, -2])
    x[2] = np.nan
    with pytest.raises(InvalidArgumentError, match=r"x\[2\] = nan is not finite"):
        engine.quantize(x, clip=1.0, num_clients=2, out_of_range="clip")


def test_bad_inputs_name_the_parameter():
    acc = np.zeros(8, dtype=np.uint32)
    with pytest.raises(InvalidArgumentError, match="seed must be exactly 32 bytes, got 16"):
        engine.expand_mask(bytes(16), 4)
    with pytest.raises(InvalidArgumentError, match=r"seeds\[1\] must be exactly 32 bytes"):
        engine.add_masks(acc, [bytes(32), bytes(31)], [1, 1])
    with pytest.raises(InvalidArgumentError, match="nonce must be exactly 12 bytes"):
        engine.add_mask(acc, bytes(32), nonce=bytes(16))
    with pytest.raises(InvalidArgumentError, match=r"signs\[0\] must be \+1 or -1"):
        engine.add_masks(acc, [bytes(32)], [2])
    with pytest.raises(InvalidArgumentError, match="counter"):
        engine.expand_mask(bytes(32), 32, counter=2**32 - 1)  # needs 2 blocks past the last counter
    with pytest.raises(InvalidArgumentError, match="values has 7 elements but acc has 8"):
        engine.add_mod(acc, np.zeros(7, dtype=np.uint32))
    with pytest.raises(InvalidArgumentError, match="uint32"):
        engine.add_mod(acc, np.zeros(8, dtype=np.int64))
    with pytest.raises(InvalidArgumentError, match="out has 5 elements but x has 4"):
        engine.quantize(np.zeros(4, np.float32), clip=1.0, num_clients=1, out=np.zeros(5, np.uint32))
    with pytest.raises(InvalidArgumentError, match="clip must be finite and > 0"):
        engine.quantize(np.zeros(4, np.float32), clip=-1.0, num_clients=1)
    read_only = np.zeros(8, dtype=np.uint32)
    read_only.flags.writeable = False
    with pytest.raises(InvalidArgumentError, match="acc"):
        engine.add_mask(read_only, bytes(32))


def test_mask_expansion_releases_the_gil():
    # A Python thread keeps counting while the engine expands masks on one engine thread; with the
    # GIL held it would only run in the few switch intervals of the call.
    acc = np.zeros(4_000_000, dtype=np.uint32)
    seeds, signs = [bytes([s]) * 32 for s in range(8)], [1, -1] * 4
    ticks, stop = [0], threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1

    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    thread = threading.Thread(target=spin)
    thread.start()
    try:
        start, before = time.perf_counter(), ticks[0]
        time.sleep(0.2)
        rate_alone = (ticks[0] - before) / (time.perf_counter() - start)
        with engine.threads(1):
            start, before = time.perf_counter(), ticks[0]
            engine.add_masks(acc, seeds, signs)
            elapsed = time.perf_counter() - start
            during = ticks[0] - before
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous)
    assert elapsed > 0.01, "the call was too short to tell"
    share = during / (rate_alone * elapsed)
    assert share > 0.3, f"the Python thread ran at {share:.0%} of its speed during a {elapsed:.3f}s call"
