"""The client side of secure aggregation (Bonawitz et al. 2017, Fig. 4, semi-honest variant).

A :class:`SecAggClient` is a small state machine: it answers each round at most once and in order,
and refuses any server message that is inconsistent with what it already knows. In particular it
never reveals, for the same peer, both the share of the peer's mask private key (which the server
needs when the peer dropped before its masked input arrived) and the share of the peer's self-mask
seed (needed when the peer's masked input was counted) — holding both would let the server unmask
that peer's individual input.
"""

from __future__ import annotations

import enum
import os

import numpy as np
import numpy.typing as npt

from reactor.errors import InvalidArgumentError
from reactor.federated.secagg import crypto, masking
from reactor.federated.secagg.errors import ProtocolViolationError, SecAggAbortError
from reactor.federated.secagg.messages import (
    AdvertiseKeys,
    EncryptedShare,
    KeyDirectory,
    MaskedInput,
    RoundSetup,
    ShareDelivery,
    ShareKeys,
    UnmaskRequest,
    UnmaskResponse,
)
from reactor.federated.secagg.shamir import Share, split_secret

__all__ = ["SecAggClient", "check_client_id"]

_SHARE_KIND = b"share"
_ENC_PURPOSE = b"enc"
_MASK_PURPOSE = b"mask"


def check_client_id(client_id: object) -> int:
    """Validate a client id: an int in ``[1, 2^32)`` (it is also the client's Shamir x-coordinate)."""
    if (
        not isinstance(client_id, int | np.integer)
        or isinstance(client_id, bool)
        or not 1 <= client_id < 2**32
    ):
        raise InvalidArgumentError(f"[secagg] client id must be an int in [1, 2^32), got {client_id!r}")
    return int(client_id)


def pairwise_sign(owner: int, peer: int) -> int:
    """Sign of ``PRG(s_{owner,peer})`` in ``owner``'s masked input: ``+1`` iff ``owner < peer``."""
    return 1 if owner < peer else -1


class _Stage(enum.Enum):
    NEW = 0
    SET_UP = 1
    ADVERTISED = 2
    SHARED = 3
    MASKED = 4
    UNMASKED = 5


