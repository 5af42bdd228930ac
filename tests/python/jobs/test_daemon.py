from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reactor.jobs import Daemon, retry_delay, submit_job


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tick_until(daemon: Daemon, predicate, timeout: float = 60.0) -> None:
    # Generous: on a loaded 2-core CI machine a subprocess may take seconds to start or stop.
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        daemon.tick()
        time.sleep(0.03)


def test_runs_a_command_and_streams_logs(store, fast, run_daemon):
    job_id = submit_job(store, ["sh", "-c", "echo out; echo err >&2"])
    run_daemon(store, fast)
    job = store.get(job_id)
    assert (job.state, job.attempts, job.exit_code) == ("succeeded", 1, 0)
    attempt = store.attempts(job_id)[0]
    assert Path(attempt["stdout"]).read_text() == "out\n"
    assert Path(attempt["stderr"]).read_text() == "err\n"
    assert [h["to_state"] for h in store.history(job_id)] == ["queued", "running", "succeeded"]


def test_retries_with_backoff_then_dead_letter(store, fast, run_daemon):
    job_id = submit_job(store, ["sh", "-c", "echo try; exit 7"], retries=2)
    run_daemon(store, fast)
    job = store.get(job_id)
    assert (job.state, job.attempts, job.failures, job.last_error) == ("dead", 3, 3, "exit code 7")
    reasons = [h["reason"] for h in store.history(job_id)]
    assert sum("retry in" in r for r in reasons) == 2 and "no retries left" in reasons[-1]
    attempts = store.attempts(job_id)
    gaps = [b["started"] - a["ended"] for a, b in itertools.pairwise(attempts)]
    expected = [retry_delay(n, base=0.05, cap=0.2, jitter=0.5, seed=1, job_id=job_id) for n in (1, 2)]
    assert all(gap >= want - 1e-6 for gap, want in zip(gaps, expected, strict=True))


