"""The Ray Jobs executor on a real local Ray cluster (head node with its dashboard/job server)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from reactor.errors import InvalidArgumentError, UnavailableError
from reactor.jobs import (
    Daemon,
    JobStore,
    LaunchSpec,
    LocalExecutor,
    RayJobsExecutor,
    make_executor,
    submit_job,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture(scope="module")
def ray_address():
    """``ray start --head --block`` in its own process group on free ports; stopped by that group."""
    pytest.importorskip("ray.job_submission")
    ray_cli = Path(sys.executable).with_name("ray")
    # With Ray installed these are failures, not skips: a skip once hid that the job server's
    # dependencies (ray[default]) were missing from the test environment.
    if not ray_cli.exists():
        pytest.fail(f"no ray command next to {sys.executable}")
    gcs, dashboard, agent, client = _free_ports(4)
    temp = tempfile.mkdtemp(prefix="rj", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    log = open(Path(temp) / "start.log", "w")  # noqa: SIM115 - closed in the teardown
    command = [
        str(ray_cli), "start", "--head", "--block", "--num-cpus=2", "--include-dashboard=true",
        f"--port={gcs}", f"--dashboard-port={dashboard}", f"--dashboard-agent-listen-port={agent}",
        f"--ray-client-server-port={client}", f"--temp-dir={temp}", "--disable-usage-stats",
    ]  # fmt: skip
    # A throwaway cluster on loopback ports: no auth token, so the test client needs none either.
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    head = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                RayJobsExecutor(address)
                break
            except UnavailableError:
                if head.poll() is not None or time.monotonic() > deadline:
                    tail = (Path(temp) / "start.log").read_text()[-600:]
                    pytest.fail(f"the Ray head and job server did not start (needs ray[default]): {tail}")
                time.sleep(1.0)
        yield address
    finally:
        if head.poll() is None:
            head.send_signal(signal.SIGTERM)  # --block stops every process it started
            try:
                head.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(head.pid, signal.SIGKILL)
                head.wait()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def _client(address: str):
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(address)


def _ray_jobs_of(address: str, store: JobStore, job_id: int) -> list:
    """Ray's jobs for the attempts of ``job_id`` (by the submission ids the store recorded)."""
    ids = {json.loads(a["handle"])["ray_submission_id"] for a in store.attempts(job_id) if a["handle"]}
    jobs = [j for j in _client(address).list_jobs() if j.submission_id in ids]
    assert all(j.metadata["reactor_job"] == str(job_id) for j in jobs)
    return sorted(jobs, key=lambda j: int(j.metadata["reactor_attempt"]))


def _ray_states(address: str, store: JobStore, job_id: int) -> list[str]:
    return [j.status.value for j in _ray_jobs_of(address, store, job_id)]


