"""Reactor: ML-training infrastructure with a native engine (MLForge).

The compiled engine lives in the private extension ``reactor._mlforge``; use it through
``reactor.engine``. Areas (data, replay, federated, train, ...) are subpackages.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

from reactor import errors
from reactor.errors import ReactorError

try:
    __version__: str = _distribution_version("reactor")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["ReactorError", "__version__", "errors"]