def test_backoff_is_exponential_seeded_and_capped():
    delays = [retry_delay(n, base=1.0, cap=8.0, jitter=0.0, seed=0, job_id=1) for n in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    a = [retry_delay(n, base=1.0, cap=100, jitter=0.5, seed=3, job_id=9) for n in range(1, 5)]
    assert a == [retry_delay(n, base=1.0, cap=100, jitter=0.5, seed=3, job_id=9) for n in range(1, 5)]
    assert a != [retry_delay(n, base=1.0, cap=100, jitter=0.5, seed=4, job_id=9) for n in range(1, 5)]
    assert all(0.5 * 2 ** (n - 1) <= d <= 1.5 * 2 ** (n - 1) for n, d in enumerate(a, start=1))


def test_timeout_sends_sigterm_then_sigkill(store, fast, run_daemon, tmp_path):
    # The job ignores SIGTERM (after noting it), so only SIGKILL after the grace period ends it.
    script = "trap 'echo got TERM' TERM; while true; do sleep 0.05; done"
    job_id = submit_job(store, ["sh", "-c", script], timeout=0.5)
    started = time.monotonic()
    run_daemon(store, fast)
    elapsed = time.monotonic() - started
    job = store.get(job_id)
    assert (job.state, job.last_error) == ("dead", "timed out")
    assert "got TERM" in Path(store.attempts(job_id)[0]["stdout"]).read_text()
    assert 0.5 + fast.kill_grace <= elapsed < 8.0


def test_cancel_a_running_job(store, fast):
    job_id = submit_job(store, ["sleep", "30"])
    daemon = Daemon(store, fast)
    daemon.acquire()
    try:
        tick_until(daemon, lambda: store.get(job_id).state == "running" and daemon.running)
        assert store.request_stop(job_id, "cancel")
        tick_until(daemon, lambda: store.get(job_id).state != "running")
    finally:
        daemon.release()
    assert store.get(job_id).state == "cancelled"
    assert store.attempts(job_id)[0]["outcome"] == "cancelled"


def test_dependencies_order_and_failure_cascade(store, fast, run_daemon, tmp_path):
    marker = tmp_path / "first-done"
    first = submit_job(store, ["sh", "-c", f"sleep 0.2; touch {marker}"])
    second = submit_job(store, ["test", "-e", str(marker)], after=[first])  # fails if run too early
    broken = submit_job(store, ["false"])
    child = submit_job(store, ["true"], after=[broken])
    grandchild = submit_job(store, ["true"], after=[child])
    run_daemon(store, fast)
    assert store.get(second).state == "succeeded"
    assert store.get(broken).state == "dead"
    assert store.get(child).state == "failed" and "dependency" in store.get(child).last_error
    assert store.get(grandchild).state == "failed"
    assert store.get(child).attempts == 0


def test_window_waits_for_the_night(store, fast):
    clock = FakeClock(datetime(2025, 6, 10, 12, 0, tzinfo=UTC).timestamp())
    job_id = submit_job(store, ["true"], window="22:00-06:00", tz="UTC")
    daemon = Daemon(store, fast, clock=clock)
    daemon.acquire()
    try:
        for _ in range(3):
            daemon.tick()
        assert store.get(job_id).state == "queued"
        clock.now = datetime(2025, 6, 11, 1, 30, tzinfo=UTC).timestamp()  # 01:30, inside
        tick_until(daemon, lambda: store.get(job_id).state == "succeeded")
    finally:
        daemon.release()


def test_load_gate_holds_and_preempts_heavy_jobs(store, fast, tmp_path):
    load = [5.0]
    settings = fast.model_copy(update={"load_threshold": 1.0})
    script = 'echo "$REACTOR_JOB_ATTEMPT" >> "$REACTOR_JOB_CHECKPOINT_DIR/attempts"; sleep 30'
    job_id = submit_job(store, ["sh", "-c", script], heavy=True, cpus=1)
    light = submit_job(store, ["true"])
    daemon = Daemon(store, settings, load_probe=lambda: load[0])
    daemon.acquire()
    try:
        tick_until(daemon, lambda: store.get(light).state == "succeeded")
        assert store.get(job_id).state == "queued"  # load 5 > 1: the heavy job waits
        load[0] = 0.5
        tick_until(daemon, lambda: store.get(job_id).state == "running")
        load[0] = 3.0  # load returns: preempt, back to the queue
        tick_until(daemon, lambda: store.get(job_id).state == "queued")
        assert store.history(job_id)[-1]["reason"] == "load gate closed"
        load[0] = 0.0
        tick_until(daemon, lambda: store.get(job_id).state == "running" and store.get(job_id).attempts == 2)
        checkpoint = store.path.parent / "checkpoints" / str(job_id) / "attempts"
        tick_until(daemon, lambda: checkpoint.exists() and checkpoint.read_text().split() == ["1", "2"])
        store.request_stop(job_id, "cancel")
        tick_until(daemon, lambda: store.get(job_id).state == "cancelled")
    finally:
        daemon.release()
    assert store.get(job_id).failures == 0  # preemption is not a failure


def test_priority_preemption_requeues_the_victim(store, fast):
    victim = submit_job(store, ["sleep", "30"], cpus=4, priority=0, preemptible=True)
    daemon = Daemon(store, fast)
    daemon.acquire()
    try:
        tick_until(daemon, lambda: store.get(victim).state == "running")
        urgent = submit_job(store, ["true"], cpus=4, priority=50)
        tick_until(daemon, lambda: store.get(urgent).state == "succeeded")
        assert "preempted" in [h["reason"] for h in store.history(victim)]
        tick_until(daemon, lambda: store.get(victim).state == "running")
        store.request_stop(victim, "cancel")
        tick_until(daemon, lambda: store.get(victim).state == "cancelled")
    finally:
        daemon.release()


def test_one_daemon_per_home(store, fast):
    from reactor.errors import UnavailableError

    first = Daemon(store, fast)
    first.acquire()
    try:
        with pytest.raises(UnavailableError):
            Daemon(store, fast).acquire()
    finally:
        first.release()


def test_python_entry_point(store, fast, run_daemon, tmp_path):
    from reactor.jobs.submit import entry_point_command

    config = tmp_path / "cfg.json"
    out = tmp_path / "written"
    config.write_text(f'{{"path": "{out}", "text": "from config"}}')
    (tmp_path / "jobmod.py").write_text(
        "from pathlib import Path\ndef main(cfg):\n    Path(cfg['path']).write_text(cfg['text'])\n"
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        command = entry_point_command("jobmod:main", str(config))
    finally:
        sys.path.remove(str(tmp_path))
    job_id = submit_job(store, command, env={"PYTHONPATH": str(tmp_path)})
    run_daemon(store, fast)
    assert store.get(job_id).state == "succeeded", Path(store.attempts(job_id)[0]["stderr"]).read_text()
    assert out.read_text() == "from config"
