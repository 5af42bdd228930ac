from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reactor.jobs import JobStore

REACTOR = [sys.executable, "-m", "reactor"]


def reactor(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*REACTOR, *args], capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "REACTOR_HOME": str(tmp_path / "home"),
        "REACTOR_JOBS_POLL_INTERVAL": "0.05",
        "REACTOR_JOBS_BACKOFF_BASE": "0.05",
        "REACTOR_JOBS_CPUS": "4",
    }


def test_cli_contract_end_to_end(env, tmp_path):
    first = reactor("jobs", "submit", "--", "sh", "-c", "echo one", env=env).stdout
    assert first.strip().isdigit() and first == f"{first.strip()}\n"  # the id alone
    second = reactor("jobs", "submit", "--after", first.strip(), "--retries", "1", "--", "sh", "-c", "exit 4",
                     env=env).stdout.strip()  # fmt: skip
    reactor("jobs", "daemon", "--until-idle", env=env)
    jobs = {job["id"]: job for job in json.loads(reactor("jobs", "list", "--json", env=env).stdout)}
    assert jobs[int(first)]["state"] == "succeeded" and jobs[int(first)]["attempts"] == 1
    assert jobs[int(second)]["state"] == "dead" and jobs[int(second)]["attempts"] == 2
    assert reactor("jobs", "logs", first.strip(), env=env).stdout == "one\n"
    assert "dead" in reactor("jobs", "show", second, env=env).stdout
    reactor("jobs", "retry", second, env=env)
    assert json.loads(reactor("jobs", "list", "--json", env=env).stdout)[1]["state"] == "queued"
    reactor("jobs", "cancel", second, env=env)
    assert json.loads(reactor("jobs", "list", "--json", env=env).stdout)[1]["state"] == "cancelled"


BAD_SUBMITS = [
    ["--after", "99", "--", "true"],
    ["--cpus", "-2", "--", "true"],
    ["--window", "25:99-x", "--", "true"],
    ["--", "no-such-command-anywhere"],
]


def test_bad_submit_is_one_line_error_and_writes_nothing(env):
    db = Path(env["REACTOR_HOME"]) / "jobs" / "jobs.db"
    for args in BAD_SUBMITS:
        result = reactor("jobs", "submit", *args, env=env, check=False)
        assert result.returncode != 0 and result.stdout == "", args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not db.exists()
    reactor("jobs", "submit", "--", "true", env=env)
    for args in BAD_SUBMITS:
        assert reactor("jobs", "submit", *args, env=env, check=False).returncode != 0
    assert len(JobStore(db).list()) == 1


def test_kill_9_the_daemon_at_random_moments(env, tmp_path):
    """Every job succeeds exactly once and no two copies of a job ever run at the same time.

    The jobs sleep (0.5-0.9 s each, two at a time), so the queue holds at least 4 s of work while each
    daemon lives at most 1.2 s: several kills land mid-work however fast the machine is.
    """
    work = tmp_path / "work"
    work.mkdir()
    script = (
        'd="$W/lock.$REACTOR_JOB_ID"; mkdir "$d" 2>/dev/null || echo "$REACTOR_JOB_ID" >> "$W/double"; '
        'sleep 0.$(( RANDOM % 5 + 5 )); echo "$REACTOR_JOB_ID" >> "$W/done"; rmdir "$d"'
    )
    env = {**env, "W": str(work), "REACTOR_JOBS_CPUS": "2"}
    ids = []
    for k in range(12):
        after = ["--after", ids[k - 4]] if k >= 4 and k % 3 == 0 else []
        ids.append(
            reactor(
                "jobs", "submit", *after, "--cpus", "1", "--", "bash", "-c", script, env=env
            ).stdout.strip()
        )
    rng = random.Random(5)
    deadline = time.monotonic() + 40
    kills_mid_work = 0
    while time.monotonic() < deadline:
        daemon = subprocess.Popen([*REACTOR, "jobs", "daemon"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(rng.uniform(0.3, 1.2))
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        store = JobStore(Path(env["REACTOR_HOME"]) / "jobs" / "jobs.db")
        states = [job.state for job in store.list()]
        store.close()
        if all(state == "succeeded" for state in states):
            break
        kills_mid_work += 1
    reactor("jobs", "daemon", "--until-idle", env=env)  # finish whatever is left, no more kills
    jobs = json.loads(reactor("jobs", "list", "--json", env=env).stdout)
    assert [job["state"] for job in jobs] == ["succeeded"] * len(ids)
    done = (work / "done").read_text().split()
    assert sorted(done, key=int) == sorted(ids, key=int), f"after {kills_mid_work} kills"
    assert not (work / "double").exists()
    assert kills_mid_work >= 3
