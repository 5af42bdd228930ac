from __future__ import annotations

from pathlib import Path

import pytest

from reactor.jobs import JobsSettings, JobStore


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    s = JobStore(tmp_path / "jobs" / "jobs.db")
    yield s
    s.close()


@pytest.fixture
def fast() -> JobsSettings:
    """Quick ticks, short grace and backoff, a 4-cpu node."""
    return JobsSettings(
        cpus=4, poll_interval=0.05, kill_grace=0.5, backoff_base=0.05, backoff_max=0.2, seed=1
    )


@pytest.fixture
def run_daemon():
    """Run a daemon until idle or a time limit; returns it."""
    from reactor.jobs import Daemon

    def run(store: JobStore, settings: JobsSettings, limit: float = 20.0, **kwargs):
        daemon = Daemon(store, settings, **kwargs)
        daemon.run(until_idle=True, max_seconds=limit)
        return daemon

    return run
