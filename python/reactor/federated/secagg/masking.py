"""Mask arithmetic for secure aggregation: PRG expansion, sums mod 2^32, fixed-point quantization.

The arithmetic runs in the MLForge engine (:mod:`reactor.engine.secure_agg`: vectorised ChaCha20,
modular sums and fixed-point encoding, GIL released); this module fixes the conventions the protocol
relies on and validates its inputs. The tests check the keystream against RFC 8439 and against the
``cryptography`` package.

**Mask expansion (PRG).** ``expand_mask(seed, length)`` is the ChaCha20 keystream of RFC 8439 with

- key     = the 32-byte ``seed``;
- counter = 0 (32-bit block counter of the first block);
- nonce   = 12 zero bytes (96-bit nonce).

``cryptography``'s ``algorithms.ChaCha20`` takes a 16-byte "nonce" that is the RFC's initial state
words 12..15: the 4-byte little-endian block counter followed by the 12-byte nonce, i.e.
``counter.to_bytes(4, "little") + nonce``. The first ``4 * length`` keystream bytes are read as
little-endian ``uint32`` (bytes ``4i .. 4i+3`` give element ``i``), so element ``16 * b + w`` is word
``w`` of keystream block ``counter + b``. The same seed always gives the same mask, independent of the
platform's byte order. Different purposes must use different seeds (the protocol derives every seed by
HKDF with the session id), never different nonces of one seed. The keystream must not wrap the
32-bit block counter, so ``length <= 16 * (2^32 - counter)``.

**Quantization.** A float update ``x`` is clipped to ``[-clip, clip]`` and encoded as the signed
integer ``q = rint(x * scale)`` stored mod 2^32 (two's complement), with
``scale = floor((2^31 - 1) / num_clients) / clip``. Every ``|q| <= floor((2^31 - 1) / num_clients)``,
so the sum of up to ``num_clients`` encoded updates lies in ``[-(2^31 - 1), 2^31 - 1]`` and is
recovered exactly from its value mod 2^32 — it cannot overflow. Rounding to nearest costs at most
``0.5 / scale`` per client and coordinate, i.e. ``|error of a K-client sum| <= K / (2 * scale)``.
"""

from __future__ import annotations

import numbers

import numpy as np
import numpy.typing as npt

from reactor.engine import secure_agg as _engine
from reactor.errors import InvalidArgumentError

__all__ = ["MAX_LEVEL", "add_mod", "dequantize", "expand_mask", "quantize"]

MAX_LEVEL = 2**31 - 1
"""Largest |sum| of quantized values that the mod-2^32 signed encoding represents."""

_ZERO_NONCE = bytes(12)


def expand_mask(
    seed: bytes, length: int, *, nonce: bytes = _ZERO_NONCE, counter: int = 0
) -> npt.NDArray[np.uint32]:
    """Expand a 32-byte seed into ``length`` pseudorandom uint32 values (ChaCha20 keystream, see module doc).

    Args:
        seed: the 32-byte ChaCha20 key.
        length: number of uint32 values, ``>= 0``.
        nonce: 12-byte RFC 8439 nonce; the protocol always uses the default (zeros). Exposed for the
            RFC test vectors.
        counter: initial 32-bit block counter; the protocol always uses 0.

    """
    if not isinstance(seed, bytes | bytearray) or len(seed) != 32:
        raise InvalidArgumentError(
            f"[secagg.expand_mask] seed must be 32 bytes, got {type(seed).__name__} of length "
            f"{len(seed) if hasattr(seed, '__len__') else '?'}"
        )
    if not isinstance(nonce, bytes | bytearray) or len(nonce) != 12:
        raise InvalidArgumentError(f"[secagg.expand_mask] nonce must be 12 bytes, got {nonce!r}")
    if not isinstance(counter, numbers.Integral) or not 0 <= counter < 2**32:
        raise InvalidArgumentError(
            f"[secagg.expand_mask] counter must be an int in [0, 2^32), got {counter!r}"
        )
    if not isinstance(length, numbers.Integral) or isinstance(length, bool) or length < 0:
        raise InvalidArgumentError(f"[secagg.expand_mask] length must be an int >= 0, got {length!r}")
    if length > 16 * (2**32 - int(counter)):
        raise InvalidArgumentError(
            f"[secagg.expand_mask] length={length} would wrap the 32-bit block counter "
            f"(starting at {counter})"
        )
    out = np.empty(int(length), dtype=np.uint32)
    _engine.expand_mask_into(out, bytes(seed), counter=int(counter), nonce=bytes(nonce))
    return out


