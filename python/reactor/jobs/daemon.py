"""The worker daemon: asks the engine's scheduler what to start, runs attempts through an executor,
and records every change in the store.

Each tick: collect finished attempts; enforce timeouts and stop requests (SIGTERM, then SIGKILL
after the grace period); apply the load gate; renew leases (the heartbeat); then rebuild a
:class:`reactor.engine.scheduler.Scheduler` from the store and act on its decisions.

Crash safety. One daemon per ``$REACTOR_HOME`` (an ``flock``, released by the kernel when the
process dies, however it dies). A restarted daemon takes over every running job: an attempt whose
launcher still runs is adopted (its exit status is read from the launcher's exit file); one that
ended while no daemon watched is recorded from that file; one that never got past the start gate,
or whose launcher was killed, has its process group killed and goes back to the queue. So a job
either finishes once or is queued again, and never runs twice at the same time.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from reactor.engine.scheduler import JobSpec, NodeSpec, Scheduler
from reactor.errors import ReactorError, UnavailableError
from reactor.jobs.backoff import retry_delay
from reactor.jobs.config import JobsSettings
from reactor.jobs.executor import Executor, ExitStatus, Handle, LaunchSpec, make_executor
from reactor.jobs.loadgate import LoadGate, command_probe, loadavg_probe
from reactor.jobs.store import JobRecord, JobStore
from reactor.jobs.windows import window_intervals

__all__ = ["Daemon"]

_LOCAL_NODE = 0
_FINISHED = {"succeeded": "succeeded", "failed": "failed", "dead": "failed", "cancelled": "cancelled"}


@dataclass
class _Running:
    job: JobRecord
    attempt: int
    handle: Handle
    term_sent: float | None = None


class Daemon:
    """Runs the jobs of one store. ``clock`` and ``load_probe`` are injectable for tests.
    ``executor`` defaults to the one ``settings`` names (``local``, or ``ray`` at ``ray_address``).
    """

    def __init__(
        self,
        store: JobStore | None = None,
        settings: JobsSettings | None = None,
        executor: Executor | None = None,
        *,
        clock: Callable[[], float] = time.time,
        load_probe: Callable[[], float] | None = None,
    ) -> None:
        self.store = store or JobStore()
        self.settings = settings or JobsSettings()
        self.executor = executor or make_executor(self.settings.executor, self.settings.ray_address)
        self.clock = clock
        self.owner = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        probe = load_probe or (
            command_probe(self.settings.load_probe) if self.settings.load_probe else loadavg_probe
        )
        self.gate = LoadGate(self.settings.load_threshold, probe)
        self._running: dict[int, _Running] = {}
        self._lock_fd: int | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the one-daemon-per-home lock and adopt or requeue what a previous daemon left."""
        path = self.store.path.parent / "daemon.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UnavailableError(f"[jobs.daemon] another daemon is running for {self.store.path}") from None
        self._lock_fd = fd
        self._recover(self.clock())

    def release(self) -> None:
        """Drop the lock (running attempts keep running; the next daemon adopts them)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def run(self, *, until_idle: bool = False, max_seconds: float | None = None) -> None:
        """Tick until stopped (or, with ``until_idle``, until nothing is queued or running)."""
        self.acquire()
        started = time.monotonic()
        try:
            while True:
                self.tick()
                if until_idle and not self.store.list(("queued", "running")):
                    return
                if max_seconds is not None and time.monotonic() - started > max_seconds:
                    return
                time.sleep(self.settings.poll_interval)
        finally:
            self.release()

    def tick(self) -> None:
        """One round: reap, stop, gate, heartbeat, schedule."""
        now = self.clock()
        self._reap(now)
        self._enforce_stops(now)
        gate_open = self._apply_gate()
        self.store.renew(self.owner, self.settings.lease_seconds, now)
        self._schedule(now, gate_open)

    # -- recovery ------------------------------------------------------------------------------

    def _launch_spec(self, job: JobRecord, attempt: int) -> LaunchSpec:
        out, err = self.store.log_paths(job.id, attempt)
        checkpoints = self.store.path.parent / "checkpoints" / str(job.id)
        checkpoints.mkdir(parents=True, exist_ok=True)
        env = {
            **job.env,
            "REACTOR_JOB_ID": str(job.id),
            "REACTOR_JOB_ATTEMPT": str(attempt),
            "REACTOR_JOB_CHECKPOINT_DIR": str(checkpoints),
        }
        return LaunchSpec(
            job.id, attempt, list(job.command), out, err, env, job.cwd,
            cpus=job.cpus, gpus=job.gpus, memory_mib=job.memory,
        )  # fmt: skip

    def _recover(self, now: float) -> None:
        # Holding the lock proves every other owner is gone, so their leases are ours to take.
        for job in self.store.list(("running",)):
            if job.lease_owner == self.owner:
                continue
            if not self.store.take_over(
                job.id, job.lease_owner, self.owner, self.settings.lease_seconds, now
            ):
                continue
            job = self.store.get(job.id)
            if job.handle is None:  # claimed, never released through the start gate
                self._finish(
                    job, job.attempts, ExitStatus(None, "daemon stopped before the launch", True), now
                )
                continue
            handle = self.executor.attach(job.handle, self._launch_spec(job, job.attempts))
            self._running[job.id] = _Running(job, job.attempts, handle)

    # -- the tick ------------------------------------------------------------------------------

    def _reap(self, now: float) -> None:
        for job_id, run in list(self._running.items()):
            status = run.handle.poll()
            if status is not None:
                del self._running[job_id]
                self._finish(self.store.get(job_id), run.attempt, status, now)

    def _finish(self, job: JobRecord, attempt: int, status: ExitStatus, now: float) -> None:
        stop = job.stop_reason
        common = {"owner": self.owner, "exit_code": status.exit_code, "error": status.error, "now": now}
        if stop == "cancel":
            self.store.end_attempt(
                job.id, attempt, "cancelled", to_state="cancelled", reason="cancelled", **common
            )
        elif stop in ("preempt", "load") or (status.lost and stop != "timeout"):
            reason = {"preempt": "preempted", "load": "load gate closed"}.get(
                stop or "", status.error or "lost"
            )
            self.store.end_attempt(job.id, attempt, "requeued", to_state="queued", reason=reason, **common)
        elif status.exit_code == 0 and stop != "timeout":
            self.store.end_attempt(
                job.id, attempt, "succeeded", to_state="succeeded", reason="exit 0", **common
            )
        else:
            error = "timed out" if stop == "timeout" else (status.error or f"exit code {status.exit_code}")
            failures = job.failures + 1
            if failures <= job.retries:
                delay = retry_delay(
                    failures,
                    base=self.settings.backoff_base,
                    cap=self.settings.backoff_max,
                    jitter=self.settings.backoff_jitter,
                    seed=self.settings.seed,
                    job_id=job.id,
                )
                self.store.end_attempt(
                    job.id, attempt, "failed", to_state="queued", reason=f"{error}; retry in {delay:.2f}s",
                    failures=failures, last_error=error, not_before=now + delay, **common,
                )  # fmt: skip
            else:
                self.store.end_attempt(
                    job.id, attempt, "failed", to_state="dead", reason=f"{error}; no retries left",
                    failures=failures, last_error=error, **common,
                )  # fmt: skip

    def _enforce_stops(self, now: float) -> None:
        if not self._running:
            return
        current = {job.id: job for job in self.store.list(("running",))}
        for job_id, run in self._running.items():
            job = current.get(job_id)
            if job is None:
                continue
            run.job = job
            overdue = job.timeout is not None and job.started is not None and now - job.started > job.timeout
            if job.stop_reason is None and overdue:
                self.store.request_stop(job_id, "timeout")
                job.stop_reason = "timeout"
            if job.stop_reason is None:
                continue
            if run.term_sent is None:
                run.handle.terminate()
                run.term_sent = now
            elif now - run.term_sent >= self.settings.kill_grace:
                run.handle.kill()

    def _apply_gate(self) -> bool:
        own = sum(run.job.cpus for run in self._running.values() if self._heavy(run.job))
        is_open = self.gate.is_open(own)
        if not is_open:
            for job_id, run in self._running.items():
                if self._heavy(run.job) and run.job.stop_reason is None:
                    self.store.request_stop(job_id, "load")
                    run.job.stop_reason = "load"
        return is_open

    def _heavy(self, job: JobRecord) -> bool:
        queue = self.settings.queues.get(job.queue or "")
        return job.heavy or bool(queue and queue.heavy)

    def _spec(self, job: JobRecord, now: float, gate_open: bool) -> JobSpec:
        queue = self.settings.queues.get(job.queue or "")
        window, tz = job.window, job.tz
        if window is None and queue is not None and queue.window:
            window, tz = queue.window, queue.tz
        earliest = job.not_before if job.not_before is not None else -math.inf
        if self._heavy(job) and not gate_open:
            earliest = max(earliest, now + 1.0)
        return JobSpec(
            id=job.id,
            priority=job.priority + (queue.priority if queue else 0.0),
            tenant=job.tenant,
            cpus=min(job.cpus, self.settings.cpus),  # a request above the machine would wait forever
            memory=min(job.memory, self.settings.memory_mib),
            gpus=job.gpus,
            dependencies=job.after if job.state == "queued" else (),
            submit_time=job.submitted,
            earliest_start=earliest,
            max_run_time=job.timeout or 0.0,
            windows=window_intervals(window, tz, now) if window else (),
            preemptible=job.preemptible or self._heavy(job),
        )

    def _schedule(self, now: float, gate_open: bool) -> None:
        active = self.store.list(("queued", "running"))
        if not any(job.state == "queued" for job in active):
            return
        engine = Scheduler(
            aging_per_hour=self.settings.aging_per_hour,
            fairshare_weight=self.settings.fairshare_weight,
            tenant_weights=self.settings.tenant_weights,
        )
        engine.add_node(
            NodeSpec(
                _LOCAL_NODE, cpus=self.settings.cpus, memory=self.settings.memory_mib, gpus=self.settings.gpus
            )
        )
        known = {job.id for job in active}
        parents = {p for job in active if job.state == "queued" for p in job.after if p not in known}
        for parent, state in sorted(self.store.states(parents).items()):
            engine.add_finished(parent, _FINISHED.get(state, "failed"))
        engine.submit([self._spec(job, now, gate_open) for job in active])
        for job in active:
            if job.state == "running":
                engine.restore_running(job.id, [_LOCAL_NODE], job.started or now)
        decisions = engine.schedule(now)
        # Preempted attempts free their resources only when they exit: start nothing that needs them.
        preempting = False
        for decision in decisions:
            if decision.action == "preempt":
                preempting = True
                if decision.job in self._running:
                    self.store.request_stop(decision.job, "preempt")
            elif decision.action == "fail":
                self.store.change(
                    decision.job, "failed", decision.reason, expect=("queued",), last_error=decision.reason
                )
            elif not preempting:
                self._launch(self.store.get(decision.job), now)

    def _launch(self, job: JobRecord, now: float) -> None:
        attempt = self.store.claim(job.id, self.owner, self.settings.lease_seconds, now)
        if attempt is None:
            return
        spec = self._launch_spec(job, attempt)
        try:
            handle = self.executor.launch(spec)
        except (OSError, ReactorError) as error:
            self._finish(self.store.get(job.id), attempt, ExitStatus(127, f"launch failed: {error}"), now)
            return
        if not self.store.set_handle(job.id, attempt, self.owner, handle.ref):
            with contextlib.suppress(Exception):
                handle.kill()
            return
        handle.release()
        self._running[job.id] = _Running(self.store.get(job.id), attempt, handle)

    @property
    def running(self) -> list[int]:
        """Ids of the attempts this daemon watches."""
        return sorted(self._running)
