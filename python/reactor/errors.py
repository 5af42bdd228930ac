"""Reactor's exception hierarchy.

Every error Reactor raises on purpose derives from :class:`ReactorError` *and* from the built-in
exception a Python user would expect, so ``except ValueError`` keeps working. The engine's C++
errors (``mlforge/error.h``) are translated to these classes by the bindings:

=========================  =====================  =======================
C++ (mlforge)              Python                 also a
=========================  =====================  =======================
``InvalidArgument``        InvalidArgumentError   ValueError
``OutOfRange``             OutOfRangeError        IndexError
``Timeout``                TimeoutError           builtins.TimeoutError
``Unavailable``            UnavailableError       RuntimeError
``CapacityExceeded``       CapacityExceededError  MemoryError
``CorruptData``            CorruptDataError       ValueError
=========================  =====================  =======================

Dispatch on the type, never on the message text.
"""

from __future__ import annotations

import builtins

__all__ = [
    "CapacityExceededError",
    "ConfigError",
    "CorruptDataError",
    "InvalidArgumentError",
    "OutOfRangeError",
    "ReactorError",
    "TimeoutError",
    "UnavailableError",
]


class ReactorError(Exception):
    """Base class of every error Reactor raises deliberately."""


class InvalidArgumentError(ReactorError, ValueError):
    """A caller passed a value the operation cannot accept (dtype, shape, NaN, range...)."""


class OutOfRangeError(ReactorError, IndexError):
    """An index or key lies outside the valid range."""


class TimeoutError(ReactorError, builtins.TimeoutError):
    """A blocking operation did not finish before its deadline."""


class UnavailableError(ReactorError, RuntimeError):
    """A feature or device is not available in this build or on this machine (e.g. CUDA)."""


class CapacityExceededError(ReactorError, MemoryError):
    """A bounded resource (memory, table capacity, queue size) cannot take the request."""


class CorruptDataError(ReactorError, ValueError):
    """Persistent data failed validation: bad magic, version or checksum, or a torn write."""


class ConfigError(ReactorError, ValueError):
    """A configuration file, environment variable or option is invalid; the message names the field."""
