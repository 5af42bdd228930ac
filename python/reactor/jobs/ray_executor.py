"""Attempts as Ray Jobs: the command runs as a job's entrypoint on a Ray cluster, submitted through
``ray.job_submission.JobSubmissionClient`` (the cluster's dashboard address, e.g.
``http://127.0.0.1:8265``).

Crash safety. :meth:`RayJobsExecutor.launch` only picks a fresh submission id; the daemon stores it
(the attempt row's ``handle``) and only then calls :meth:`Handle.release`, which submits. So a daemon
killed at any moment leaves either no Ray job for the attempt or one whose id is on record: the next
daemon re-attaches to it by that id instead of submitting again, and an id Ray never heard of means
the attempt never started (it is requeued).

Logs. Ray merges the entrypoint's stdout and stderr; they are copied into the attempt's stdout log
every ``log_interval`` seconds while it runs and once when it ends.

Stopping. :meth:`Handle.terminate` and :meth:`Handle.kill` both call ``stop_job``: Ray sends SIGTERM to
the entrypoint and SIGKILL after its own grace (``RAY_JOB_STOP_WAIT_TIME_S``, 3 s by default).

Ray states: PENDING and RUNNING are running; SUCCEEDED is exit 0; FAILED carries the entrypoint's
exit code (or Ray's message when it never ran); STOPPED without a stop request from the daemon is a
failure ("stopped on the Ray cluster").
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import time
import uuid
from pathlib import Path
from typing import Any

from reactor.errors import InvalidArgumentError, UnavailableError
from reactor.jobs.executor import Executor, ExitStatus, Handle, LaunchSpec

__all__ = ["RayJobsExecutor"]

_TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def _client_class() -> Any:
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise UnavailableError(
            "[jobs.ray] the Ray executor needs Ray with its job server: pip install 'ray[default]'"
        ) from error
    return JobSubmissionClient


def check_address(address: Any) -> str:
    """The dashboard address, checked: ``http://host:port`` or ``https://...``."""
    if not isinstance(address, str) or not address.startswith(("http://", "https://")):
        raise InvalidArgumentError(
            "[jobs.ray] ray_address must be the Ray dashboard URL like http://127.0.0.1:8265, "
            f"got {address!r}"
        )
    return address.rstrip("/")


def entrypoint(spec: LaunchSpec) -> str:
    """The shell line Ray runs: ``cd`` into the job's directory (when set), then exec the command."""
    command = "exec " + shlex.join(spec.command)
    return f"cd {shlex.quote(spec.cwd)} && {command}" if spec.cwd else command


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


