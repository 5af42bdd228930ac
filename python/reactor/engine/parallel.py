"""Control of the engine's shared thread pool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reactor import _mlforge

__all__ = ["num_threads", "set_num_threads", "threads"]


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
