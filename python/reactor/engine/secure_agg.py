"""Secure-aggregation arithmetic of the engine (``mlforge/secure_agg.h``).

* Fixed point in Z_{2^32}: ``q = round(x * levels / clip)`` stored as uint32 (two's complement);
  a sum of K encodings decodes exactly while ``K * levels <= 2**31 - 1`` (:func:`fixed_point_levels`
  gives the largest such ``levels``), each update contributing at most half a step
  ``clip / (2 * levels)`` of error.
* Masks: ChaCha20 (RFC 8439) keystream words keyed by a 32-byte seed, with a 12-byte nonce (default
  zeros) and a 32-bit block counter (default 0). The mask equals
  ``np.frombuffer(ChaCha20(key=seed, nonce16=counter_le32 + nonce).keystream(4 * D), "<u4")`` from the
  ``cryptography`` package. :func:`add_masks` adds or subtracts several masks in one pass without
  materialising them.
* Modular sums: :func:`add_mod` adds/subtracts uint32 vectors mod 2^32 in place.

All array arguments are borrowed without copies; in-place targets must be writable, contiguous
uint32 arrays. Errors: :class:`reactor.errors.InvalidArgumentError` naming the parameter (``seed``
of the wrong length, a length mismatch, ``x[i]`` out of range or NaN), and
:class:`reactor.errors.CapacityExceededError` when ``num_clients * levels`` could wrap the modulus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reactor import _mlforge
from reactor.engine._validate import check_count, check_finite
from reactor.errors import InvalidArgumentError

__all__ = [
    "ZERO_NONCE",
    "add_mask",
    "add_masks",
    "add_mod",
    "chacha20_block",
    "dequantize",
    "expand_mask",
    "expand_mask_into",
    "fixed_point_levels",
    "quantize",
]

#: The default 12-byte ChaCha20 nonce.
ZERO_NONCE = bytes(12)


def _bytes(op: str, name: str, value: Any, length: int) -> bytes:
    """``value`` as bytes of exactly ``length``, or InvalidArgumentError naming ``name``."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidArgumentError(f"[{op}] {name} must be {length} bytes, got {type(value).__name__}")
    raw = bytes(value)
    if len(raw) != length:
        raise InvalidArgumentError(f"[{op}] {name} must be exactly {length} bytes, got {len(raw)}")
    return raw


def _counter(op: str, counter: int) -> int:
    if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter < 2**32:
        raise InvalidArgumentError(f"[{op}] counter must be an integer in [0, 2**32), got {counter!r}")
    return counter


def _sign(op: str, name: str, sign: int) -> int:
    if isinstance(sign, bool) or sign not in (1, -1):
        raise InvalidArgumentError(f"[{op}] {name} must be +1 or -1, got {sign!r}")
    return int(sign)


def chacha20_block(key: bytes, counter: int = 0, nonce: bytes = ZERO_NONCE) -> bytes:
    """The 64 keystream bytes of ChaCha20 block ``counter`` (RFC 8439 section 2.3)."""
    op = "secure_agg.chacha20_block"
    return bytes(
        _mlforge.chacha20_block(
            _bytes(op, "key", key, 32), _counter(op, counter), _bytes(op, "nonce", nonce, 12)
        )
    )


def expand_mask_into(out: Any, seed: bytes, *, counter: int = 0, nonce: bytes = ZERO_NONCE) -> None:
    """Fill the uint32 array ``out`` with the ChaCha20 mask of ``seed`` (in place, multi-threaded)."""
    op = "secure_agg.chacha20_expand"
    _mlforge.chacha20_expand(
        out, _bytes(op, "seed", seed, 32), _counter(op, counter), _bytes(op, "nonce", nonce, 12)
    )


def expand_mask(
    seed: bytes, size: int, *, counter: int = 0, nonce: bytes = ZERO_NONCE
) -> npt.NDArray[np.uint32]:
    """A new uint32 mask of ``size`` words expanded from the 32-byte ``seed`` with ChaCha20."""
    out = np.empty(check_count("secure_agg.chacha20_expand", "size", size), dtype=np.uint32)
    expand_mask_into(out, seed, counter=counter, nonce=nonce)
    return out


