"""Key agreement, key derivation and authenticated encryption for secure aggregation.

All primitives come from the ``cryptography`` package:

- key agreement: X25519 (RFC 7748); a public key travels as its 32 raw bytes;
- key derivation: HKDF-SHA256 (RFC 5869) of the X25519 shared secret, ``salt`` = the round's session
  id, ``info`` = ``b"reactor.secagg.v1/" + purpose``; distinct purposes (``b"enc"``, ``b"mask"``) give
  independent keys, and binding the session id means keys and masks never repeat across rounds;
- authenticated encryption: ChaCha20-Poly1305 (RFC 8439) with a fresh random 96-bit nonce per
  message; the wire format is ``nonce || ciphertext || tag``. Associated data binds the sender, the
  recipient and the session, so a ciphertext cannot be replayed to another party or round.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reactor.errors import InvalidArgumentError
from reactor.federated.secagg.errors import DecryptionError, ProtocolViolationError

__all__ = [
    "KEY_BYTES",
    "NONCE_BYTES",
    "aead_decrypt",
    "aead_encrypt",
    "agree",
    "associated_data",
    "generate_private_key",
    "private_key_bytes",
    "private_key_from_bytes",
    "public_key_bytes",
]

KEY_BYTES = 32
NONCE_BYTES = 12
_LABEL = b"reactor.secagg.v1/"


def generate_private_key() -> X25519PrivateKey:
    """A fresh X25519 private key from the operating system's CSPRNG."""
    return X25519PrivateKey.generate()


def public_key_bytes(private_key: X25519PrivateKey) -> bytes:
    """The 32 raw bytes of ``private_key``'s public key (what is advertised)."""
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def private_key_bytes(private_key: X25519PrivateKey) -> bytes:
    """The 32 raw bytes of ``private_key`` (what is Shamir-shared for dropout recovery)."""
    return private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def private_key_from_bytes(raw: bytes) -> X25519PrivateKey:
    """Rebuild an X25519 private key from its 32 raw bytes."""
    if not isinstance(raw, bytes | bytearray) or len(raw) != KEY_BYTES:
        raise InvalidArgumentError(f"[secagg.crypto] a private key has {KEY_BYTES} raw bytes, got {len(raw)}")
    return X25519PrivateKey.from_private_bytes(bytes(raw))


def agree(private_key: X25519PrivateKey, peer_public: bytes, *, purpose: bytes, session_id: bytes) -> bytes:
    """Derive a 32-byte symmetric key shared with the owner of ``peer_public``.

    ``agree(a, pub(b), ...) == agree(b, pub(a), ...)``. ``purpose`` separates the uses of one key pair
    (``b"enc"`` for share encryption, ``b"mask"`` for pairwise mask seeds).
    """
    if not isinstance(peer_public, bytes | bytearray) or len(peer_public) != KEY_BYTES:
        raise InvalidArgumentError(
            f"[secagg.crypto] peer public key must be {KEY_BYTES} raw bytes, got {len(peer_public)}"
        )
    try:
        shared = private_key.exchange(X25519PublicKey.from_public_bytes(bytes(peer_public)))
    except ValueError as exc:  # low-order point: the shared secret would be all zeros
        raise ProtocolViolationError(f"[secagg.crypto] peer public key is invalid: {exc}") from exc
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=session_id, info=_LABEL + purpose).derive(
        shared
    )


def associated_data(session_id: bytes, sender: int, recipient: int, kind: bytes) -> bytes:
    """The AEAD associated data binding a message to its session, direction and kind."""
    return _LABEL + kind + b"|" + session_id + sender.to_bytes(4, "big") + recipient.to_bytes(4, "big")


def aead_encrypt(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """ChaCha20-Poly1305 encryption with a random nonce; returns ``nonce || ciphertext || tag``."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, associated)


def aead_decrypt(key: bytes, blob: bytes, associated: bytes) -> bytes:
    """Verify and decrypt :func:`aead_encrypt`'s output.

    Raises:
        DecryptionError: the ciphertext, nonce, tag or associated data was altered, or the key is wrong.

    """
    if len(blob) < NONCE_BYTES + 16:
        raise DecryptionError(f"[secagg.crypto] ciphertext of {len(blob)} bytes is shorter than nonce + tag")
    try:
        return ChaCha20Poly1305(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated)
    except InvalidTag as exc:
        raise DecryptionError("[secagg.crypto] authentication failed: ciphertext was tampered with") from exc
