from __future__ import annotations

import contextlib
import itertools
import secrets

import pytest

from reactor.errors import InvalidArgumentError
from reactor.federated.secagg.shamir import (
    PRIME,
    Share,
    interpolate_at_zero,
    reconstruct_secret,
    split_int,
    split_secret,
)


def _is_probable_prime(n: int) -> bool:
    small = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97]
    if n < 2:
        return False
    for p in small:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def test_field_prime_is_the_smallest_prime_above_2_256() -> None:
    assert PRIME > 2**256
    assert _is_probable_prime(PRIME)
    assert not any(_is_probable_prime(c) for c in range(2**256 + 1, PRIME))


@pytest.mark.parametrize("secret", [bytes(32), b"\xff" * 32, bytes(range(32))])
def test_any_t_of_n_shares_reconstruct(secret: bytes) -> None:
    n, t = 7, 4
    shares = split_secret(secret, t, list(range(1, n + 1)))
    for subset in itertools.combinations(shares, t):
        assert reconstruct_secret(list(subset), t) == secret
    # more than t shares also work, in any order
    assert reconstruct_secret(shares[::-1], t) == secret


def test_random_secrets_and_large_threshold() -> None:
    for _ in range(5):
        secret = secrets.token_bytes(32)
        xs = [3, 17, 400, 2**31, 99, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20]
        shares = split_secret(secret, 20, xs)
        assert reconstruct_secret(shares, 20) == secret


def test_t_minus_1_shares_fail_or_give_garbage() -> None:
    n, t = 6, 4
    for _ in range(20):
        secret = secrets.token_bytes(32)
        shares = split_secret(secret, t, list(range(1, n + 1)))
        with pytest.raises(InvalidArgumentError, match="threshold=4"):
            reconstruct_secret(shares[: t - 1], t)
        value = interpolate_at_zero(shares[: t - 1])
        assert value != int.from_bytes(secret, "big")
        # pretending t-1 is the threshold does not recover it either
        with contextlib.suppress(InvalidArgumentError):  # raised if it interpolates to a value >= 2^256
            assert reconstruct_secret(shares[: t - 1], t - 1) != secret


@pytest.mark.parametrize(("prime", "t"), [(7, 3), (11, 2), (5, 4)])
def test_t_minus_1_shares_are_independent_of_the_secret(prime: int, t: int) -> None:
    """Exhaustive: for every secret, the t-1 shares take every value exactly once over all polynomials.

    So for any fixed set of t-1 shares, every secret is consistent with exactly one polynomial: the
    shares carry no information about the secret.
    """
    xs = list(range(1, t))  # t - 1 holders
    for secret in range(prime):
        counts: dict[tuple[int, ...], int] = {}
        for coefficients in itertools.product(range(prime), repeat=t - 1):
            it = iter(coefficients)
            shares = split_int(secret, t, [*xs, t], prime=prime, randbelow=lambda _p, it=it: next(it))
            key = tuple(s.y for s in shares[: t - 1])
            counts[key] = counts.get(key, 0) + 1
        assert len(counts) == prime ** (t - 1)
        assert set(counts.values()) == {1}


def test_small_field_reconstruction_matches_every_secret() -> None:
    prime, t = 13, 3
    for secret in range(prime):
        shares = split_int(secret, t, [1, 2, 3, 4, 5], prime=prime)
        for subset in itertools.combinations(shares, t):
            assert interpolate_at_zero(list(subset), prime=prime) == secret


def test_share_encoding_round_trip_and_validation() -> None:
    share = split_secret(secrets.token_bytes(32), 2, [1, 2])[1]
    data = share.to_bytes()
    assert len(data) == 4 + 33
    assert Share.from_bytes(data) == share
    with pytest.raises(InvalidArgumentError, match="bytes"):
        Share.from_bytes(data[:-1])
    with pytest.raises(InvalidArgumentError, match="outside"):
        Share.from_bytes(bytes(4) + data[4:])  # x = 0


def test_bad_arguments() -> None:
    secret = bytes(32)
    with pytest.raises(InvalidArgumentError, match="32 bytes"):
        split_secret(b"short", 2, [1, 2])
    with pytest.raises(InvalidArgumentError, match="threshold"):
        split_secret(secret, 3, [1, 2])
    with pytest.raises(InvalidArgumentError, match="threshold"):
        split_secret(secret, 0, [1, 2])
    with pytest.raises(InvalidArgumentError, match="duplicate"):
        split_secret(secret, 2, [1, 1])
    with pytest.raises(InvalidArgumentError, match="x-coordinate"):
        split_secret(secret, 2, [0, 1])
    with pytest.raises(InvalidArgumentError, match="secret"):
        split_int(PRIME, 2, [1, 2])
    with pytest.raises(InvalidArgumentError, match="duplicate"):
        interpolate_at_zero([Share(1, 5), Share(1, 6)])
    with pytest.raises(InvalidArgumentError, match="at least one"):
        interpolate_at_zero([])