def add_masks(
    acc: Any,
    seeds: Sequence[bytes],
    signs: Sequence[int],
    *,
    counter: int = 0,
    nonce: bytes = ZERO_NONCE,
) -> None:
    """``acc += sum_s signs[s] * mask(seeds[s])`` mod 2^32 in place, in one pass over ``acc``.

    The masks are never materialised; e.g. a SecAgg client adds its self mask (+1), the pairwise
    masks of higher-indexed peers (+1) and subtracts those of lower-indexed peers (-1).
    """
    op = "secure_agg.add_masks"
    if len(seeds) != len(signs):
        raise InvalidArgumentError(
            f"[{op}] seeds and signs must have one length, got {len(seeds)} and {len(signs)}"
        )
    keys = [_bytes(op, f"seeds[{i}]", seed, 32) for i, seed in enumerate(seeds)]
    checked = [_sign(op, f"signs[{i}]", sign) for i, sign in enumerate(signs)]
    _mlforge.add_masks(acc, keys, checked, _counter(op, counter), _bytes(op, "nonce", nonce, 12))


def add_mask(acc: Any, seed: bytes, sign: int = 1, *, counter: int = 0, nonce: bytes = ZERO_NONCE) -> None:
    """``acc += sign * mask(seed)`` mod 2^32 in place (``sign`` is +1 or -1)."""
    add_masks(acc, [seed], [_sign("secure_agg.add_masks", "sign", sign)], counter=counter, nonce=nonce)


def add_mod(acc: Any, values: Any, sign: int = 1) -> None:
    """``acc += sign * values`` mod 2^32 in place; both uint32 vectors of one length."""
    _mlforge.add_mod(acc, values, _sign("secure_agg.add_mod", "sign", sign))


def fixed_point_levels(num_clients: int) -> int:
    """Largest ``levels`` with ``num_clients * levels <= 2**31 - 1`` (the sum of K encodings cannot wrap)."""
    return int(
        _mlforge.fixed_point_levels(check_count("secure_agg.fixed_point_levels", "num_clients", num_clients))
    )


def quantize(
    x: Any,
    *,
    clip: float,
    num_clients: int,
    levels: int | None = None,
    out_of_range: Literal["error", "clip"] = "error",
    out: Any = None,
) -> npt.NDArray[np.uint32]:
    """Encode the float32/float64 vector ``x`` as ``round(x * levels / clip)`` mod 2^32 (uint32).

    ``levels`` defaults to :func:`fixed_point_levels` of ``num_clients``; a larger value raises
    CapacityExceededError. Values outside ``[-clip, clip]`` raise (``out_of_range="error"``) or are
    clamped (``"clip"``); NaN/Inf always raise, naming the index. ``out`` (uint32, writable) is
    filled in place when given.
    """
    op = "secure_agg.quantize"
    if out_of_range not in ("error", "clip"):
        raise InvalidArgumentError(f"[{op}] out_of_range must be 'error' or 'clip', got {out_of_range!r}")
    k = check_count(op, "num_clients", num_clients)
    chosen = fixed_point_levels(k) if levels is None else check_count(op, "levels", levels)
    if out is None:
        out = np.empty(int(np.shape(x)[0]) if np.ndim(x) == 1 else 0, dtype=np.uint32)
    _mlforge.quantize(x, check_finite(op, "clip", clip), chosen, k, out, out_of_range == "clip")
    return out


def dequantize(
    total: Any,
    *,
    clip: float,
    levels: int,
    dtype: type[np.float32] | type[np.float64] = np.float32,
    out: Any = None,
) -> npt.NDArray[np.floating[Any]]:
    """Decode a modular sum of encodings: ``int32(total) * clip / levels`` as ``dtype`` (or into ``out``)."""
    op = "secure_agg.dequantize"
    if out is None:
        out = np.empty(int(np.shape(total)[0]) if np.ndim(total) == 1 else 0, dtype=dtype)
    _mlforge.dequantize(total, check_finite(op, "clip", clip), check_count(op, "levels", levels), out)
    return out