def _check_u32_vector(name: str, value: object) -> npt.NDArray[np.uint32]:
    if not isinstance(value, np.ndarray) or value.dtype != np.uint32 or value.ndim != 1:
        raise InvalidArgumentError(
            f"[secagg.add_mod] {name} must be a 1-D uint32 numpy array, got "
            f"{type(value).__name__} {getattr(value, 'dtype', '')} {getattr(value, 'shape', '')}"
        )
    return value


def add_mod(acc: npt.NDArray[np.uint32], mask: npt.NDArray[np.uint32], sign: int) -> npt.NDArray[np.uint32]:
    """In place ``acc = acc + sign * mask (mod 2^32)``; returns ``acc``.

    Args:
        acc: 1-D writable uint32 accumulator.
        mask: uint32 vector of the same length.
        sign: ``+1`` or ``-1``.

    """
    _check_u32_vector("acc", acc)
    _check_u32_vector("mask", mask)
    if acc.shape != mask.shape:
        raise InvalidArgumentError(f"[secagg.add_mod] acc has shape {acc.shape} but mask has {mask.shape}")
    if not acc.flags.writeable:
        raise InvalidArgumentError("[secagg.add_mod] acc must be writable")
    if sign not in (1, -1):
        raise InvalidArgumentError(f"[secagg.add_mod] sign must be +1 or -1, got {sign!r}")
    _engine.add_mod(acc, mask, int(sign))
    return acc


def _check_num_clients(where: str, num_clients: object) -> int:
    if (
        not isinstance(num_clients, numbers.Integral)
        or isinstance(num_clients, bool)
        or not (1 <= num_clients <= MAX_LEVEL)
    ):
        raise InvalidArgumentError(
            f"[secagg.{where}] num_clients must be an int in [1, 2^31 - 1], got {num_clients!r}"
        )
    return int(num_clients)


def quantize(update: npt.ArrayLike, clip: float, num_clients: int) -> tuple[npt.NDArray[np.uint32], float]:
    """Clip ``update`` to ``[-clip, clip]`` and encode it in Z_{2^32} so that ``num_clients`` can be summed.

    Args:
        update: 1-D float array (float32 or float64), all values finite.
        clip: the clip range, ``> 0``; values outside ``[-clip, clip]`` are clipped.
        num_clients: the most encoded updates that will ever be summed together.

    Returns:
        ``(encoded, scale)``: ``encoded[i] = rint(clip(update[i]) * scale) mod 2^32`` and the scale
        (levels per unit) that :func:`dequantize` needs.

    """
    x = np.asarray(update)
    if x.ndim != 1 or not np.issubdtype(x.dtype, np.floating):
        raise InvalidArgumentError(
            f"[secagg.quantize] update must be a 1-D float array, got dtype={x.dtype} shape={x.shape}"
        )
    if not isinstance(clip, numbers.Real) or not np.isfinite(clip) or clip <= 0:
        raise InvalidArgumentError(f"[secagg.quantize] clip must be a finite number > 0, got {clip!r}")
    k = _check_num_clients("quantize", num_clients)
    finite = np.isfinite(x)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise InvalidArgumentError(f"[secagg.quantize] update[{bad}] = {x[bad]} is not finite")
    levels = MAX_LEVEL // k
    encoded = _engine.quantize(
        np.ascontiguousarray(x), clip=float(clip), num_clients=k, levels=levels, out_of_range="clip"
    )
    return encoded, levels / float(clip)


def dequantize(total: npt.NDArray[np.uint32], scale: float, num_clients: int) -> npt.NDArray[np.float64]:
    """Decode a mod-2^32 sum of ``num_clients`` encoded updates back to floats (float64).

    The signed encoding needs no offset correction, so ``num_clients`` (the number of updates in
    ``total``, ``>= 1``) is only validated.
    """
    t = np.asarray(total)
    if t.dtype != np.uint32 or t.ndim != 1:
        raise InvalidArgumentError(
            f"[secagg.dequantize] total must be a 1-D uint32 array, got dtype={t.dtype} shape={t.shape}"
        )
    if not isinstance(scale, numbers.Real) or not np.isfinite(scale) or scale <= 0:
        raise InvalidArgumentError(f"[secagg.dequantize] scale must be a finite number > 0, got {scale!r}")
    _check_num_clients("dequantize", num_clients)
    return t.view(np.int32).astype(np.float64) / float(scale)
