from __future__ import annotations

import sqlite3

import pytest

from reactor.errors import InvalidArgumentError, OutOfRangeError
from reactor.jobs import submit_job


def test_submit_records_job_and_history(store):
    job_id = submit_job(store, ["true"], priority=3, retries=2)
    job = store.get(job_id)
    assert (job.state, job.priority, job.retries, job.attempts) == ("queued", 3.0, 2, 0)
    assert [h["to_state"] for h in store.history(job_id)] == ["queued"]
    assert (
        store.path.with_name("jobs.db-wal").exists()
        or store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    )


def test_state_change_is_checked_and_logged(store):
    job_id = submit_job(store, ["true"])
    assert store.change(job_id, "cancelled", "by test", expect=("queued",))
    assert not store.change(job_id, "running", "nope", expect=("queued",))  # no longer queued
    history = store.history(job_id)
    assert [(h["from_state"], h["to_state"], h["reason"]) for h in history][-1] == (
        "queued",
        "cancelled",
        "by test",
    )


def test_claim_is_exclusive(store, tmp_path):
    from reactor.jobs import JobStore

    other = JobStore(store.path)  # a second connection, as another process would have
    job_id = submit_job(store, ["true"])
    assert store.claim(job_id, "a", 30.0) == 1
    assert other.claim(job_id, "b", 30.0) is None
    assert store.get(job_id).lease_owner == "a"
    assert len(store.attempts(job_id)) == 1
    other.close()


def test_failed_transaction_changes_nothing(store):
    job_id = submit_job(store, ["true"])
    with pytest.raises(sqlite3.OperationalError), store.transaction() as db:
        db.execute("UPDATE jobs SET state = 'running' WHERE id = ?", (job_id,))
        db.execute("SELECT * FROM no_such_table")
    assert store.get(job_id).state == "queued"


def test_bad_submissions_write_nothing(store):
    with pytest.raises(InvalidArgumentError, match="unknown job id 42"):
        submit_job(store, ["true"], after=[42])
    with pytest.raises(InvalidArgumentError, match="--cpus"):
        submit_job(store, ["true"], cpus=-1)
    with pytest.raises(InvalidArgumentError, match="not found on PATH"):
        submit_job(store, ["definitely-not-a-command-xyz"])
    with pytest.raises(InvalidArgumentError, match="window"):
        submit_job(store, ["true"], window="22:00-late")
    with pytest.raises(InvalidArgumentError, match="time zone"):
        submit_job(store, ["true"], window="22:00-06:00", tz="Mars/Olympus")
    assert store.list() == []
    with pytest.raises(OutOfRangeError):
        store.get(1)