class SecAggClient:
    """One participant: holds its private update, key pairs and self-mask seed; never sends them in clear.

    Args:
        client_id: the client's id, an int in ``[1, 2^32)``.
        update: the client's 1-D float input vector (already weighted, if the aggregate is weighted).

    """

    def __init__(self, client_id: int, update: npt.ArrayLike) -> None:
        self.client_id = check_client_id(client_id)
        x = np.asarray(update)
        if x.ndim != 1 or not np.issubdtype(x.dtype, np.floating):
            raise InvalidArgumentError(
                f"[secagg.client] update of client {self.client_id} must be a 1-D float array, "
                f"got dtype={x.dtype} shape={x.shape}"
            )
        self._update = x
        self._stage = _Stage.NEW
        self._setup: RoundSetup | None = None
        self._enc_key = crypto.generate_private_key()  # c_u^SK
        self._mask_key = crypto.generate_private_key()  # s_u^SK
        self._seed: bytes | None = None  # b_u
        self._peer_keys: dict[int, AdvertiseKeys] = {}
        self._peers: frozenset[int] = frozenset()  # neighbours in U2 (whose shares we hold)
        self._held: dict[int, tuple[Share, Share]] = {}  # owner -> (share of s^SK, share of b)
        self._revealed_key_for: set[int] = set()
        self._revealed_seed_for: set[int] = set()

    # -- helpers -------------------------------------------------------------------------------------
    def _expect(self, stage: _Stage, round_name: str) -> RoundSetup:
        if self._stage is not stage:
            raise ProtocolViolationError(
                f"[secagg.client.{round_name}] client {self.client_id} is at stage {self._stage.name}, "
                f"expected {stage.name}: rounds run once each, in order"
            )
        if self._setup is None and stage is not _Stage.NEW:
            raise ProtocolViolationError(
                f"[secagg.client.{round_name}] client {self.client_id} was never set up"
            )
        return self._setup  # type: ignore[return-value]

    def _check_recipient(self, recipient: int, round_name: str) -> None:
        if recipient != self.client_id:
            raise ProtocolViolationError(
                f"[secagg.client.{round_name}] message addressed to client {recipient} delivered to "
                f"client {self.client_id}"
            )

    # -- round -1: setup -----------------------------------------------------------------------------
    def setup(self, message: RoundSetup) -> None:
        """Accept the round's public parameters."""
        self._expect(_Stage.NEW, "setup")
        self._check_recipient(message.recipient, "setup")
        if self.client_id in message.neighbours:
            raise ProtocolViolationError(
                f"[secagg.client.setup] client {self.client_id} is its own neighbour"
            )
        if message.vector_length != self._update.shape[0]:
            raise InvalidArgumentError(
                f"[secagg.client.setup] client {self.client_id} update has length {self._update.shape[0]}, "
                f"round expects vector_length={message.vector_length}"
            )
        if not 2 <= message.share_threshold <= len(message.neighbours) + 1:
            raise ProtocolViolationError(
                f"[secagg.client.setup] share_threshold={message.share_threshold} must be in "
                f"[2, neighbours + 1 = {len(message.neighbours) + 1}]"
            )
        self._setup = message
        self._stage = _Stage.SET_UP

    # -- round 0: AdvertiseKeys ------------------------------------------------------------------------
    def advertise_keys(self) -> AdvertiseKeys:
        """Round 0: send the two public keys."""
        self._expect(_Stage.SET_UP, "advertise_keys")
        self._stage = _Stage.ADVERTISED
        return AdvertiseKeys(
            sender=self.client_id,
            enc_public_key=crypto.public_key_bytes(self._enc_key),
            mask_public_key=crypto.public_key_bytes(self._mask_key),
        )

    # -- round 1: ShareKeys ----------------------------------------------------------------------------
    def share_keys(self, directory: KeyDirectory) -> ShareKeys:
        """Round 1: Shamir-share ``s_u^SK`` and a fresh self-mask seed ``b_u`` among self and neighbours."""
        setup = self._expect(_Stage.ADVERTISED, "share_keys")
        self._check_recipient(directory.recipient, "share_keys")
        own = {crypto.public_key_bytes(self._enc_key), crypto.public_key_bytes(self._mask_key)}
        seen_keys: set[bytes] = set(own)
        peer_keys: dict[int, AdvertiseKeys] = {}
        for keys in directory.keys:
            if keys.sender not in setup.neighbours:
                raise ProtocolViolationError(
                    f"[secagg.client.share_keys] key directory lists client {keys.sender}, "
                    f"not a neighbour of client {self.client_id}"
                )
            if keys.sender in peer_keys:
                raise ProtocolViolationError(f"[secagg.client.share_keys] client {keys.sender} listed twice")
            for key in (keys.enc_public_key, keys.mask_public_key):
                if key in seen_keys:
                    raise ProtocolViolationError(
                        f"[secagg.client.share_keys] public key of client {keys.sender} is repeated"
                    )
                seen_keys.add(key)
            peer_keys[keys.sender] = keys
        holders = [*sorted(peer_keys), self.client_id]
        if len(holders) < setup.share_threshold:
            raise SecAggAbortError(
                f"[secagg.client.share_keys] client {self.client_id} has {len(holders)} share holders "
                f"(itself + neighbours in U1), share_threshold={setup.share_threshold} needs more",
                round_name="share_keys",
                survivors=len(holders),
                required=setup.share_threshold,
            )
        self._seed = os.urandom(32)
        key_shares = split_secret(crypto.private_key_bytes(self._mask_key), setup.share_threshold, holders)
        seed_shares = split_secret(self._seed, setup.share_threshold, holders)
        out = []
        for holder, key_share, seed_share in zip(holders, key_shares, seed_shares, strict=True):
            if holder == self.client_id:
                self._held[holder] = (key_share, seed_share)
                continue
            plaintext = (
                self.client_id.to_bytes(4, "big")
                + holder.to_bytes(4, "big")
                + key_share.to_bytes()
                + seed_share.to_bytes()
            )
            key = crypto.agree(
                self._enc_key,
                peer_keys[holder].enc_public_key,
                purpose=_ENC_PURPOSE,
                session_id=setup.session_id,
            )
            aad = crypto.associated_data(setup.session_id, self.client_id, holder, _SHARE_KIND)
            out.append(EncryptedShare(self.client_id, holder, crypto.aead_encrypt(key, plaintext, aad)))
        self._peer_keys = peer_keys
        self._stage = _Stage.SHARED
        return ShareKeys(sender=self.client_id, shares=tuple(out))

    # -- round 2: MaskedInputCollection ---------------------------------------------------------------
    def masked_input(self, delivery: ShareDelivery) -> MaskedInput:
        """Round 2: verify and store the shares received, then send the doubly masked input."""
        setup = self._expect(_Stage.SHARED, "masked_input_collection")
        self._check_recipient(delivery.recipient, "masked_input_collection")
        received: dict[int, tuple[Share, Share]] = {}
        for item in delivery.shares:
            received[item.sender] = self._open_share(item, setup, received)
        peers = frozenset(received)
        if len(peers) + 1 < setup.share_threshold:
            raise SecAggAbortError(
                f"[secagg.client.masked_input_collection] client {self.client_id} received shares from "
                f"{len(peers)} neighbours in U2; share_threshold={setup.share_threshold} needs at least "
                f"{setup.share_threshold - 1}",
                round_name="masked_input_collection",
                survivors=len(peers) + 1,
                required=setup.share_threshold,
            )
        self._held.update(received)
        self._peers = peers
        assert self._seed is not None
        length = setup.vector_length
        masked, _ = masking.quantize(self._update, setup.clip, setup.num_clients)
        masking.add_mod(masked, masking.expand_mask(self._seed, length), 1)
        for peer in sorted(peers):
            seed = crypto.agree(
                self._mask_key,
                self._peer_keys[peer].mask_public_key,
                purpose=_MASK_PURPOSE,
                session_id=setup.session_id,
            )
            masking.add_mod(masked, masking.expand_mask(seed, length), pairwise_sign(self.client_id, peer))
        self._stage = _Stage.MASKED
        return MaskedInput(sender=self.client_id, masked=masked)

    def _open_share(
        self, item: EncryptedShare, setup: RoundSetup, received: dict[int, tuple[Share, Share]]
    ) -> tuple[Share, Share]:
        """Decrypt and check one ciphertext; returns (share of the sender's s^SK, share of its b)."""
        if item.recipient != self.client_id:
            raise ProtocolViolationError(
                f"[secagg.client.masked_input_collection] share for client {item.recipient} delivered to "
                f"client {self.client_id}"
            )
        if item.sender not in self._peer_keys:
            raise ProtocolViolationError(
                f"[secagg.client.masked_input_collection] share from client {item.sender}, which was not "
                f"in client {self.client_id}'s key directory"
            )
        if item.sender in received:
            raise ProtocolViolationError(
                f"[secagg.client.masked_input_collection] two shares from client {item.sender}"
            )
        key = crypto.agree(
            self._enc_key,
            self._peer_keys[item.sender].enc_public_key,
            purpose=_ENC_PURPOSE,
            session_id=setup.session_id,
        )
        aad = crypto.associated_data(setup.session_id, item.sender, self.client_id, _SHARE_KIND)
        plaintext = crypto.aead_decrypt(key, item.ciphertext, aad)
        width = (len(plaintext) - 8) // 2
        sender = int.from_bytes(plaintext[:4], "big")
        recipient = int.from_bytes(plaintext[4:8], "big")
        key_share = Share.from_bytes(plaintext[8 : 8 + width])
        seed_share = Share.from_bytes(plaintext[8 + width :])
        if (sender, recipient) != (item.sender, self.client_id) or not (
            key_share.x == seed_share.x == self.client_id
        ):
            raise ProtocolViolationError(
                f"[secagg.client.masked_input_collection] share from client {item.sender} names "
                f"sender={sender}, recipient={recipient}, x={key_share.x}"
            )
        return key_share, seed_share

    # -- round 4: Unmasking ----------------------------------------------------------------------------
    def unmask(self, request: UnmaskRequest) -> UnmaskResponse:
        """Round 4: reveal key shares of dropped neighbours and seed shares of surviving ones (never both)."""
        setup = self._expect(_Stage.MASKED, "unmasking")
        self._check_recipient(request.recipient, "unmasking")
        me = self.client_id
        dropped, survivors = set(request.dropped), set(request.survivors)
        if dropped & survivors:
            raise ProtocolViolationError(
                f"[secagg.client.unmasking] client {me} asked for both shares of clients "
                f"{sorted(dropped & survivors)}"
            )
        if me not in survivors:
            raise ProtocolViolationError(
                f"[secagg.client.unmasking] client {me} sent its masked input but is not listed as a survivor"
            )
        known = set(self._peers) | {me}
        if dropped | survivors != known:
            raise ProtocolViolationError(
                f"[secagg.client.unmasking] client {me}: dropped + survivors {sorted(dropped | survivors)} "
                f"must be exactly its neighbours in U2 plus itself {sorted(known)}"
            )
        if len(survivors) < setup.share_threshold:
            raise SecAggAbortError(
                f"[secagg.client.unmasking] client {me} is told only {len(survivors)} of its neighbourhood "
                f"survived; share_threshold={setup.share_threshold} required",
                round_name="unmasking",
                survivors=len(survivors),
                required=setup.share_threshold,
            )
        conflict = (dropped & self._revealed_seed_for) | (survivors & self._revealed_key_for)
        if conflict:
            raise ProtocolViolationError(
                f"[secagg.client.unmasking] client {me} already revealed the other share of "
                f"{sorted(conflict)}"
            )
        self._revealed_key_for |= dropped
        self._revealed_seed_for |= survivors
        self._stage = _Stage.UNMASKED
        return UnmaskResponse(
            sender=me,
            key_shares={v: self._held[v][0] for v in sorted(dropped)},
            seed_shares={v: self._held[v][1] for v in sorted(survivors)},
        )
