"""Communication graphs for secure aggregation: who masks with, and holds shares for, whom.

- ``complete``: every client pairs with every other client (Bonawitz et al. 2017); O(n) key
  agreements, mask expansions and shares per client.
- ``harary``: the Harary graph H(k, n) (Bell et al. 2020, "Secure Single-Server Aggregation with
  (Poly)Logarithmic Overhead"): each client pairs only with its ``k`` neighbours, so per-client cost is
  O(k). Clients are placed on a ring in a random order (seeded) and ``i`` is joined to ``i +- 1, ...,
  i +- floor(k/2)`` (mod n); for odd ``k`` each ``i`` is also joined to its antipode ``i + n/2``. The
  graph is k-connected and k-regular whenever ``n * k`` is even; when ``n`` and ``k`` are both odd no
  k-regular graph exists and Harary's construction gives one client degree ``k + 1``.

A graph is a ``dict`` mapping each client id to the ``frozenset`` of its neighbours (symmetric, no
self-loops).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from reactor.errors import InvalidArgumentError

__all__ = ["Graph", "GraphKind", "build_graph", "complete_graph", "harary_graph"]

Graph = dict[int, frozenset[int]]
GraphKind = Literal["complete", "harary"]


def _check_ids(ids: Sequence[int]) -> list[int]:
    out = list(ids)
    for cid in out:
        if not isinstance(cid, int | np.integer) or isinstance(cid, bool):
            raise InvalidArgumentError(f"[secagg.graph] client ids must be ints, got {cid!r}")
    if len(set(out)) != len(out):
        raise InvalidArgumentError("[secagg.graph] client ids must be distinct")
    if len(out) < 2:
        raise InvalidArgumentError(f"[secagg.graph] need at least 2 clients, got {len(out)}")
    return [int(c) for c in out]


def complete_graph(ids: Sequence[int]) -> Graph:
    """Every client is a neighbour of every other client."""
    members = _check_ids(ids)
    everyone = frozenset(members)
    return {cid: everyone - {cid} for cid in members}


def harary_graph(ids: Sequence[int], degree: int, *, seed: int | None = None, shuffle: bool = True) -> Graph:
    """The Harary graph H(degree, n) over ``ids``, with clients placed on the ring in a random order.

    Args:
        ids: the client ids (n of them).
        degree: ``k``, each client's number of neighbours, ``1 <= k <= n - 1``.
        seed: seeds the ring order (``None``: fresh OS entropy). The order is public.
        shuffle: ``False`` places ``ids`` on the ring in the order given (ring position ``i`` is
            ``ids[i]``), e.g. to script dropouts against a known layout.

    """
    members = _check_ids(ids)
    n = len(members)
    if not isinstance(degree, int | np.integer) or isinstance(degree, bool) or not 1 <= degree <= n - 1:
        raise InvalidArgumentError(
            f"[secagg.graph] degree must be an int in [1, n - 1 = {n - 1}], got {degree!r}"
        )
    k = int(degree)
    order = [members[i] for i in np.random.default_rng(seed).permutation(n)] if shuffle else members
    adjacency: dict[int, set[int]] = {cid: set() for cid in members}

    def join(i: int, j: int) -> None:
        a, b = order[i % n], order[j % n]
        if a != b:
            adjacency[a].add(b)
            adjacency[b].add(a)

    for i in range(n):
        for step in range(1, k // 2 + 1):
            join(i, i + step)
    if k % 2 == 1:
        if n % 2 == 0:
            for i in range(n // 2):
                join(i, i + n // 2)
        else:
            for i in range((n + 1) // 2):
                join(i, i + (n + 1) // 2)
    return {cid: frozenset(nbrs) for cid, nbrs in adjacency.items()}


def build_graph(
    ids: Sequence[int], kind: GraphKind = "complete", *, degree: int | None = None, seed: int | None = None
) -> Graph:
    """``complete_graph(ids)`` or ``harary_graph(ids, degree, seed=seed)`` by name."""
    if kind == "complete":
        if degree is not None:
            raise InvalidArgumentError(f"[secagg.graph] degree={degree} is only valid with kind='harary'")
        return complete_graph(ids)
    if kind == "harary":
        if degree is None:
            raise InvalidArgumentError(
                "[secagg.graph] kind='harary' needs degree (the k of the k-regular graph)"
            )
        return harary_graph(ids, degree, seed=seed)
    raise InvalidArgumentError(f"[secagg.graph] kind must be 'complete' or 'harary', got {kind!r}")