class _RayHandle(Handle):
    """One Ray job (submission id ``submission_id``); see the module docstring for the life cycle."""

    def __init__(
        self, client: Any, address: str, submission_id: str, spec: LaunchSpec, *, log_interval: float
    ) -> None:
        self._client, self.address, self.submission_id, self._spec = client, address, submission_id, spec
        self._log_interval = log_interval
        self._next_log = 0.0
        self._submit_error: str | None = None
        self.ref = json.dumps({"ray_submission_id": submission_id, "address": address})

    def submit_arguments(self) -> dict[str, Any]:
        """What :meth:`release` passes to ``JobSubmissionClient.submit_job``."""
        spec = self._spec
        args: dict[str, Any] = {
            "entrypoint": entrypoint(spec),
            "submission_id": self.submission_id,
            "runtime_env": {"env_vars": dict(spec.env)},
            "metadata": {"reactor_job": str(spec.job_id), "reactor_attempt": str(spec.attempt)},
        }
        if spec.cpus > 0:
            args["entrypoint_num_cpus"] = spec.cpus
        if spec.gpus > 0:
            args["entrypoint_num_gpus"] = spec.gpus
        if spec.memory_mib > 0:
            args["entrypoint_memory"] = int(spec.memory_mib * 2**20)
        return args

    def release(self) -> None:
        """Submit the job (its id is already on record). A failure is reported by :meth:`poll`."""
        try:
            self._client.submit_job(**self.submit_arguments())
        except Exception as error:  # the reply may be lost even though Ray took the job: poll checks
            self._submit_error = f"{type(error).__name__}: {error}"

    def _exists(self) -> bool | None:
        """Whether Ray knows the submission id (None: the cluster cannot tell us now)."""
        try:
            return any(job.submission_id == self.submission_id for job in self._client.list_jobs())
        except Exception:
            return None

    def _copy_logs(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now < self._next_log:
            return
        self._next_log = now + self._log_interval
        try:
            text = self._client.get_job_logs(self.submission_id)
        except Exception:  # logs are best effort while it runs; the final copy retries
            return
        _write_atomic(self._spec.stdout, text)

    def _ended(self, status: str) -> ExitStatus:
        self._copy_logs(force=True)
        if status == "SUCCEEDED":
            return ExitStatus(0)
        if status == "STOPPED":
            return ExitStatus(None, "stopped on the Ray cluster")
        info = self._client.get_job_info(self.submission_id)
        if info.driver_exit_code is not None:
            return ExitStatus(int(info.driver_exit_code))
        message = (info.message or "no message").strip().splitlines()[0]
        return ExitStatus(None, f"Ray job failed ({info.error_type or 'unknown'}): {message}")

    def poll(self) -> ExitStatus | None:
        try:
            status = self._client.get_job_status(self.submission_id).value
        except Exception:
            known = self._exists()
            if known is False:  # never reached Ray: a failed submit, or a daemon died before it
                if self._submit_error is not None:
                    error = f"submitting to Ray at {self.address} failed: {self._submit_error}"
                    return ExitStatus(None, error)
                return ExitStatus(None, "never submitted to Ray", lost=True)
            return None  # the cluster is unreachable right now: ask again next tick
        if status not in _TERMINAL:
            self._copy_logs(force=False)
            return None
        return self._ended(status)

    def _stop(self) -> None:
        # Not submitted (yet), already ended, or unreachable: poll tells which.
        with contextlib.suppress(Exception):
            self._client.stop_job(self.submission_id)

    def terminate(self) -> None:
        self._stop()

    def kill(self) -> None:
        self._stop()


class RayJobsExecutor(Executor):
    """Runs attempts as Ray Jobs on the cluster whose dashboard is at ``address``.

    Raises :class:`~reactor.errors.InvalidArgumentError` for a malformed address and
    :class:`~reactor.errors.UnavailableError` when Ray is not installed or the job server does not
    answer. ``log_interval``: seconds between log copies while a job runs.
    """

    name = "ray"

    def __init__(self, address: str, *, log_interval: float = 2.0) -> None:
        if not isinstance(log_interval, int | float) or not log_interval > 0:
            raise InvalidArgumentError(f"[jobs.ray] log_interval must be > 0 seconds, got {log_interval!r}")
        self.address = check_address(address)
        self.log_interval = float(log_interval)
        self._clients: dict[str, Any] = {}
        self._client(self.address)  # fail now, not at the first launch

    def _client(self, address: str) -> Any:
        if address not in self._clients:
            cls = _client_class()
            try:
                self._clients[address] = cls(address)
            except Exception as error:
                raise UnavailableError(
                    f"[jobs.ray] cannot reach the Ray job server at {address}: {error}"
                ) from error
        return self._clients[address]

    def launch(self, spec: LaunchSpec) -> Handle:
        """A handle with a fresh submission id; nothing is submitted before :meth:`Handle.release`."""
        submission_id = f"reactor-{spec.job_id}-{spec.attempt}-{uuid.uuid4().hex[:12]}"
        return _RayHandle(
            self._client(self.address), self.address, submission_id, spec, log_interval=self.log_interval
        )

    def attach(self, ref: str, spec: LaunchSpec) -> Handle:
        """Re-attach to a submission recorded by an earlier daemon (on the cluster it went to)."""
        try:
            data = json.loads(ref)
            submission_id, address = str(data["ray_submission_id"]), check_address(data["address"])
        except (ValueError, KeyError, TypeError, InvalidArgumentError):
            raise InvalidArgumentError(
                f"[jobs.ray] job {spec.job_id} attempt {spec.attempt} was not launched by the Ray executor "
                f"(handle {ref!r}); restart the daemon with the executor that launched it"
            ) from None
        return _RayHandle(self._client(address), address, submission_id, spec, log_interval=self.log_interval)
