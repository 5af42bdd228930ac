r"""In-process driver for secure aggregation: one round among n clients, with scripted dropouts.

:func:`run_secure_aggregation` plays the network: it creates a :class:`~.server.SecAggServer` and one
:class:`~.client.SecAggClient` per input, passes every message between them (through an optional
``intercept`` hook that may inspect or alter it, as a man-in-the-middle would), drops the clients named
by a :class:`DropoutPlan` at the stage given, and records every message in a :class:`Transcript`.

Message flow (``U1 ⊇ U2 ⊇ U3 ⊇ U4`` are the clients still answering)::

    server -> all:   RoundSetup            session id, graph neighbours, t, share threshold, clip
    0 advertise_keys           client -> server  AdvertiseKeys(c_u^PK, s_u^PK)
                               server -> U1      KeyDirectory(keys of neighbours in U1)
    1 share_keys               client -> server  ShareKeys(AEAD(c_uv, shares of s_u^SK and b_u) per neighbour)
                               server -> U2      ShareDelivery(ciphertexts addressed to it from U2)
    2 masked_input_collection  client -> server  MaskedInput(y_u = x_u + PRG(b_u) + sum_v +-PRG(s_uv))
                               server -> U3      UnmaskRequest(neighbours in U2 \ U3 = dropped,
                                                               neighbours in U3 = survivors)
    4 unmasking                client -> server  UnmaskResponse(shares of s_v^SK for dropped v,
                                                                shares of b_w for surviving w)
                               server            sum = sum_{U3} y - masks = sum_{U3} x (mod 2^32), dequantized

The optional consistency-check round (Bonawitz's round 3, which has clients sign ``U3`` to protect
against a server that lies about dropouts) is not implemented: the model here is an honest-but-curious
server. Dropping "at" a stage means the client sends nothing in that stage or later; a client that
drops at ``unmasking`` has sent its masked input, so its input is in the sum and its self mask is
rebuilt from its neighbours' shares.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from reactor.errors import InvalidArgumentError
from reactor.federated.secagg.client import SecAggClient, check_client_id
from reactor.federated.secagg.graph import GraphKind
from reactor.federated.secagg.messages import ROUNDS
from reactor.federated.secagg.server import SecAggServer, ServerOutput

__all__ = [
    "DropoutPlan",
    "SecAggResult",
    "SecureSumResult",
    "Transcript",
    "TranscriptRecord",
    "run_secure_aggregation",
    "secure_sum",
]

SERVER = 0
"""Party id of the server in transcript records (client ids start at 1)."""


@dataclass(frozen=True, slots=True)
class DropoutPlan:
    """Which clients stop answering at which round (each client at most once)."""

    advertise_keys: frozenset[int] = frozenset()
    share_keys: frozenset[int] = frozenset()
    masked_input_collection: frozenset[int] = frozenset()
    unmasking: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        seen: set[int] = set()
        for name in ROUNDS:
            ids = frozenset(int(c) for c in getattr(self, name))
            object.__setattr__(self, name, ids)
            if seen & ids:
                raise InvalidArgumentError(f"[secagg.DropoutPlan] clients {sorted(seen & ids)} drop twice")
            seen |= ids

    def at(self, round_name: str) -> frozenset[int]:
        """The clients that drop at ``round_name``."""
        return getattr(self, round_name)

    @classmethod
    def random(cls, client_ids: Sequence[int], rate: float, *, seed: int | None = None) -> DropoutPlan:
        """Each client still present drops at each of the four rounds with probability ``rate``."""
        if not isinstance(rate, numbers.Real) or not 0.0 <= rate < 1.0:
            raise InvalidArgumentError(f"[secagg.DropoutPlan] dropout rate must be in [0, 1), got {rate!r}")
        rng = np.random.default_rng(seed)
        alive = list(client_ids)
        stages: dict[str, frozenset[int]] = {}
        for name in ROUNDS:
            leave = rng.random(len(alive)) < rate
            stages[name] = frozenset(c for c, gone in zip(alive, leave, strict=True) if gone)
            alive = [c for c, gone in zip(alive, leave, strict=True) if not gone]
        return cls(**stages)


@dataclass(frozen=True, slots=True)
class TranscriptRecord:
    """One message as sent: its round, sender and recipient (``0`` = the server) and the message itself."""

    round_name: str
    sender: int
    recipient: int
    message: Any

    @property
    def num_bytes(self) -> int:
        """Approximate wire size: the bytes, arrays and shares it carries plus 4 bytes per id."""
        return _payload_bytes(self.message)


def _payload_bytes(obj: object) -> int:
    if isinstance(obj, bytes | bytearray):
        return len(obj)
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, bool | int | float):
        return 4
    if isinstance(obj, Mapping):
        return sum(_payload_bytes(k) + _payload_bytes(v) for k, v in obj.items())
    if isinstance(obj, list | tuple | set | frozenset):
        return sum(_payload_bytes(v) for v in obj)
    slots = getattr(type(obj), "__slots__", ())
    return sum(_payload_bytes(getattr(obj, s)) for s in slots)


@dataclass(slots=True)
class Transcript:
    """Every message of one round, in order, and who was still answering after each round."""

    records: list[TranscriptRecord] = field(default_factory=list)
    answered: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def messages(self, round_name: str | None = None) -> list[Any]:
        """The messages (optionally of one round), in the order they were sent."""
        return [r.message for r in self.records if round_name is None or r.round_name == round_name]

    def bytes_by_round(self) -> dict[str, int]:
        """Approximate bytes sent per round (both directions)."""
        out: dict[str, int] = {}
        for r in self.records:
            out[r.round_name] = out.get(r.round_name, 0) + r.num_bytes
        return out


@dataclass(frozen=True, slots=True, eq=False)
class SecAggResult:
    """Outcome of :func:`run_secure_aggregation`.

    ``total`` is the sum of the (clipped, quantized) inputs of the clients in ``included`` — those whose
    masked input reached the server — as float64; ``server`` is the server object after the round
    (for inspection), ``transcript`` every message exchanged.
    """

    total: npt.NDArray[np.float64]
    total_quantized: npt.NDArray[np.uint32]
    scale: float
    included: tuple[int, ...]
    transcript: Transcript
    server: SecAggServer


Intercept = Callable[[str, int, int, Any], Any]


def _as_inputs(updates: Mapping[int, npt.ArrayLike] | Sequence[npt.ArrayLike]) -> dict[int, np.ndarray]:
    if isinstance(updates, Mapping):
        items = [(check_client_id(k), np.asarray(v)) for k, v in updates.items()]
    else:
        items = [(i + 1, np.asarray(v)) for i, v in enumerate(updates)]
    if len(items) < 2:
        raise InvalidArgumentError(f"[secagg.run] need at least 2 client updates, got {len(items)}")
    return dict(items)


def run_secure_aggregation(
    updates: Mapping[int, npt.ArrayLike] | Sequence[npt.ArrayLike] | npt.NDArray[np.floating],
    *,
    threshold: int,
    clip: float,
    graph: GraphKind | Mapping[int, Iterable[int]] = "complete",
    degree: int | None = None,
    share_threshold: int | None = None,
    dropouts: DropoutPlan | None = None,
    graph_seed: int | None = None,
    intercept: Intercept | None = None,
) -> SecAggResult:
    """Run one secure-aggregation round in process among ``len(updates)`` clients.

    Args:
        updates: client inputs, 1-D float vectors of one length: a ``(K, D)`` array or a sequence
            (client ids ``1..K``) or a mapping ``{client id: vector}``.
        threshold: ``t``; a round answered by fewer than ``t`` clients aborts.
        clip: inputs are clipped to ``[-clip, clip]`` before quantization.
        graph: ``"complete"``, ``"harary"`` or an explicit adjacency mapping (see
            :class:`~.server.SecAggServer`).
        degree: ``k`` of the Harary graph.
        share_threshold: Shamir threshold within each neighbourhood (default: ``t`` for the complete
            graph, a majority of the ``k + 1`` holders for a Harary graph).
        graph_seed: seeds the Harary ring order.
        dropouts: which clients drop at which stage (default: none).
        intercept: ``f(round_name, sender, recipient, message) -> message`` applied to every message
            in flight (``0`` is the server); for tests and fault injection.

    Raises:
        SecAggAbortError: too few clients answered a round, or a secret could not be rebuilt.
        ProtocolViolationError / DecryptionError: a party received an invalid or tampered message.

    """
    inputs = _as_inputs(updates if not isinstance(updates, np.ndarray) else list(updates))
    lengths = {v.shape for v in inputs.values()}
    if len(lengths) != 1 or len(next(iter(lengths))) != 1:
        raise InvalidArgumentError(
            f"[secagg.run] updates must be 1-D vectors of one length, got shapes {lengths}"
        )
    plan = dropouts or DropoutPlan()
    for name in ROUNDS:
        unknown = plan.at(name) - set(inputs)
        if unknown:
            raise InvalidArgumentError(
                f"[secagg.run] dropouts.{name} names unknown clients {sorted(unknown)}"
            )
    server = SecAggServer(
        list(inputs),
        threshold=threshold,
        vector_length=next(iter(lengths))[0],
        clip=clip,
        graph=graph,
        degree=degree,
        share_threshold=share_threshold,
        graph_seed=graph_seed,
    )
    clients = {cid: SecAggClient(cid, x) for cid, x in inputs.items()}
    transcript = Transcript()

    def send(round_name: str, sender: int, recipient: int, message: Any) -> Any:
        if intercept is not None:
            message = intercept(round_name, sender, recipient, message)
        transcript.records.append(TranscriptRecord(round_name, sender, recipient, message))
        return message

    for cid, msg in server.setup_messages().items():
        clients[cid].setup(send("setup", SERVER, cid, msg))

    alive = set(clients)

    def collect(round_name: str, make: Callable[[int], Any], recipients: Iterable[int]) -> list[Any]:
        alive.difference_update(plan.at(round_name))
        out = []
        for cid in sorted(set(recipients) & alive):
            out.append(send(round_name, cid, SERVER, make(cid)))
        transcript.answered[round_name] = tuple(sorted(m.sender for m in out))
        return out

    def deliver(round_name: str, outbox: Mapping[int, Any]) -> dict[int, Any]:
        return {cid: send(round_name, SERVER, cid, msg) for cid, msg in outbox.items()}

    directories = deliver(
        "advertise_keys",
        server.advertise_keys(collect("advertise_keys", lambda c: clients[c].advertise_keys(), clients)),
    )
    deliveries = deliver(
        "share_keys",
        server.share_keys(
            collect("share_keys", lambda c: clients[c].share_keys(directories[c]), directories)
        ),
    )
    requests = deliver(
        "masked_input_collection",
        server.masked_input_collection(
            collect("masked_input_collection", lambda c: clients[c].masked_input(deliveries[c]), deliveries)
        ),
    )
    output: ServerOutput = server.unmasking(
        collect("unmasking", lambda c: clients[c].unmask(requests[c]), requests)
    )
    return SecAggResult(
        total=output.total,
        total_quantized=output.total_quantized,
        scale=output.scale,
        included=output.included,
        transcript=transcript,
        server=server,
    )


@dataclass(frozen=True, slots=True, eq=False)
class SecureSumResult:
    """Outcome of :func:`secure_sum`.

    Attributes:
        total: ``sum_i w_i * clip(x_i)`` over the included clients (float64, length D).
        weight_total: ``sum_i w_i`` over the same clients.
        included: indices (0-based, into ``updates``) of the clients whose input is in the sum.
        transcript: every protocol message.

    """

    total: npt.NDArray[np.float64]
    weight_total: float
    included: tuple[int, ...]
    transcript: Transcript

    @property
    def mean(self) -> npt.NDArray[np.float64]:
        """The weighted mean ``total / weight_total`` of the included clients."""
        if self.weight_total <= 0:
            raise InvalidArgumentError(
                "[secagg.secure_sum] weight_total is 0: the weighted mean is undefined"
            )
        return self.total / self.weight_total


def secure_sum(
    updates: npt.ArrayLike | Sequence[npt.ArrayLike],
    weights: npt.ArrayLike | None = None,
    *,
    clip: float = 1.0,
    threshold: int | None = None,
    dropout: float | DropoutPlan = 0.0,
    seed: int | None = None,
    graph: GraphKind = "complete",
    degree: int | None = None,
    share_threshold: int | None = None,
) -> SecureSumResult:
    """Weighted sum of client updates through the secure-aggregation protocol, run in process.

    Client ``i`` clips its update to ``[-clip, clip]`` and submits ``(w_i / w_max) * x_i`` followed by
    one extra coordinate ``(w_i / w_max) * clip``, so the protocol's sum yields both the weighted sum
    and the total weight of whichever clients survive; ``w_max = max(weights)`` is public. The error
    per coordinate is at most ``w_max * K / (2 * scale)`` with ``scale = floor((2^31 - 1) / K) / clip``.

    Args:
        updates: ``(K, D)`` float array or K 1-D float arrays of length D.
        weights: K non-negative finite weights (default: all 1).
        clip: coordinate clip range, ``> 0``.
        threshold: ``t`` (default ``K // 2 + 1``, at least 2).
        dropout: a per-round dropout probability in ``[0, 1)`` or a :class:`DropoutPlan` with 0-based
            client indices.
        seed: seeds the simulated dropouts and the Harary ring order (keys, seeds and masks always
            come from the OS CSPRNG).
        graph: ``"complete"`` or ``"harary"``.
        degree: ``k`` of the Harary graph.
        share_threshold: Shamir threshold within each neighbourhood (see :class:`~.server.SecAggServer`).

    """
    if isinstance(updates, np.ndarray):
        if updates.ndim != 2:
            raise InvalidArgumentError(
                f"[secagg.secure_sum] updates must be (K, D), got shape {updates.shape}"
            )
        rows = list(updates)
    else:
        rows = [np.asarray(u) for u in updates]
    k = len(rows)
    if k < 2:
        raise InvalidArgumentError(f"[secagg.secure_sum] need at least 2 updates, got {k}")
    for i, row in enumerate(rows):
        if row.ndim != 1 or not np.issubdtype(row.dtype, np.floating):
            raise InvalidArgumentError(
                f"[secagg.secure_sum] updates[{i}] must be a 1-D float array, got dtype={row.dtype} "
                f"shape={row.shape}"
            )
        if row.shape != rows[0].shape:
            raise InvalidArgumentError(
                f"[secagg.secure_sum] updates[{i}] has shape {row.shape}, updates[0] has {rows[0].shape}"
            )
        if not np.isfinite(row).all():
            raise InvalidArgumentError(f"[secagg.secure_sum] updates[{i}] contains NaN or Inf")
    w = np.ones(k) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (k,):
        raise InvalidArgumentError(f"[secagg.secure_sum] weights must have shape ({k},), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        bad = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
        raise InvalidArgumentError(f"[secagg.secure_sum] weights[{bad}] = {w[bad]} must be finite and >= 0")
    w_max = float(w.max())
    if w_max <= 0:
        raise InvalidArgumentError("[secagg.secure_sum] all weights are 0")
    if not isinstance(clip, numbers.Real) or not np.isfinite(clip) or clip <= 0:
        raise InvalidArgumentError(f"[secagg.secure_sum] clip must be a finite number > 0, got {clip!r}")
    t = max(2, k // 2 + 1) if threshold is None else threshold
    ids = list(range(1, k + 1))
    if isinstance(dropout, DropoutPlan):
        plan = DropoutPlan(**{name: frozenset(i + 1 for i in dropout.at(name)) for name in ROUNDS})
    else:
        plan = DropoutPlan.random(ids, dropout, seed=seed)
    inputs = {}
    for cid, row, wi in zip(ids, rows, w, strict=True):
        factor = wi / w_max
        inputs[cid] = np.append(factor * np.clip(row.astype(np.float64), -clip, clip), factor * clip)
    result = run_secure_aggregation(
        inputs,
        threshold=t,
        clip=clip,
        graph=graph,
        degree=degree,
        share_threshold=share_threshold,
        dropouts=plan,
        graph_seed=seed,
    )
    return SecureSumResult(
        total=result.total[:-1] * w_max,
        weight_total=float(result.total[-1] * w_max / clip),
        included=tuple(c - 1 for c in result.included),
        transcript=result.transcript,
    )
