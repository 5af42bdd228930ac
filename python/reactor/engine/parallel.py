"""Control of the engine's shared thread pool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reactor import _mlforge
from reactor.config import CoreSettings, load_config

__all__ = ["apply_core_settings", "num_threads", "set_num_threads", "threads"]


def num_threads() -> int:
    """Size of the pool (the calling thread included). Set at start-up by ``REACTOR_NUM_THREADS``."""
    return int(_mlforge.num_threads())


def set_num_threads(n: int) -> None:
    """Resize the pool to ``n`` threads (1..1024). Results never depend on this number."""
    _mlforge.set_num_threads(n)


@contextmanager
def threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` engine threads, restoring the previous size afterwards."""
    previous = num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(previous)


def apply_core_settings(settings: CoreSettings | None = None) -> None:
    """Size the pool from ``core.num_threads`` (config file, ``REACTOR_*`` environment), if set.

    Called when ``reactor.engine`` is imported; call it again after changing the configuration.
    """
    settings = settings if settings is not None else load_config(CoreSettings, section="core")
    if settings.num_threads is not None:
        set_num_threads(settings.num_threads)
