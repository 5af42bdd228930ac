"""The durable job store: SQLite in WAL mode under ``$REACTOR_HOME/jobs``.

Tables: ``jobs`` (the spec and current state), ``deps`` (``--after`` edges), ``attempts`` (one row per
launch: times, outcome, exit code, log files) and ``transitions`` (every state change with its
reason, so a job's history can be listed). Every state change is one ``BEGIN IMMEDIATE``
transaction that checks the state it expects, so two writers cannot both move a job.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reactor.errors import InvalidArgumentError, OutOfRangeError
from reactor.paths import reactor_home, state_dir

__all__ = ["ACTIVE_STATES", "STATES", "TERMINAL_STATES", "JobRecord", "JobStore", "default_store_path"]

STATES = ("queued", "running", "succeeded", "failed", "dead", "cancelled")
ACTIVE_STATES = ("queued", "running")
TERMINAL_STATES = ("succeeded", "failed", "dead", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  command TEXT NOT NULL,
  cwd TEXT,
  env TEXT NOT NULL DEFAULT '{}',
  executor TEXT NOT NULL DEFAULT 'local',
  state TEXT NOT NULL,
  priority REAL NOT NULL DEFAULT 0,
  tenant TEXT NOT NULL DEFAULT 'default',
  queue TEXT,
  cpus REAL NOT NULL DEFAULT 1,
  memory REAL NOT NULL DEFAULT 0,
  gpus REAL NOT NULL DEFAULT 0,
  retries INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  timeout REAL,
  window TEXT,
  tz TEXT NOT NULL DEFAULT 'UTC',
  heavy INTEGER NOT NULL DEFAULT 0,
  preemptible INTEGER NOT NULL DEFAULT 0,
  not_before REAL,
  submitted REAL NOT NULL,
  updated REAL NOT NULL,
  started REAL,
  last_error TEXT,
  exit_code INTEGER,
  lease_owner TEXT,
  lease_expires REAL,
  handle TEXT,
  stop_reason TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS deps (
  job INTEGER NOT NULL REFERENCES jobs(id),
  parent INTEGER NOT NULL REFERENCES jobs(id),
  PRIMARY KEY (job, parent)
);
CREATE TABLE IF NOT EXISTS attempts (
  job INTEGER NOT NULL REFERENCES jobs(id),
  number INTEGER NOT NULL,
  started REAL NOT NULL,
  ended REAL,
  outcome TEXT,
  exit_code INTEGER,
  error TEXT,
  owner TEXT,
  handle TEXT,
  stdout TEXT NOT NULL,
  stderr TEXT NOT NULL,
  PRIMARY KEY (job, number)
);
CREATE TABLE IF NOT EXISTS transitions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job INTEGER NOT NULL REFERENCES jobs(id),
  at REAL NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT ''
);
"""


@dataclass
class JobRecord:
    """One job as stored. ``state`` is one of :data:`STATES`; ``attempts`` counts launches and
    ``failures`` the failed ones (the retry budget is ``retries``).
    """

    id: int
    name: str
    command: list[str]
    state: str
    priority: float = 0.0
    tenant: str = "default"
    queue: str | None = None
    cpus: float = 1.0
    memory: float = 0.0
    gpus: float = 0.0
    retries: int = 0
    failures: int = 0
    attempts: int = 0
    timeout: float | None = None
    window: str | None = None
    tz: str = "UTC"
    heavy: bool = False
    preemptible: bool = False
    not_before: float | None = None
    submitted: float = 0.0
    updated: float = 0.0
    started: float | None = None
    last_error: str | None = None
    exit_code: int | None = None
    lease_owner: str | None = None
    lease_expires: float | None = None
    handle: str | None = None
    stop_reason: str | None = None
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    executor: str = "local"
    after: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


def _record(row: sqlite3.Row, after: list[int]) -> JobRecord:
    data = dict(row)
    data["command"] = json.loads(data["command"])
    data["env"] = json.loads(data["env"])
    data["heavy"] = bool(data["heavy"])
    data["preemptible"] = bool(data["preemptible"])
    return JobRecord(**data, after=after)


def default_store_path() -> Path:
    """``$REACTOR_HOME/jobs/jobs.db`` (nothing is created)."""
    return reactor_home() / "jobs" / "jobs.db"


