"""Where Reactor keeps state on disk.

Everything Reactor stores by default (SQLite stores, indexes, runs, caches) lives under one
directory: ``$REACTOR_HOME``, or ``~/.reactor`` when that is unset. Tests and users point it
anywhere by setting the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["reactor_home", "state_dir"]

_DEFAULT_HOME = "~/.reactor"


def reactor_home() -> Path:
    """Return the state directory (not created): ``$REACTOR_HOME`` or ``~/.reactor``."""
    return Path(os.environ.get("REACTOR_HOME") or _DEFAULT_HOME).expanduser().resolve()


def state_dir(*parts: str) -> Path:
    """Return ``reactor_home()/parts...``, creating it (and parents) if missing.

    Example: ``state_dir("runs", "sft-001")`` for one run's artifacts.
    """
    for part in parts:
        if not part or Path(part).is_absolute() or ".." in Path(part).parts:
            raise ValueError(
                f"state_dir: each part must be a relative name inside REACTOR_HOME, got {part!r}"
            )
    path = reactor_home().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
