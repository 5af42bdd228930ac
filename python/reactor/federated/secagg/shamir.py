"""Shamir t-of-n secret sharing over the prime field GF(p), p = 2^256 + 297.

A secret ``s`` is the constant term of a random polynomial ``f`` of degree ``t - 1`` with coefficients
drawn uniformly from GF(p) by a CSPRNG (:func:`secrets.randbelow`); the share of the party with
x-coordinate ``x`` (``0 < x < p``) is ``(x, f(x))``. Any ``t`` shares determine ``f`` and therefore
``s = f(0)`` by Lagrange interpolation at 0:

    s = sum_i y_i * prod_{j != i} x_j / (x_j - x_i)   (mod p)

Any ``t - 1`` shares are independent of ``s``: for every candidate secret there is exactly one
polynomial of degree ``t - 1`` through ``(0, s)`` and those shares, so they carry no information
about it (interpolating them gives an unrelated field element, not an error — the scheme has no way
to tell a wrong answer from a right one, which is why :func:`reconstruct_secret` insists on ``t``
shares).

``p = 2^256 + 297`` is the smallest prime above ``2^256``, so every 32-byte secret (an X25519 private
key, a 32-byte PRG seed) is a field element. Another prime can be passed as ``prime=`` (the tests use
tiny fields to enumerate all secrets); it must be a prime larger than every share x-coordinate.
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reactor.errors import InvalidArgumentError

__all__ = [
    "PRIME",
    "SECRET_BYTES",
    "Share",
    "interpolate_at_zero",
    "reconstruct_secret",
    "split_int",
    "split_secret",
]

PRIME: int = 2**256 + 297
"""The field modulus: the smallest prime above 2^256."""

SECRET_BYTES: int = 32
"""Length of the byte secrets :func:`split_secret` shares."""

_X_BYTES = 4


@dataclass(frozen=True, slots=True)
class Share:
    """One Shamir share: the point ``(x, y)`` of the sharing polynomial, ``y = f(x) mod p``."""

    x: int
    y: int

    def to_bytes(self, prime: int = PRIME) -> bytes:
        """Fixed-width big-endian encoding: 4 bytes of ``x`` then ``ceil(log2(p) / 8)`` bytes of ``y``."""
        return self.x.to_bytes(_X_BYTES, "big") + self.y.to_bytes(_field_bytes(prime), "big")

    @classmethod
    def from_bytes(cls, data: bytes, prime: int = PRIME) -> Share:
        """Decode :meth:`to_bytes`; ``InvalidArgumentError`` on a wrong length or an out-of-field value."""
        width = _X_BYTES + _field_bytes(prime)
        if len(data) != width:
            raise InvalidArgumentError(
                f"[secagg.shamir] share encoding has {len(data)} bytes, expected {width}"
            )
        x = int.from_bytes(data[:_X_BYTES], "big")
        y = int.from_bytes(data[_X_BYTES:], "big")
        if not 0 < x < prime or y >= prime:
            raise InvalidArgumentError(f"[secagg.shamir] decoded share (x={x}, y=...) is outside GF({prime})")
        return cls(x, y)


def _field_bytes(prime: int) -> int:
    return (prime.bit_length() + 7) // 8


def _check_prime(prime: int) -> None:
    if not isinstance(prime, int) or prime < 3:
        raise InvalidArgumentError(f"[secagg.shamir] prime must be an odd prime >= 3, got {prime!r}")


def _check_xs(xs: Sequence[int], prime: int) -> None:
    seen: set[int] = set()
    for x in xs:
        if not isinstance(x, int) or isinstance(x, bool) or not 0 < x < prime or x >= 2 ** (8 * _X_BYTES):
            raise InvalidArgumentError(
                f"[secagg.shamir] share x-coordinate must be an int in [1, min(p, 2^32)), got {x!r}"
            )
        if x in seen:
            raise InvalidArgumentError(f"[secagg.shamir] duplicate share x-coordinate {x}")
        seen.add(x)


def split_int(
    secret: int,
    threshold: int,
    xs: Sequence[int],
    *,
    prime: int = PRIME,
    randbelow: Callable[[int], int] = _secrets.randbelow,
) -> list[Share]:
    """Share the field element ``secret`` so that any ``threshold`` of the returned shares recover it.

    Args:
        secret: the value to share, ``0 <= secret < prime``.
        threshold: ``t``, the number of shares needed; ``1 <= t <= len(xs)``.
        xs: the distinct, nonzero x-coordinates of the share holders (one share each, same order).
        prime: the field modulus.
        randbelow: source of the ``t - 1`` random coefficients (``randbelow(prime)``); a CSPRNG by
            default. Only tests should replace it.

    Returns:
        ``[Share(x, f(x)) for x in xs]``.

    """
    _check_prime(prime)
    if not isinstance(secret, int) or not 0 <= secret < prime:
        raise InvalidArgumentError(f"[secagg.shamir] secret must be an int in [0, p), got {secret!r}")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 1 <= threshold <= len(xs):
        raise InvalidArgumentError(
            f"[secagg.shamir] threshold must be an int in [1, number of shares={len(xs)}], got {threshold!r}"
        )
    _check_xs(xs, prime)
    coefficients = [secret] + [randbelow(prime) for _ in range(threshold - 1)]
    shares = []
    for x in xs:
        y = 0
        for c in reversed(coefficients):  # Horner
            y = (y * x + c) % prime
        shares.append(Share(x, y))
    return shares


def interpolate_at_zero(shares: Sequence[Share], *, prime: int = PRIME) -> int:
    """Lagrange interpolation at 0 of the polynomial of degree ``len(shares) - 1`` through ``shares``.

    With at least ``t`` shares of one sharing this is the secret; with fewer it is an unrelated field
    element (no error can be detected).
    """
    _check_prime(prime)
    if len(shares) == 0:
        raise InvalidArgumentError("[secagg.shamir] interpolate_at_zero needs at least one share, got 0")
    xs = [s.x for s in shares]
    _check_xs(xs, prime)
    result = 0
    for i, share in enumerate(shares):
        numerator = 1
        denominator = 1
        for j, xj in enumerate(xs):
            if j != i:
                numerator = numerator * xj % prime
                denominator = denominator * (xj - share.x) % prime
        result = (result + share.y % prime * numerator * pow(denominator, -1, prime)) % prime
    return result


def split_secret(
    secret: bytes,
    threshold: int,
    xs: Sequence[int],
    *,
    randbelow: Callable[[int], int] = _secrets.randbelow,
) -> list[Share]:
    """Share a 32-byte secret (read as a big-endian integer < 2^256 < p) over GF(:data:`PRIME`)."""
    if not isinstance(secret, bytes | bytearray) or len(secret) != SECRET_BYTES:
        raise InvalidArgumentError(
            f"[secagg.shamir] secret must be {SECRET_BYTES} bytes, got "
            f"{type(secret).__name__} of length {len(secret) if hasattr(secret, '__len__') else '?'}"
        )
    return split_int(int.from_bytes(secret, "big"), threshold, xs, prime=PRIME, randbelow=randbelow)


def reconstruct_secret(shares: Sequence[Share], threshold: int) -> bytes:
    """Recover the 32-byte secret shared by :func:`split_secret` from at least ``threshold`` shares.

    Only the first ``threshold`` shares are used (any ``t`` give the same answer).

    Raises:
        InvalidArgumentError: fewer than ``threshold`` shares, duplicate x-coordinates, or shares that
            do not interpolate to a 32-byte value (they belong to different sharings or were altered).

    """
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise InvalidArgumentError(f"[secagg.shamir] threshold must be an int >= 1, got {threshold!r}")
    if len(shares) < threshold:
        raise InvalidArgumentError(
            f"[secagg.shamir] reconstruct_secret needs threshold={threshold} shares, got {len(shares)}"
        )
    value = interpolate_at_zero(list(shares)[:threshold], prime=PRIME)
    if value >= 2 ** (8 * SECRET_BYTES):
        raise InvalidArgumentError(
            "[secagg.shamir] the shares interpolate to a value >= 2^256: they are not shares of one "
            "32-byte secret"
        )
    return value.to_bytes(SECRET_BYTES, "big")
