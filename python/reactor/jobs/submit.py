"""Submitting jobs: every check happens before the store is touched, so bad input writes nothing."""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from reactor.errors import InvalidArgumentError
from reactor.jobs.store import JobStore
from reactor.jobs.windows import parse_window, resolve_tz

__all__ = ["entry_point_command", "prepare_job", "submit_job"]


def _check_amount(name: str, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise InvalidArgumentError(f"[jobs.submit] {name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_command(command: Sequence[str], cwd: str | None) -> list[str]:
    if not command:
        raise InvalidArgumentError("[jobs.submit] no command given (put it after --)")
    program = command[0]
    if os.sep in program:
        path = Path(cwd or ".", program)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise InvalidArgumentError(f"[jobs.submit] command {program!r} is not an executable file")
    elif shutil.which(program) is None:
        raise InvalidArgumentError(f"[jobs.submit] command {program!r} not found on PATH")
    return list(command)


def entry_point_command(entry_point: str, config: str | None = None) -> list[str]:
    """The command that runs ``module:function`` (see :mod:`reactor.jobs.entry`), checked now."""
    module_name, _, attribute = entry_point.partition(":")
    if not module_name or not attribute:
        raise InvalidArgumentError(
            f"[jobs.submit] --entry must look like 'package.module:function', got {entry_point!r}"
        )
    try:
        found = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise InvalidArgumentError(f"[jobs.submit] --entry: module {module_name!r} cannot be imported")
    command = [sys.executable, "-m", "reactor.jobs.entry", entry_point]
    if config is not None:
        if not Path(config).is_file():
            raise InvalidArgumentError(f"[jobs.submit] --config: no such file {config!r}")
        command.append(str(Path(config).resolve()))
    return command


def prepare_job(
    command: Sequence[str],
    *,
    name: str | None = None,
    priority: float = 0.0,
    tenant: str = "default",
    queue: str | None = None,
    cpus: float = 1.0,
    memory: float = 0.0,
    gpus: float = 0.0,
    window: str | None = None,
    tz: str = "UTC",
    retries: int = 0,
    timeout: float | None = None,
    heavy: bool = False,
    preemptible: bool = False,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Check a submission without touching any store; returns the job's stored fields.

    Raises :class:`InvalidArgumentError` naming the bad option and value (negative resource, bad
    window or zone, missing command). :func:`submit_job` adds the ``after`` check and writes.
    """
    if not math.isfinite(priority):
        raise InvalidArgumentError(f"[jobs.submit] --priority must be finite, got {priority!r}")
    fields = {
        "cpus": _check_amount("--cpus", cpus),
        "memory": _check_amount("--memory", memory),
        "gpus": _check_amount("--gpus", gpus),
    }
    if retries < 0:
        raise InvalidArgumentError(f"[jobs.submit] --retries must be >= 0, got {retries}")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise InvalidArgumentError(f"[jobs.submit] --timeout must be > 0 seconds, got {timeout!r}")
    if window is not None:
        parse_window(window)
    resolve_tz(tz)
    if not tenant:
        raise InvalidArgumentError("[jobs.submit] --tenant must not be empty")
    if cwd is not None and not Path(cwd).is_dir():
        raise InvalidArgumentError(f"[jobs.submit] --cwd: no such directory {cwd!r}")
    argv = _check_command(command, cwd)
    fields.update(
        name=name or Path(argv[0]).name,
        command=argv,
        priority=float(priority),
        tenant=tenant,
        queue=queue,
        retries=int(retries),
        timeout=timeout,
        window=window,
        tz=tz,
        heavy=int(heavy),
        preemptible=int(preemptible),
        cwd=cwd,
        env=dict(env or {}),
    )
    return fields


def submit_job(
    store: JobStore, command: Sequence[str], *, after: Sequence[int] = (), **options: object
) -> int:
    """Validate (see :func:`prepare_job`) and queue a job after the jobs ``after``; returns its id.
    An unknown ``after`` id raises :class:`InvalidArgumentError` with nothing written.
    """
    fields = prepare_job(command, **options)  # type: ignore[arg-type]
    known = store.states(after)
    for parent in after:
        if parent not in known:
            raise InvalidArgumentError(f"[jobs.submit] --after: unknown job id {parent}")
    return store.insert(fields, list(dict.fromkeys(after)))
