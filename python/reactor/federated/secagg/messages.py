"""The messages of the secure aggregation protocol: exactly what would go over the wire.

Round names follow Bonawitz et al. 2017 (Fig. 4): ``advertise_keys`` (round 0), ``share_keys``
(round 1), ``masked_input_collection`` (round 2) and ``unmasking`` (round 4; the optional consistency
check, round 3, is not implemented — see :mod:`reactor.federated.secagg.protocol`). ``U1 ⊇ U2 ⊇ U3 ⊇ U4``
are the clients that answered rounds 0, 1, 2 and 4.

Nothing in a server-bound message is secret from the server except the content of
:class:`EncryptedShare` ciphertexts, which only their recipient can open; the masked input is
uniformly distributed mod 2^32 on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from reactor.federated.secagg.shamir import Share

__all__ = [
    "ROUNDS",
    "AdvertiseKeys",
    "EncryptedShare",
    "KeyDirectory",
    "MaskedInput",
    "RoundSetup",
    "ShareDelivery",
    "ShareKeys",
    "UnmaskRequest",
    "UnmaskResponse",
]

ROUNDS: tuple[str, ...] = ("advertise_keys", "share_keys", "masked_input_collection", "unmasking")


@dataclass(frozen=True, slots=True)
class RoundSetup:
    """Server -> client before round 0: the public parameters of this aggregation round."""

    recipient: int
    session_id: bytes
    neighbours: frozenset[int]
    """The recipient's neighbours in the communication graph (everyone else for the complete graph)."""
    threshold: int
    """``t``: fewer than ``t`` clients answering any round aborts it."""
    share_threshold: int
    """Shamir threshold of the recipient's sharings among itself and its neighbours."""
    num_clients: int
    """``n``, the number of invited clients; bounds how many inputs are summed (sets the quantization)."""
    vector_length: int
    clip: float


@dataclass(frozen=True, slots=True)
class AdvertiseKeys:
    """Round 0, client -> server: the client's two X25519 public keys (32 raw bytes each)."""

    sender: int
    enc_public_key: bytes
    """``c_u^PK``: for the key that encrypts shares between clients."""
    mask_public_key: bytes
    """``s_u^PK``: for the pairwise mask seeds."""


@dataclass(frozen=True, slots=True)
class KeyDirectory:
    """Round 0, server -> client: the advertised keys of the recipient's neighbours in ``U1``."""

    recipient: int
    keys: tuple[AdvertiseKeys, ...]


@dataclass(frozen=True, slots=True)
class EncryptedShare:
    """ChaCha20-Poly1305 ciphertext of ``sender || recipient || share of s_sender^SK || share of b_sender``.

    Encrypted under a key agreed between ``c_sender`` and ``c_recipient``; the associated data binds
    the session, sender and recipient.
    """

    sender: int
    recipient: int
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class ShareKeys:
    """Round 1, client -> server: one encrypted share pair per neighbour in ``U1``."""

    sender: int
    shares: tuple[EncryptedShare, ...]


@dataclass(frozen=True, slots=True)
class ShareDelivery:
    """Round 1, server -> client: the ciphertexts addressed to the recipient by its neighbours in ``U2``."""

    recipient: int
    shares: tuple[EncryptedShare, ...]


@dataclass(frozen=True, slots=True, eq=False)
class MaskedInput:
    """Round 2, client -> server: ``y_u = x_u + PRG(b_u) + sum_v +-PRG(s_uv) mod 2^32`` (uint32 vector)."""

    sender: int
    masked: npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True)
class UnmaskRequest:
    """Round 4, server -> client: which neighbours dropped after round 1 and which sent masked input.

    The recipient returns shares of ``s_v^SK`` for ``v`` in ``dropped`` and shares of ``b_v`` for ``v``
    in ``survivors`` (the recipient itself included); the two sets must be disjoint.
    """

    recipient: int
    dropped: frozenset[int]
    survivors: frozenset[int]


@dataclass(frozen=True, slots=True)
class UnmaskResponse:
    """Round 4, client -> server: the requested Shamir shares, keyed by the id of the secret's owner."""

    sender: int
    key_shares: dict[int, Share] = field(default_factory=dict)
    seed_shares: dict[int, Share] = field(default_factory=dict)
