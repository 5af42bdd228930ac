"""Executors run job attempts. :class:`LocalExecutor` runs them as subprocesses on this machine;
:class:`reactor.jobs.ray_executor.RayJobsExecutor` submits them to a Ray cluster. Both hand back a
:class:`Handle` whose ``ref`` (a string) is stored, so a restarted daemon can :meth:`Executor.attach`
to an attempt it did not launch.
"""

from __future__ import annotations

import abc
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from reactor.jobs.process import is_alive, kill_group, process_start_time

__all__ = ["Executor", "ExitStatus", "Handle", "LaunchSpec", "LocalExecutor"]

_LAUNCHER = Path(__file__).with_name("launcher.py")


@dataclass(frozen=True)
class LaunchSpec:
    """One attempt to run: the command, where, with what environment, and its log files."""

    job_id: int
    attempt: int
    command: list[str]
    stdout: Path
    stderr: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


@dataclass(frozen=True)
class ExitStatus:
    """How an attempt ended. ``exit_code`` None: it never ran or its end is unknown (``lost``)."""

    exit_code: int | None
    error: str | None = None
    lost: bool = False


class Handle(abc.ABC):
    """A launched (or re-attached) attempt."""

    ref: str

    def release(self) -> None:  # noqa: B027 - optional hook
        """Let the attempt start (called once the store has recorded ``ref``)."""

    @abc.abstractmethod
    def poll(self) -> ExitStatus | None:
        """None while it runs, else how it ended."""

    @abc.abstractmethod
    def terminate(self) -> None:
        """Ask it to stop (SIGTERM to the process group, or the cluster's stop)."""

    @abc.abstractmethod
    def kill(self) -> None:
        """Stop it now (SIGKILL to the process group)."""


class Executor(abc.ABC):
    """Where attempts run."""

    name: str

    @abc.abstractmethod
    def launch(self, spec: LaunchSpec) -> Handle:
        """Start (or prepare to start, see :meth:`Handle.release`) one attempt."""

    @abc.abstractmethod
    def attach(self, ref: str, spec: LaunchSpec) -> Handle:
        """A handle for an attempt launched earlier, possibly by another daemon process."""


def _exit_file(spec: LaunchSpec) -> Path:
    return spec.stdout.with_suffix(".exit")


class _LocalHandle(Handle):
    def __init__(
        self,
        pid: int,
        start_time: int,
        exit_file: Path,
        popen: subprocess.Popen[bytes] | None,
        gate: int | None,
    ) -> None:
        self.pid, self.start_time, self.exit_file = pid, start_time, exit_file
        self._popen, self._gate = popen, gate
        self.ref = json.dumps({"pid": pid, "start_time": start_time, "exit_file": str(exit_file)})

    def release(self) -> None:
        if self._gate is not None:
            os.write(self._gate, b"1")
            os.close(self._gate)
            self._gate = None

    def _status_from_file(self) -> ExitStatus | None:
        try:
            data = json.loads(self.exit_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return ExitStatus(int(data["exit_code"]), data.get("error"))

    def poll(self) -> ExitStatus | None:
        if self._popen is not None:
            if self._popen.poll() is None:
                return None
        elif is_alive(self.pid, self.start_time):
            return None
        status = self._status_from_file()
        if status is not None:
            return status
        if self._popen is not None and self._popen.returncode == 125:
            return ExitStatus(None, "never started", lost=True)
        # The launcher died without recording (SIGKILL): make sure nothing of the job survives it.
        kill_group(self.pid, self.start_time)
        return ExitStatus(None, "the attempt's launcher was killed", lost=True)

    def terminate(self) -> None:
        kill_group(self.pid, self.start_time, signal.SIGTERM)

    def kill(self) -> None:
        kill_group(self.pid, self.start_time, signal.SIGKILL)


class LocalExecutor(Executor):
    """Subprocesses on this machine, each in its own session and process group, behind a launcher
    that records the exit status (see :mod:`reactor.jobs.launcher`).
    """

    name = "local"

    def launch(self, spec: LaunchSpec) -> Handle:
        """Start the launcher (held at its start gate until :meth:`Handle.release`)."""
        spec.stdout.parent.mkdir(parents=True, exist_ok=True)
        exit_file = _exit_file(spec)
        exit_file.unlink(missing_ok=True)
        read_fd, write_fd = os.pipe()
        try:
            with open(spec.stdout, "ab") as out, open(spec.stderr, "ab") as err:
                popen = subprocess.Popen(
                    [sys.executable, str(_LAUNCHER), str(read_fd), str(exit_file), "--", *spec.command],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=spec.cwd,
                    env={**os.environ, **spec.env},
                    pass_fds=(read_fd,),
                    start_new_session=True,
                )
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        start_time = process_start_time(popen.pid)
        return _LocalHandle(
            popen.pid, start_time if start_time is not None else -1, exit_file, popen, write_fd
        )

    def attach(self, ref: str, spec: LaunchSpec) -> Handle:
        """Watch an attempt by its pid, start time and exit file."""
        data = json.loads(ref)
        return _LocalHandle(int(data["pid"]), int(data["start_time"]), Path(data["exit_file"]), None, None)