def _tick_until(daemon: Daemon, predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        daemon.tick()
        time.sleep(0.05)


def _daemon(store: JobStore, fast, address: str) -> Daemon:
    return Daemon(store, fast, RayJobsExecutor(address, log_interval=0.2))


@pytest.mark.ray
def test_a_job_succeeds_on_ray_with_its_logs(store, fast, ray_address):
    job_id = submit_job(store, ["sh", "-c", 'echo "out $REACTOR_JOB_ID"; echo err >&2'])
    _daemon(store, fast, ray_address).run(until_idle=True, max_seconds=60)
    job = store.get(job_id)
    assert (job.state, job.attempts, job.exit_code) == ("succeeded", 1, 0)
    attempt = store.attempts(job_id)[0]
    log = Path(attempt["stdout"]).read_text()
    assert f"out {job_id}\n" in log and "err\n" in log  # Ray merges both streams
    submission = json.loads(attempt["handle"])["ray_submission_id"]
    [ray_job] = _ray_jobs_of(ray_address, store, job_id)
    assert ray_job.submission_id == submission and ray_job.status.value == "SUCCEEDED"
    assert ray_job.metadata["reactor_attempt"] == "1"


@pytest.mark.ray
def test_a_failed_ray_job_is_retried(store, fast, ray_address, tmp_path):
    marker = tmp_path / "failed-once"
    script = f"if [ -e {marker} ]; then echo second; else touch {marker}; echo first; exit 3; fi"
    job_id = submit_job(store, ["sh", "-c", script], retries=1)
    _daemon(store, fast, ray_address).run(until_idle=True, max_seconds=90)
    job = store.get(job_id)
    assert (job.state, job.attempts, job.failures) == ("succeeded", 2, 1)
    first, second = store.attempts(job_id)
    assert (first["outcome"], first["exit_code"]) == ("failed", 3)
    assert (second["outcome"], second["exit_code"]) == ("succeeded", 0)
    assert "first" in Path(first["stdout"]).read_text() and "second" in Path(second["stdout"]).read_text()
    assert [j.status.value for j in _ray_jobs_of(ray_address, store, job_id)] == ["FAILED", "SUCCEEDED"]


@pytest.mark.ray
def test_cancel_stops_the_ray_job(store, fast, ray_address):
    script = "trap 'echo got TERM; exit 143' TERM; while true; do sleep 0.1; done"
    job_id = submit_job(store, ["sh", "-c", script])
    daemon = _daemon(store, fast, ray_address)
    daemon.acquire()
    try:
        _tick_until(daemon, lambda: _ray_states(ray_address, store, job_id) == ["RUNNING"])
        assert store.request_stop(job_id, "cancel")  # what `reactor jobs cancel` does
        _tick_until(daemon, lambda: store.get(job_id).state != "running")
    finally:
        daemon.release()
    assert store.get(job_id).state == "cancelled"
    [ray_job] = _ray_jobs_of(ray_address, store, job_id)
    assert ray_job.status.value == "STOPPED"
    assert "got TERM" in Path(store.attempts(job_id)[0]["stdout"]).read_text()


@pytest.mark.ray
def test_a_restarted_daemon_reattaches_instead_of_resubmitting(store, fast, ray_address, tmp_path):
    go = tmp_path / "go"
    job_id = submit_job(store, ["sh", "-c", f"while [ ! -e {go} ]; do sleep 0.1; done; echo finished"])
    first = _daemon(store, fast, ray_address)
    first.acquire()
    _tick_until(first, lambda: _ray_states(ray_address, store, job_id) == ["RUNNING"])
    first.release()  # the daemon is gone (as after kill -9): its job keeps running on Ray
    second = _daemon(store, fast, ray_address)
    second.acquire()
    try:
        assert second.running == [job_id]  # adopted by its submission id
        go.touch()
        _tick_until(second, lambda: store.get(job_id).state != "running")
    finally:
        second.release()
    job = store.get(job_id)
    assert (job.state, job.attempts) == ("succeeded", 1)
    assert "finished" in Path(store.attempts(job_id)[0]["stdout"]).read_text()
    assert len(_ray_jobs_of(ray_address, store, job_id)) == 1


@pytest.mark.ray
def test_a_daemon_killed_before_submitting_leaves_nothing_on_ray(store, fast, ray_address):
    job_id = submit_job(store, ["sh", "-c", "echo ran"])
    executor = RayJobsExecutor(ray_address)
    attempt = store.claim(job_id, "dead-daemon", 30.0)
    out, err = store.log_paths(job_id, attempt)
    handle = executor.launch(LaunchSpec(job_id, attempt, ["sh", "-c", "echo ran"], out, err))
    assert store.set_handle(job_id, attempt, "dead-daemon", handle.ref)  # recorded, never released
    _daemon(store, fast, ray_address).run(until_idle=True, max_seconds=60)
    job = store.get(job_id)
    assert (job.state, job.attempts) == ("succeeded", 2)
    assert store.attempts(job_id)[0]["outcome"] == "requeued"
    [ray_job] = _ray_jobs_of(ray_address, store, job_id)  # only the second attempt ever reached Ray
    assert ray_job.metadata["reactor_attempt"] == "2"


@pytest.mark.ray
def test_handles_of_another_executor_are_refused(tmp_path, ray_address):
    spec = LaunchSpec(1, 1, ["true"], tmp_path / "1.out", tmp_path / "1.err")
    local_ref = json.dumps({"pid": 1, "start_time": 1, "exit_file": str(tmp_path / "x")})
    with pytest.raises(InvalidArgumentError, match="not launched by the Ray executor"):
        RayJobsExecutor(ray_address).attach(local_ref, spec)
    ray_ref = json.dumps({"ray_submission_id": "reactor-1-1-abc", "address": ray_address})
    with pytest.raises(InvalidArgumentError, match="not launched by the local executor"):
        LocalExecutor().attach(ray_ref, spec)


def test_bad_executor_settings_are_clear_errors(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(InvalidArgumentError, match="executor must be 'local' or 'ray', got 'slurm'"):
        make_executor("slurm")
    with pytest.raises(InvalidArgumentError, match="needs ray_address"):
        make_executor("ray")
    with pytest.raises(
        InvalidArgumentError, match=r"ray_address must be the Ray dashboard URL.*'127\.0\.0\.1:8265'"
    ):
        RayJobsExecutor("127.0.0.1:8265")
    with pytest.raises(InvalidArgumentError, match="log_interval must be > 0"):
        RayJobsExecutor("http://127.0.0.1:8265", log_interval=0)
    pytest.importorskip("ray.job_submission")
    (port,) = _free_ports(1)  # nothing listens there
    with pytest.raises(UnavailableError, match=f"cannot reach the Ray job server at http://127.0.0.1:{port}"):
        RayJobsExecutor(f"http://127.0.0.1:{port}")


@pytest.mark.ray
def test_cli_daemon_with_the_ray_executor(tmp_path, ray_address):
    env = {**os.environ, "REACTOR_HOME": str(tmp_path / "home"), "REACTOR_JOBS_POLL_INTERVAL": "0.05"}

    def reactor(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "reactor", "jobs", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)

    job_id = reactor("submit", "--", "sh", "-c", "echo via ray").stdout.strip()
    bad = reactor("daemon", "--until-idle", "--executor", "slurm")
    assert bad.returncode != 0 and "--executor must be 'local' or 'ray', got 'slurm'" in bad.stderr
    run = reactor("daemon", "--until-idle", "--executor", "ray", "--ray-address", ray_address)
    assert run.returncode == 0, run.stderr
    [job] = json.loads(reactor("list", "--json").stdout)
    assert (job["id"], job["state"], job["attempts"]) == (int(job_id), "succeeded", 1)
    assert "via ray" in reactor("logs", job_id).stdout
    store = JobStore(Path(env["REACTOR_HOME"]) / "jobs" / "jobs.db")
    assert [j.status.value for j in _ray_jobs_of(ray_address, store, int(job_id))] == ["SUCCEEDED"]
    store.close()
