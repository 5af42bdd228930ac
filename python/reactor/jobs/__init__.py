"""Durable jobs on the engine's scheduler: a SQLite store, a crash-safe worker daemon, night-shift
windows, a load gate, retries with backoff, and executors for this machine and for Ray clusters.

Example::

    from reactor.jobs import Daemon, JobStore, submit_job

    store = JobStore()
    first = submit_job(store, ["python", "prepare.py"])
    submit_job(store, ["python", "train.py"], after=[first], retries=2, window="22:00-06:00")
    Daemon(store).run(until_idle=True)
"""

from __future__ import annotations

from reactor.jobs.backoff import retry_delay
from reactor.jobs.config import JobsSettings, QueueSettings
from reactor.jobs.daemon import Daemon
from reactor.jobs.executor import Executor, ExitStatus, Handle, LaunchSpec, LocalExecutor, make_executor
from reactor.jobs.loadgate import LoadGate
from reactor.jobs.ray_executor import RayJobsExecutor
from reactor.jobs.store import STATES, JobRecord, JobStore
from reactor.jobs.submit import prepare_job, submit_job
from reactor.jobs.windows import parse_window, window_intervals

__all__ = [
    "STATES",
    "Daemon",
    "Executor",
    "ExitStatus",
    "Handle",
    "JobRecord",
    "JobStore",
    "JobsSettings",
    "LaunchSpec",
    "LoadGate",
    "LocalExecutor",
    "QueueSettings",
    "RayJobsExecutor",
    "make_executor",
    "parse_window",
    "prepare_job",
    "retry_delay",
    "submit_job",
    "window_intervals",
]