class JobStore:
    """Jobs, attempts and transitions in one SQLite file (default ``$REACTOR_HOME/jobs/jobs.db``).

    Safe to use from several processes (the CLI and the daemon): SQLite's locking plus one
    ``BEGIN IMMEDIATE`` transaction per change. One instance per thread.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else state_dir("jobs") / "jobs.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed transition survives a power cut
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    @property
    def logs_dir(self) -> Path:
        """Where attempts' stdout, stderr and exit files live."""
        return self.path.parent / "logs"

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- reads ---------------------------------------------------------------------------------

    def _after(self, ids: Sequence[int] | None = None) -> dict[int, list[int]]:
        rows = self._db.execute("SELECT job, parent FROM deps ORDER BY job, parent").fetchall()
        out: dict[int, list[int]] = {}
        for row in rows:
            out.setdefault(row["job"], []).append(row["parent"])
        return out

    def get(self, job_id: int) -> JobRecord:
        """The job ``job_id``; :class:`OutOfRangeError` when there is none."""
        row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise OutOfRangeError(f"[jobs.store] no job with id {job_id}")
        after = [
            r[0] for r in self._db.execute("SELECT parent FROM deps WHERE job = ? ORDER BY parent", (job_id,))
        ]
        return _record(row, after)

    def list(self, states: Iterable[str] | None = None) -> list[JobRecord]:
        """Jobs in id order, optionally only those in ``states``."""
        wanted = tuple(states) if states is not None else STATES
        marks = ",".join("?" * len(wanted))
        rows = self._db.execute(f"SELECT * FROM jobs WHERE state IN ({marks}) ORDER BY id", wanted).fetchall()
        after = self._after()
        return [_record(row, after.get(row["id"], [])) for row in rows]

    def states(self, ids: Iterable[int]) -> dict[int, str]:
        """Current state of each of ``ids`` that exists."""
        wanted = list(ids)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        return dict(self._db.execute(f"SELECT id, state FROM jobs WHERE id IN ({marks})", wanted).fetchall())

    def history(self, job_id: int) -> list[dict[str, Any]]:
        """Every state change of a job, oldest first."""
        self.get(job_id)
        rows = self._db.execute(
            "SELECT at, from_state, to_state, reason FROM transitions WHERE job = ? ORDER BY seq", (job_id,)
        )
        return [dict(row) for row in rows]

    def attempts(self, job_id: int) -> list[dict[str, Any]]:
        """Every launch of a job, oldest first."""
        self.get(job_id)
        rows = self._db.execute("SELECT * FROM attempts WHERE job = ? ORDER BY number", (job_id,))
        return [dict(row) for row in rows]

    # -- changes -------------------------------------------------------------------------------

    def insert(self, fields: dict[str, Any], after: Sequence[int], now: float | None = None) -> int:
        """Add a queued job (its dependencies must exist); returns its id. One transaction."""
        now = time.time() if now is None else now
        data = dict(fields)
        data["command"] = json.dumps(list(data["command"]))
        data["env"] = json.dumps(dict(data.get("env") or {}))
        data.update(state="queued", submitted=now, updated=now)
        columns = ",".join(data)
        with self.transaction() as db:
            for parent in after:
                if db.execute("SELECT 1 FROM jobs WHERE id = ?", (parent,)).fetchone() is None:
                    raise InvalidArgumentError(f"[jobs.submit] --after: unknown job id {parent}")
            cursor = db.execute(
                f"INSERT INTO jobs ({columns}) VALUES ({','.join('?' * len(data))})", list(data.values())
            )
            job_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT OR IGNORE INTO deps (job, parent) VALUES (?, ?)", [(job_id, p) for p in after]
            )
            db.execute(
                "INSERT INTO transitions (job, at, from_state, to_state, reason)"
                " VALUES (?, ?, NULL, 'queued', 'submitted')",
                (job_id, now),
            )
        return job_id

    def change(
        self,
        job_id: int,
        to_state: str,
        reason: str,
        *,
        expect: Sequence[str],
        now: float | None = None,
        owner: str | None = None,
        **fields: Any,
    ) -> bool:
        """Move a job from one of ``expect`` to ``to_state`` (and set ``fields``), logging the
        transition, in one transaction. With ``owner``, only if that daemon holds the job's lease.
        Returns False (and changes nothing) when the job is not in an expected state.
        """
        now = time.time() if now is None else now
        with self.transaction() as db:
            return self._change(db, job_id, to_state, reason, expect, now, owner, fields)

    def _change(
        self,
        db: sqlite3.Connection,
        job_id: int,
        to_state: str,
        reason: str,
        expect: Sequence[str],
        now: float,
        owner: str | None,
        fields: dict[str, Any],
    ) -> bool:
        row = db.execute("SELECT state, lease_owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or row["state"] not in expect or (owner is not None and row["lease_owner"] != owner):
            return False
        values = {**fields, "state": to_state, "updated": now}
        assignments = ",".join(f"{key} = ?" for key in values)
        db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", [*values.values(), job_id])
        if row["state"] != to_state:
            db.execute(
                "INSERT INTO transitions (job, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?)",
                (job_id, now, row["state"], to_state, reason),
            )
        return True

    def claim(self, job_id: int, owner: str, lease_seconds: float, now: float | None = None) -> int | None:
        """Take a queued job for launching: running, leased to ``owner``, with a new attempt row.
        Returns the attempt number, or None if the job was no longer queued.
        """
        now = time.time() if now is None else now
        with self.transaction() as db:
            row = db.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()
            number = (row["attempts"] if row else 0) + 1
            fields = {
                "attempts": number,
                "lease_owner": owner,
                "lease_expires": now + lease_seconds,
                "started": now,
                "handle": None,
                "stop_reason": None,
                "exit_code": None,
            }
            if not self._change(db, job_id, "running", f"attempt {number}", ("queued",), now, None, fields):
                return None
            out, err = self.log_paths(job_id, number)
            db.execute(
                "INSERT INTO attempts (job, number, started, owner, stdout, stderr)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, number, now, owner, str(out), str(err)),
            )
        return number

    def log_paths(self, job_id: int, attempt: int) -> tuple[Path, Path]:
        """Stdout and stderr files of one attempt."""
        base = self.logs_dir / str(job_id)
        return base / f"{attempt}.out", base / f"{attempt}.err"

    def set_handle(self, job_id: int, attempt: int, owner: str, handle: str) -> bool:
        """Record how to find a launched attempt again (pid and start time, or a Ray submission id)."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET handle = ? WHERE id = ? AND state = 'running' AND lease_owner = ?"
                " AND attempts = ?",
                (handle, job_id, owner, attempt),
            )
            db.execute(
                "UPDATE attempts SET handle = ? WHERE job = ? AND number = ?", (handle, job_id, attempt)
            )
            return cursor.rowcount == 1

    def renew(self, owner: str, lease_seconds: float, now: float | None = None) -> None:
        """Heartbeat: extend the lease of every job ``owner`` holds."""
        now = time.time() if now is None else now
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET lease_expires = ? WHERE state = 'running' AND lease_owner = ?",
                (now + lease_seconds, owner),
            )

    def take_over(
        self, job_id: int, old_owner: str | None, owner: str, lease_seconds: float, now: float
    ) -> bool:
        """Move a running job's lease from a daemon that is gone to ``owner``."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET lease_owner = ?, lease_expires = ? WHERE id = ? AND state = 'running'"
                " AND lease_owner IS ?",
                (owner, now + lease_seconds, job_id, old_owner),
            )
            return cursor.rowcount == 1

    def end_attempt(
        self,
        job_id: int,
        attempt: int,
        outcome: str,
        *,
        to_state: str,
        reason: str,
        owner: str,
        exit_code: int | None = None,
        error: str | None = None,
        now: float | None = None,
        **fields: Any,
    ) -> bool:
        """Close an attempt and move its job out of ``running`` in one transaction (if ``owner``
        still holds it and it is still on this attempt).
        """
        now = time.time() if now is None else now
        with self.transaction() as db:
            row = db.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["attempts"] != attempt:
                return False
            values = {
                "lease_owner": None,
                "lease_expires": None,
                "handle": None,
                "exit_code": exit_code,
                **fields,
            }
            if not self._change(db, job_id, to_state, reason, ("running",), now, owner, values):
                return False
            db.execute(
                "UPDATE attempts SET ended = ?, outcome = ?, exit_code = ?, error = ?"
                " WHERE job = ? AND number = ?",
                (now, outcome, exit_code, error, job_id, attempt),
            )
        return True

    def request_stop(self, job_id: int, reason: str) -> bool:
        """Ask the daemon to stop a running job (it sends SIGTERM, then SIGKILL after the grace)."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET stop_reason = ? WHERE id = ? AND state = 'running'", (reason, job_id)
            )
            return cursor.rowcount == 1
