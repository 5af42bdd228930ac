"""Errors of the secure aggregation protocol.

All derive from :class:`reactor.errors.ReactorError`; bad parameters raise
:class:`reactor.errors.InvalidArgumentError` (a ``ValueError``) like everywhere else in Reactor.
"""

from __future__ import annotations

from reactor.errors import ReactorError

__all__ = ["DecryptionError", "ProtocolViolationError", "SecAggAbortError", "SecAggError"]


class SecAggError(ReactorError):
    """Base class of the errors raised by :mod:`reactor.federated.secagg`."""


class SecAggAbortError(SecAggError, RuntimeError):
    """The round cannot finish: too few parties survived a round, or a secret cannot be reconstructed.

    ``round_name`` is the protocol round (``advertise_keys``, ``share_keys``,
    ``masked_input_collection``, ``unmasking``), ``survivors`` how many parties answered and
    ``required`` how many the threshold needs.
    """

    def __init__(self, message: str, *, round_name: str, survivors: int, required: int) -> None:
        super().__init__(message)
        self.round_name = round_name
        self.survivors = survivors
        self.required = required


class ProtocolViolationError(SecAggError, RuntimeError):
    """A party received a message that breaks the protocol (wrong round, inconsistent sets, replay...)."""


class DecryptionError(SecAggError, ValueError):
    """An authenticated ciphertext failed verification: it was tampered with or is misaddressed."""
