"""The engine's scheduling policy (``mlforge/scheduler.h``): priority with aging, DRF fair share,
EASY backfilling, gang scheduling, preemption, time windows and dependency checks.

:mod:`reactor.jobs` builds its daemon on :class:`Scheduler`. Inputs are checked here so a wrong
type or value raises :class:`~reactor.errors.InvalidArgumentError` naming the parameter; the
engine checks the rest (unknown dependencies, cycles) and its errors arrive as the same classes.
Times are seconds (Unix time in :mod:`reactor.jobs`); windows are UTC ``(start, end)`` intervals.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from reactor import _mlforge
from reactor.engine._validate import check_finite
from reactor.errors import InvalidArgumentError

__all__ = ["Decision", "JobSpec", "NodeSpec", "Reservation", "Scheduler", "SchedulerStats", "TenantShare"]

JobState = Literal["pending", "running", "succeeded", "failed", "cancelled"]
_INT64 = 2**63


@dataclass(frozen=True)
class JobSpec:
    """One job as the policy sees it. Resource amounts are per node (memory in MiB by convention).

    ``deadline``: the job fails if ``now + expected_run_time`` passes it before it starts.
    ``max_run_time`` 0 takes the scheduler's default. ``windows``: UTC ``(start, end)`` seconds in
    which it may start (empty: any time). ``on_dependency_failure``: ``"fail"`` or ``"hold"``.
    """

    id: int
    priority: float = 0.0
    tenant: str = "default"
    cpus: float = 0.0
    memory: float = 0.0
    gpus: float = 0.0
    custom: Mapping[str, float] = field(default_factory=dict)
    gang_size: int = 1
    dependencies: Sequence[int] = ()
    submit_time: float = 0.0
    earliest_start: float = -math.inf
    deadline: float = math.inf
    expected_run_time: float = 0.0
    max_run_time: float = 0.0
    windows: Sequence[tuple[float, float]] = ()
    preemptible: bool = False
    on_dependency_failure: Literal["fail", "hold"] = "fail"


@dataclass(frozen=True)
class NodeSpec:
    """A machine and its capacities (same units as the jobs' requests)."""

    id: int
    cpus: float = 0.0
    memory: float = 0.0
    gpus: float = 0.0
    custom: Mapping[str, float] = field(default_factory=dict)


class Decision(NamedTuple):
    """``action`` ``"start"`` (on ``nodes``), ``"preempt"`` or ``"fail"`` (``reason`` says why).

    An immutable named tuple: a pass can return thousands, and a tuple is the cheapest record.
    """

    action: Literal["start", "preempt", "fail"]
    job: int
    nodes: tuple[int, ...] = ()
    reason: str = ""


# The engine hands back rows already shaped (action, job, nodes tuple, reason).
_decision = functools.partial(tuple.__new__, Decision)


@dataclass(frozen=True)
class Reservation:
    """The EASY reservation of the last pass (``job`` is None when there was none)."""

    job: int | None
    time: float
    nodes: tuple[int, ...]


@dataclass(frozen=True)
class SchedulerStats:
    """Counts of nodes and of jobs by state."""

    nodes: int
    pending: int
    running: int
    finished: int


@dataclass(frozen=True)
class TenantShare:
    """A tenant's weight and dominant share of the cluster in [0, 1]."""

    tenant: str
    weight: float
    dominant_share: float


def _int64(op: str, name: str, value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not -_INT64 <= int(value) < _INT64
    ):
        raise InvalidArgumentError(f"[{op}] {name} must be a 64-bit integer, got {value!r}")
    return int(value)


def _amount(op: str, name: str, value: Any) -> float:
    number = check_finite(op, name, value)
    if number < 0:
        raise InvalidArgumentError(f"[{op}] {name} must be >= 0, got {value!r}")
    return number


def _time(op: str, name: str, value: Any, allow: float) -> float:
    """A finite time, or exactly ``allow`` (``-inf`` / ``inf``)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value) == allow:
        return allow
    return check_finite(op, name, value)


def _custom(op: str, what: str, custom: Mapping[str, float]) -> list[tuple[str, float]]:
    if not isinstance(custom, Mapping):
        raise InvalidArgumentError(f"[{op}] {what}: custom must be a mapping name -> amount, got {custom!r}")
    out = []
    for name, amount in custom.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(
                f"[{op}] {what}: custom resource names must be non-empty strings, got {name!r}"
            )
        out.append((name, _amount(op, f"{what}: custom[{name!r}]", amount)))
    return out


def _job_tuple(job: JobSpec) -> tuple[Any, ...]:
    op = "scheduler.submit"
    if not isinstance(job, JobSpec):
        raise InvalidArgumentError(f"[{op}] jobs must be JobSpec instances, got {type(job).__name__}")
    what = f"job {job.id!r}"
    if not isinstance(job.tenant, str) or not job.tenant:
        raise InvalidArgumentError(f"[{op}] {what}: tenant must be a non-empty string, got {job.tenant!r}")
    gang = _int64(op, f"{what}: gang_size", job.gang_size)
    if not 1 <= gang < 2**31:
        raise InvalidArgumentError(f"[{op}] {what}: gang_size must be >= 1, got {job.gang_size!r}")
    if job.on_dependency_failure not in ("fail", "hold"):
        raise InvalidArgumentError(
            f"[{op}] {what}: on_dependency_failure must be 'fail' or 'hold', "
            f"got {job.on_dependency_failure!r}"
        )
    windows = []
    for window in job.windows:
        start, end = window
        windows.append(
            (check_finite(op, f"{what}: window start", start), check_finite(op, f"{what}: window end", end))
        )
    deadline = job.deadline
    return (
        _int64(op, "job id", job.id),
        check_finite(op, f"{what}: priority", job.priority),
        job.tenant,
        _amount(op, f"{what}: cpus", job.cpus),
        _amount(op, f"{what}: memory", job.memory),
        _amount(op, f"{what}: gpus", job.gpus),
        _custom(op, what, job.custom),
        gang,
        [_int64(op, f"{what}: dependency", dep) for dep in job.dependencies],
        check_finite(op, f"{what}: submit_time", job.submit_time),
        _time(op, f"{what}: earliest_start", job.earliest_start, -math.inf),
        math.inf if deadline is None else _time(op, f"{what}: deadline", deadline, math.inf),
        _amount(op, f"{what}: expected_run_time", job.expected_run_time),
        _amount(op, f"{what}: max_run_time", job.max_run_time),
        windows,
        bool(job.preemptible),
        job.on_dependency_failure,
    )


class Scheduler:
    """A deterministic scheduling policy over nodes and queued jobs; see ``mlforge/scheduler.h``.

    Example::

        s = Scheduler(tenant_weights={"research": 2.0})
        s.add_node(NodeSpec(id=0, cpus=8, memory=32768))
        s.submit([JobSpec(id=1, cpus=2), JobSpec(id=2, cpus=4, dependencies=[1])])
        s.schedule(now=time.time())   # [Decision(action="start", job=1, nodes=(0,))]

    Thread-safe (one lock in the engine); :meth:`schedule` and :meth:`submit` release the GIL.
    """

    def __init__(
        self,
        *,
        aging_per_hour: float = 1.0,
        max_aging: float = 100.0,
        fairshare_weight: float = 10.0,
        tenant_weights: Mapping[str, float] | None = None,
        backfill: bool = True,
        preemption: bool = True,
        default_max_run_time: float = 86400.0,
    ) -> None:
        op = "scheduler.config"
        weights = dict(tenant_weights or {})
        for tenant, weight in weights.items():
            if not isinstance(tenant, str):
                raise InvalidArgumentError(f"[{op}] tenant_weights keys must be strings, got {tenant!r}")
            check_finite(op, f"tenant_weights[{tenant!r}]", weight)
        self._engine = _mlforge.scheduler.Scheduler(
            check_finite(op, "aging_per_hour", aging_per_hour),
            check_finite(op, "max_aging", max_aging),
            check_finite(op, "fairshare_weight", fairshare_weight),
            [(tenant, float(weight)) for tenant, weight in weights.items()],
            bool(backfill),
            bool(preemption),
            check_finite(op, "default_max_run_time", default_max_run_time),
        )

    def add_node(self, node: NodeSpec) -> None:
        """Add a node (its id must be new)."""
        op = "scheduler.add_node"
        what = f"node {node.id!r}"
        self._engine.add_node(
            _int64(op, "node id", node.id),
            _amount(op, f"{what}: cpus", node.cpus),
            _amount(op, f"{what}: memory", node.memory),
            _amount(op, f"{what}: gpus", node.gpus),
            _custom(op, what, node.custom),
        )

    def submit(self, jobs: JobSpec | Iterable[JobSpec]) -> None:
        """Queue jobs, all or nothing: an unknown dependency or a cycle rejects the whole batch."""
        batch = [jobs] if isinstance(jobs, JobSpec) else list(jobs)
        self._engine.submit([_job_tuple(job) for job in batch])

    def add_finished(self, job_id: int, state: JobState) -> None:
        """Record a job that already ended, so others can depend on it."""
        self._engine.add_finished(_int64("scheduler.add_finished", "job id", job_id), state)

    def restore_running(self, job_id: int, nodes: Sequence[int], start_time: float) -> None:
        """Mark a pending job as running on ``nodes`` since ``start_time`` (state from a store)."""
        op = "scheduler.restore_running"
        self._engine.restore_running(
            _int64(op, "job id", job_id),
            [_int64(op, "node", n) for n in nodes],
            check_finite(op, "start_time", start_time),
        )

    def finish(self, job_id: int, outcome: JobState) -> None:
        """End a running or pending job as ``succeeded``, ``failed`` or ``cancelled``."""
        self._engine.finish(_int64("scheduler.finish", "job id", job_id), outcome)

    def requeue(self, job_id: int, earliest_start: float = -math.inf) -> None:
        """Put a running, failed or cancelled job back in the queue, not before ``earliest_start``."""
        op = "scheduler.requeue"
        self._engine.requeue(
            _int64(op, "job id", job_id), _time(op, "earliest_start", earliest_start, -math.inf)
        )

    def schedule(self, now: float) -> list[Decision]:
        """Run one pass at time ``now``; the decisions are already applied to the scheduler's state."""
        return list(map(_decision, self._engine.schedule(check_finite("scheduler.schedule", "now", now))))

    def state(self, job_id: int) -> JobState:
        """``pending``, ``running``, ``succeeded``, ``failed`` or ``cancelled``."""
        return self._engine.state(_int64("scheduler.state", "job id", job_id))

    def job_nodes(self, job_id: int) -> tuple[int, ...]:
        """The nodes a running job holds (empty otherwise)."""
        return tuple(self._engine.job_nodes(_int64("scheduler.job_nodes", "job id", job_id)))

    def reservation(self) -> Reservation:
        """The EASY reservation made by the last pass."""
        job, at, nodes = self._engine.reservation()
        return Reservation(None if job < 0 else job, at, tuple(nodes))

    def stats(self) -> SchedulerStats:
        """Counts of nodes and jobs by state."""
        return SchedulerStats(*self._engine.stats())

    def tenant_shares(self) -> list[TenantShare]:
        """Every tenant's weight and current dominant share."""
        return [TenantShare(*row) for row in self._engine.tenant_shares()]
