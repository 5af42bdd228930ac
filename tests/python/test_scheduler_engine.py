from __future__ import annotations

import math

import pytest

from reactor.engine.scheduler import JobSpec, NodeSpec, Scheduler
from reactor.errors import InvalidArgumentError, OutOfRangeError


def test_backfill_and_reservation_through_the_facade():
    s = Scheduler(aging_per_hour=0, fairshare_weight=0)
    s.add_node(NodeSpec(0, cpus=8, memory=100))
    s.submit(JobSpec(1, cpus=6, priority=10, max_run_time=100))
    assert [d.job for d in s.schedule(0.0)] == [1]
    s.submit([JobSpec(2, cpus=8, priority=5, max_run_time=100), JobSpec(3, cpus=2, max_run_time=50),
              JobSpec(4, cpus=2, max_run_time=500)])  # fmt: skip
    decisions = s.schedule(10.0)
    assert [(d.action, d.job, d.nodes) for d in decisions] == [("start", 3, (0,))]
    r = s.reservation()
    assert (r.job, r.time, r.nodes) == (2, 100.0, (0,))
    assert s.stats().running == 2 and s.state(4) == "pending"


@pytest.mark.parametrize(
    ("job", "match"),
    [
        (JobSpec(1, cpus=-1), "cpus must be >= 0, got -1"),
        (JobSpec(1, memory=math.nan), "memory must be a finite number"),
        (JobSpec(1, gpus="two"), "gpus must be a finite number, got 'two'"),
        (JobSpec(1, dependencies=[42]), "job 1 depends on unknown job 42"),
        (JobSpec(1, gang_size=0), "gang_size must be >= 1"),
        (JobSpec(1, windows=[(5.0, 1.0)]), "window"),
        (JobSpec(1, custom={"lic": -2}), "custom"),
        (JobSpec(2**70), "job id must be a 64-bit integer"),
    ],
)
def test_bad_jobs_name_the_parameter_and_value(job, match):
    s = Scheduler()
    with pytest.raises(InvalidArgumentError, match=match):
        s.submit(job)
    assert s.stats().pending == 0


def test_cycle_is_rejected_naming_the_jobs_and_nothing_is_added():
    s = Scheduler()
    with pytest.raises(InvalidArgumentError, match="dependency cycle: 1 -> 3 -> 2 -> 1"):
        s.submit([JobSpec(1, dependencies=[3]), JobSpec(2, dependencies=[1]), JobSpec(3, dependencies=[2])])
    assert s.stats().pending == 0
    with pytest.raises(OutOfRangeError):
        s.state(1)
    with pytest.raises(InvalidArgumentError):
        s.finish(1, "exploded")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        s.schedule(math.inf)
