r"""The server side of secure aggregation (Bonawitz et al. 2017, with Bell et al. 2020 graphs).

The server relays public keys and encrypted shares, sums the masked inputs mod 2^32 as they arrive
(it keeps only the running sum, never an individual masked input), and in the unmasking round removes

- the pairwise masks between each surviving client ``w`` and each neighbour ``v`` that dropped after
  sharing its keys but before its masked input arrived (``v`` in ``U2 \ U3``): ``s_v^SK`` is rebuilt
  from ``share_threshold`` shares and ``s_{v,w}`` recomputed from ``s_w^PK``;
- the self mask ``PRG(b_w)`` of every client ``w`` whose masked input was counted (``U3``), ``b_w``
  rebuilt from shares — so a client that drops after sending its masked input is still counted.

Reconstructed secrets live only in local variables of :meth:`SecAggServer.unmasking`. The server
never receives a private key of a client whose input is in the sum, nor any unmasked input. It also
aborts (rather than leak partial sums) when the graph induced on ``U3`` is disconnected: each
connected component's masks cancel on their own, so its sum would be revealed.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from reactor.errors import InvalidArgumentError
from reactor.federated.secagg import crypto, masking
from reactor.federated.secagg.client import check_client_id, pairwise_sign
from reactor.federated.secagg.errors import ProtocolViolationError, SecAggAbortError
from reactor.federated.secagg.graph import Graph, GraphKind, build_graph
from reactor.federated.secagg.messages import (
    ROUNDS,
    AdvertiseKeys,
    KeyDirectory,
    MaskedInput,
    RoundSetup,
    ShareDelivery,
    ShareKeys,
    UnmaskRequest,
    UnmaskResponse,
)
from reactor.federated.secagg.shamir import Share, reconstruct_secret

__all__ = ["SecAggServer", "ServerOutput"]

_MASK_PURPOSE = b"mask"


@dataclass(frozen=True, slots=True, eq=False)
class ServerOutput:
    """What the server learns: the sum of the inputs of the clients in ``included``.

    ``total`` is the dequantized sum (float64), ``total_quantized`` the same sum in Z_{2^32}.
    """

    total: npt.NDArray[np.float64]
    total_quantized: npt.NDArray[np.uint32]
    scale: float
    included: tuple[int, ...]


def _check_graph(graph: Mapping[int, Iterable[int]], ids: Sequence[int]) -> Graph:
    if set(graph) != set(ids):
        raise InvalidArgumentError("[secagg.server] graph must have exactly one entry per client id")
    out = {int(u): frozenset(int(v) for v in nbrs) for u, nbrs in graph.items()}
    for u, nbrs in out.items():
        if u in nbrs:
            raise InvalidArgumentError(f"[secagg.server] graph has a self-loop at client {u}")
        for v in nbrs:
            if v not in out or u not in out[v]:
                raise InvalidArgumentError(f"[secagg.server] graph edge {u}-{v} is not symmetric")
    return out


class SecAggServer:
    """The aggregation server of one secure-aggregation round.

    Args:
        client_ids: the invited clients (ints in ``[1, 2^32)``).
        threshold: ``t``; each round needs at least ``t`` clients to answer, ``2 <= t <= n``.
        vector_length: length of every input vector.
        clip: quantization clip range (inputs are clipped to ``[-clip, clip]``).
        graph: ``"complete"``, ``"harary"`` (needs ``degree``), or an explicit symmetric adjacency
            mapping ``{id: neighbour ids}``.
        degree: ``k`` of the Harary graph.
        share_threshold: Shamir threshold of each client's sharing among itself and its neighbours;
            default ``t`` for the complete graph and ``floor((k + 1) / 2) + 1`` (a majority of the
            ``k + 1`` holders) otherwise. ``2 <= share_threshold <= min degree + 1``.
        graph_seed: seeds the Harary ring order (public).

    """

    def __init__(
        self,
        client_ids: Sequence[int],
        *,
        threshold: int,
        vector_length: int,
        clip: float,
        graph: GraphKind | Mapping[int, Iterable[int]] = "complete",
        degree: int | None = None,
        share_threshold: int | None = None,
        graph_seed: int | None = None,
    ) -> None:
        ids = [check_client_id(c) for c in client_ids]
        if len(set(ids)) != len(ids):
            raise InvalidArgumentError("[secagg.server] client ids must be distinct")
        n = len(ids)
        if n < 2:
            raise InvalidArgumentError(f"[secagg.server] need at least 2 clients, got {n}")
        if (
            not isinstance(threshold, numbers.Integral)
            or isinstance(threshold, bool)
            or not 2 <= threshold <= n
        ):
            raise InvalidArgumentError(
                f"[secagg.server] threshold must be an int in [2, n={n}], got {threshold!r}"
            )
        if (
            not isinstance(vector_length, numbers.Integral)
            or isinstance(vector_length, bool)
            or vector_length < 1
        ):
            raise InvalidArgumentError(
                f"[secagg.server] vector_length must be an int >= 1, got {vector_length!r}"
            )
        if not isinstance(clip, numbers.Real) or not np.isfinite(clip) or clip <= 0:
            raise InvalidArgumentError(f"[secagg.server] clip must be a finite number > 0, got {clip!r}")
        if isinstance(graph, str):
            adjacency = build_graph(ids, graph, degree=degree, seed=graph_seed)
        else:
            if degree is not None:
                raise InvalidArgumentError("[secagg.server] degree is only used with graph='harary'")
            adjacency = _check_graph(graph, ids)
        min_degree = min(len(nbrs) for nbrs in adjacency.values())
        if share_threshold is None:
            share_threshold = (
                threshold if graph == "complete" else min((min_degree + 1) // 2 + 1, min_degree + 1)
            )
        if (
            not isinstance(share_threshold, numbers.Integral)
            or isinstance(share_threshold, bool)
            or not 2 <= share_threshold <= min_degree + 1
        ):
            raise InvalidArgumentError(
                f"[secagg.server] share_threshold must be an int in [2, min degree + 1 = {min_degree + 1}], "
                f"got {share_threshold!r}"
            )
        self.client_ids: tuple[int, ...] = tuple(sorted(ids))
        self.threshold = int(threshold)
        self.share_threshold = int(share_threshold)
        self.vector_length = int(vector_length)
        self.clip = float(clip)
        self.graph: Graph = adjacency
        self.session_id = os.urandom(16)
        # the clients' quantization scale, from the same masking module they use (public: depends on clip, n)
        self.scale: float = masking.quantize(np.zeros(1), self.clip, n)[1]
        self._next_round = 0
        self._public_keys: dict[int, AdvertiseKeys] = {}
        self.u1: frozenset[int] = frozenset()
        self.u2: frozenset[int] = frozenset()
        self.u3: frozenset[int] = frozenset()
        self.u4: frozenset[int] = frozenset()
        self._sum = np.zeros(self.vector_length, dtype=np.uint32)
        self._requests: dict[int, UnmaskRequest] = {}

    # -- helpers ---------------------------------------------------------------------------------------
    def _start(self, index: int) -> str:
        name = ROUNDS[index]
        if self._next_round != index:
            done = ROUNDS[self._next_round - 1] if self._next_round else "nothing"
            raise ProtocolViolationError(
                f"[secagg.server.{name}] called out of order (last finished: {done})"
            )
        return name

    def _check_threshold(self, name: str, answered: int, asked: int) -> None:
        if answered < self.threshold:
            raise SecAggAbortError(
                f"[secagg.server.{name}] aborted: {answered} of {asked} clients answered round '{name}', "
                f"threshold t={self.threshold} needs at least {self.threshold}",
                round_name=name,
                survivors=answered,
                required=self.threshold,
            )

    def _check_neighbourhoods(self, name: str, members: frozenset[int]) -> None:
        for u in sorted(members):
            holders = len(self.graph[u] & members) + 1
            if holders < self.share_threshold:
                raise SecAggAbortError(
                    f"[secagg.server.{name}] aborted: client {u} has {holders} share holders left "
                    f"(itself + neighbours), share_threshold={self.share_threshold}",
                    round_name=name,
                    survivors=holders,
                    required=self.share_threshold,
                )

    @staticmethod
    def _unique_senders(name: str, senders: Iterable[int], allowed: frozenset[int]) -> frozenset[int]:
        seen: set[int] = set()
        for s in senders:
            if s not in allowed:
                raise ProtocolViolationError(f"[secagg.server.{name}] message from unexpected client {s}")
            if s in seen:
                raise ProtocolViolationError(f"[secagg.server.{name}] two messages from client {s}")
            seen.add(s)
        return frozenset(seen)

    # -- setup -----------------------------------------------------------------------------------------
    def setup_messages(self) -> dict[int, RoundSetup]:
        """The public round parameters for each invited client."""
        return {
            u: RoundSetup(
                recipient=u,
                session_id=self.session_id,
                neighbours=self.graph[u],
                threshold=self.threshold,
                share_threshold=self.share_threshold,
                num_clients=len(self.client_ids),
                vector_length=self.vector_length,
                clip=self.clip,
            )
            for u in self.client_ids
        }

    # -- round 0 ---------------------------------------------------------------------------------------
    def advertise_keys(self, messages: Sequence[AdvertiseKeys]) -> dict[int, KeyDirectory]:
        """Collect public keys (``U1``); return each client's directory of its neighbours' keys."""
        name = self._start(0)
        self.u1 = self._unique_senders(name, (m.sender for m in messages), frozenset(self.client_ids))
        self._check_threshold(name, len(self.u1), len(self.client_ids))
        seen: set[bytes] = set()
        for m in messages:
            for key in (m.enc_public_key, m.mask_public_key):
                if not isinstance(key, bytes) or len(key) != crypto.KEY_BYTES:
                    raise ProtocolViolationError(
                        f"[secagg.server.{name}] client {m.sender} sent a malformed key"
                    )
                if key in seen:
                    raise ProtocolViolationError(
                        f"[secagg.server.{name}] client {m.sender} reused a public key"
                    )
                seen.add(key)
            self._public_keys[m.sender] = m
        self._check_neighbourhoods(name, self.u1)
        self._next_round = 1
        return {
            u: KeyDirectory(u, tuple(self._public_keys[v] for v in sorted(self.graph[u] & self.u1)))
            for u in sorted(self.u1)
        }

    # -- round 1 ---------------------------------------------------------------------------------------
    def share_keys(self, messages: Sequence[ShareKeys]) -> dict[int, ShareDelivery]:
        """Collect the encrypted shares (``U2``) and route each to its recipient (if it is in ``U2``)."""
        name = self._start(1)
        self.u2 = self._unique_senders(name, (m.sender for m in messages), self.u1)
        self._check_threshold(name, len(self.u2), len(self.u1))
        inbox: dict[int, list] = {v: [] for v in self.u2}
        for m in messages:
            expected = self.graph[m.sender] & self.u1
            targets = [s.recipient for s in m.shares]
            if any(s.sender != m.sender for s in m.shares) or sorted(targets) != sorted(expected):
                raise ProtocolViolationError(
                    f"[secagg.server.{name}] client {m.sender} must send one share to each of its neighbours "
                    f"in U1 {sorted(expected)}, sent to {sorted(targets)}"
                )
            for s in m.shares:
                if s.recipient in inbox:
                    inbox[s.recipient].append(s)
        self._check_neighbourhoods(name, self.u2)
        self._next_round = 2
        return {v: ShareDelivery(v, tuple(sorted(inbox[v], key=lambda s: s.sender))) for v in sorted(self.u2)}

    # -- round 2 ---------------------------------------------------------------------------------------
    def masked_input_collection(self, messages: Iterable[MaskedInput]) -> dict[int, UnmaskRequest]:
        """Add each masked input to the running sum mod 2^32 (``U3``); return the unmasking requests."""
        name = self._start(2)
        senders: set[int] = set()
        for m in messages:
            if m.sender not in self.u2 or m.sender in senders:
                raise ProtocolViolationError(
                    f"[secagg.server.{name}] unexpected or repeated input from {m.sender}"
                )
            y = m.masked
            if not isinstance(y, np.ndarray) or y.dtype != np.uint32 or y.shape != (self.vector_length,):
                raise ProtocolViolationError(
                    f"[secagg.server.{name}] client {m.sender} sent a masked input that is not a uint32 "
                    f"vector of length {self.vector_length}"
                )
            masking.add_mod(self._sum, y, 1)
            senders.add(m.sender)
        self.u3 = frozenset(senders)
        self._check_threshold(name, len(self.u3), len(self.u2))
        self._check_connected(name)
        self._requests = {
            u: UnmaskRequest(
                recipient=u,
                dropped=frozenset((self.graph[u] & self.u2) - self.u3),
                survivors=frozenset((self.graph[u] & self.u3) | {u}),
            )
            for u in sorted(self.u3)
        }
        self._next_round = 3
        return dict(self._requests)

    def _check_connected(self, name: str) -> None:
        start = min(self.u3)
        reached = {start}
        frontier = [start]
        while frontier:
            u = frontier.pop()
            for v in self.graph[u] & self.u3:
                if v not in reached:
                    reached.add(v)
                    frontier.append(v)
        if reached != self.u3:
            raise SecAggAbortError(
                f"[secagg.server.{name}] aborted: the graph among the {len(self.u3)} clients whose masked "
                f"input arrived is disconnected (component of client {start} has {len(reached)}); unmasking "
                "would reveal per-component sums",
                round_name=name,
                survivors=len(reached),
                required=len(self.u3),
            )

    # -- round 4 ---------------------------------------------------------------------------------------
    def unmasking(self, responses: Sequence[UnmaskResponse]) -> ServerOutput:
        """Rebuild the secrets needed to remove every remaining mask and return the aggregate."""
        name = self._start(3)
        self.u4 = self._unique_senders(name, (r.sender for r in responses), self.u3)
        self._check_threshold(name, len(self.u4), len(self.u3))
        key_shares: dict[int, list[Share]] = {v: [] for v in self.u2 - self.u3}
        seed_shares: dict[int, list[Share]] = {w: [] for w in self.u3}
        for r in responses:
            req = self._requests[r.sender]
            if set(r.key_shares) != req.dropped or set(r.seed_shares) != req.survivors:
                raise ProtocolViolationError(
                    f"[secagg.server.{name}] client {r.sender} answered for other clients than requested"
                )
            for owner, share in (*r.key_shares.items(), *r.seed_shares.items()):
                if not isinstance(share, Share) or share.x != r.sender:
                    raise ProtocolViolationError(
                        f"[secagg.server.{name}] client {r.sender} sent a share for {owner} with the wrong x"
                    )
            for owner, share in r.key_shares.items():
                key_shares[owner].append(share)
            for owner, share in r.seed_shares.items():
                seed_shares[owner].append(share)
        for owner, shares in (*sorted(key_shares.items()), *sorted(seed_shares.items())):
            if len(shares) < self.share_threshold:
                what = "mask key" if owner in key_shares else "self-mask seed"
                raise SecAggAbortError(
                    f"[secagg.server.{name}] aborted: only {len(shares)} shares of client {owner}'s {what} "
                    f"arrived, share_threshold={self.share_threshold}",
                    round_name=name,
                    survivors=len(shares),
                    required=self.share_threshold,
                )
        total = self._sum
        length = self.vector_length
        for v in sorted(key_shares):
            secret_key = crypto.private_key_from_bytes(
                reconstruct_secret(key_shares[v], self.share_threshold)
            )
            for w in sorted(self.graph[v] & self.u3):
                seed = crypto.agree(
                    secret_key,
                    self._public_keys[w].mask_public_key,
                    purpose=_MASK_PURPOSE,
                    session_id=self.session_id,
                )
                masking.add_mod(total, masking.expand_mask(seed, length), -pairwise_sign(w, v))
            del secret_key
        for w in sorted(seed_shares):
            masking.add_mod(
                total,
                masking.expand_mask(reconstruct_secret(seed_shares[w], self.share_threshold), length),
                -1,
            )
        self._next_round = 4
        included = tuple(sorted(self.u3))
        return ServerOutput(
            total=masking.dequantize(total, self.scale, len(included)),
            total_quantized=total.copy(),
            scale=self.scale,
            included=included,
        )
