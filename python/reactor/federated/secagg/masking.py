"""Mask arithmetic for secure aggregation: PRG expansion, sums mod 2^32, fixed-point quantization.

This is the numpy + ``cryptography`` implementation. The protocol reaches it only through
:mod:`reactor.federated.secagg.backend` (four functions), so the engine's native version can replace it
by changing the one import there.

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
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

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
    out = np.empty(int(length), dtype="<u4")
    if length:
        cipher = Cipher(
            algorithms.ChaCha20(bytes(seed), int(counter).to_bytes(4, "little") + bytes(nonce)), None
        )
        encryptor = cipher.encryptor()
        # keystream XOR zeros = keystream, written straight into the result's buffer
        encryptor.update_into(bytes(4 * int(length)), memoryview(out).cast("B"))
    return out.astype(np.uint32, copy=False)


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
    if sign == 1:
        np.add(acc, mask, out=acc)
    elif sign == -1:
        np.subtract(acc, mask, out=acc)
    else:
        raise InvalidArgumentError(f"[secagg.add_mod] sign must be +1 or -1, got {sign!r}")
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
    max_level = MAX_LEVEL // k
    scale = max_level / float(clip)
    q = np.rint(np.clip(x.astype(np.float64, copy=False), -clip, clip) * scale)
    np.clip(q, -max_level, max_level, out=q)
    return q.astype(np.int32).view(np.uint32), scale


def dequantize(total: npt.NDArray[np.uint32], scale: float, num_clients: int) -> npt.NDArray[np.float64]:
    """Decode a mod-2^32 sum of ``num_clients`` encoded updates back to floats (float64).

    The signed encoding needs no offset correction, so ``num_clients`` (the number of updates in
    ``total``, ``>= 1``) is only validated; it is part of the interface so that a backend with an
    offset encoding has what it needs.
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
