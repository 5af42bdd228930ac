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
import sys
from dataclasses import dataclass, field
from pathlib import Path

from reactor.errors import InvalidArgumentError
from reactor.jobs.process import is_alive, kill_group, process_start_time

__all__ = ["Executor", "ExitStatus", "Handle", "LaunchSpec", "LocalExecutor", "make_executor"]

_LAUNCHER = Path(__file__).with_name("launcher.py")


@dataclass(frozen=True)
class LaunchSpec:
    """One attempt to run: the command, where, with what environment, and its log files.
    ``cpus``, ``gpus`` and ``memory_mib`` are the job's request (the Ray executor passes them on).
    """

    job_id: int
    attempt: int
    command: list[str]
    stdout: Path
    stderr: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    cpus: float = 0.0
    gpus: float = 0.0
    memory_mib: float = 0.0


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
    def __init__(self, pid: int, start_time: int, exit_file: Path, child: bool, gate: int | None) -> None:
        self.pid, self.start_time, self.exit_file = pid, start_time, exit_file
        self._child, self._gate = child, gate
        self._returncode: int | None = None
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

    def _exited(self) -> bool:
        """Whether the launcher has exited (our own child is reaped; an adopted one is checked)."""
        if not self._child:
            return not is_alive(self.pid, self.start_time)
        if self._returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return False
            self._returncode = os.waitstatus_to_exitcode(status)
        return True

    def poll(self) -> ExitStatus | None:
        if not self._exited():
            return None
        status = self._status_from_file()
        if status is not None:
            return status
        if self._returncode == 125:
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
        if spec.cwd is not None and not Path(spec.cwd).is_dir():
            raise FileNotFoundError(f"working directory {spec.cwd!r} does not exist")
        read_fd, write_fd = os.pipe()
        # posix_spawn rather than Popen: the daemon reaps by pid (waitpid) and may leave an attempt
        # running for the next daemon, which a Popen object would complain about. Only the gate's
        # read end is made inheritable (the daemon is single-threaded: no other spawn can take it).
        os.set_inheritable(read_fd, True)
        try:
            with open(spec.stdout, "ab") as out, open(spec.stderr, "ab") as err:
                argv = [sys.executable, str(_LAUNCHER), str(read_fd), str(exit_file), spec.cwd or "", "--"]
                pid = os.posix_spawn(
                    sys.executable,
                    [*argv, *spec.command],
                    {**os.environ, **spec.env},
                    file_actions=[
                        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                        (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                        (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
                    ],
                    setsid=True,
                )
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        start_time = process_start_time(pid)
        return _LocalHandle(pid, start_time if start_time is not None else -1, exit_file, True, write_fd)

    def attach(self, ref: str, spec: LaunchSpec) -> Handle:
        """Watch an attempt by its pid, start time and exit file."""
        try:
            data = json.loads(ref)
            pid, start_time, exit_file = int(data["pid"]), int(data["start_time"]), Path(data["exit_file"])
        except (ValueError, KeyError, TypeError):
            raise InvalidArgumentError(
                f"[jobs.local] job {spec.job_id} attempt {spec.attempt} was not launched by the local "
                f"executor (handle {ref!r}); restart the daemon with the executor that launched it"
            ) from None
        return _LocalHandle(pid, start_time, exit_file, False, None)


def make_executor(kind: str, ray_address: str | None = None) -> Executor:
    """The executor named ``kind``: ``"local"`` or ``"ray"`` (which needs ``ray_address``, the
    dashboard URL, or the ``RAY_ADDRESS`` environment variable).
    """
    if kind == "local":
        return LocalExecutor()
    if kind == "ray":
        from reactor.jobs.ray_executor import RayJobsExecutor

        address = ray_address or os.environ.get("RAY_ADDRESS")
        if not address:
            raise InvalidArgumentError(
                "[jobs.daemon] executor 'ray' needs ray_address "
                "(--ray-address http://HOST:8265, or RAY_ADDRESS)"
            )
        return RayJobsExecutor(address)
    raise InvalidArgumentError(f"[jobs.daemon] executor must be 'local' or 'ray', got {kind!r}")
