"""``reactor jobs``: submit, list, show, logs, cancel, retry, and the daemon."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from reactor.config import load_config
from reactor.errors import InvalidArgumentError
from reactor.jobs.config import JobsSettings
from reactor.jobs.daemon import Daemon
from reactor.jobs.store import JobStore, default_store_path
from reactor.jobs.submit import entry_point_command, prepare_job

__all__ = ["app"]

app = typer.Typer(
    help="Durable jobs: submit commands, run them with the daemon (night shift, retries, load gate).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def _store() -> JobStore:
    return JobStore(default_store_path())


@app.command(context_settings={"allow_interspersed_args": False})
def submit(
    command: Annotated[
        list[str] | None, typer.Argument(help="The command and its arguments, after --.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label (default: the program name).")] = None,
    priority: Annotated[float, typer.Option(help="Larger runs first.")] = 0.0,
    cpus: Annotated[float, typer.Option(help="CPUs the job needs.")] = 1.0,
    memory: Annotated[float, typer.Option(help="Memory the job needs (MiB).")] = 0.0,
    gpus: Annotated[float, typer.Option(help="GPUs the job needs.")] = 0.0,
    after: Annotated[list[int] | None, typer.Option("--after", help="Run after this job succeeded.")] = None,
    window: Annotated[
        str | None, typer.Option(help="Start only inside HH:MM-HH:MM, e.g. 22:00-06:00.")
    ] = None,
    tz: Annotated[str, typer.Option(help="IANA time zone of --window.")] = "UTC",
    retries: Annotated[int, typer.Option(help="Retries after a failure (exponential backoff).")] = 0,
    timeout: Annotated[float | None, typer.Option(help="Seconds before SIGTERM (then SIGKILL).")] = None,
    tenant: Annotated[str, typer.Option(help="Fair-share account.")] = "default",
    queue: Annotated[str | None, typer.Option(help="A queue from the [jobs.queues] settings.")] = None,
    heavy: Annotated[bool, typer.Option(help="Run only while the load gate is open.")] = False,
    preemptible: Annotated[bool, typer.Option(help="May be preempted by higher-priority jobs.")] = False,
    entry: Annotated[
        str | None, typer.Option(help="Run a Python entry point module:function instead.")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Config file passed to --entry.")] = None,
) -> None:
    """Queue a job and print its id (alone) on stdout.

    Example: reactor jobs submit --retries 2 --window 22:00-06:00 -- python train.py
    """
    argv = list(command or [])
    if entry is not None:
        if argv:
            raise InvalidArgumentError("[jobs.submit] give either --entry or a command after --, not both")
        argv = entry_point_command(entry, str(config) if config else None)
    fields = prepare_job(
        argv, name=name, priority=priority, tenant=tenant, queue=queue, cpus=cpus, memory=memory, gpus=gpus,
        window=window, tz=tz, retries=retries, timeout=timeout, heavy=heavy, preemptible=preemptible,
        cwd=str(Path.cwd()),
    )  # fmt: skip
    parents = list(dict.fromkeys(after or []))
    path = default_store_path()
    if parents and not path.exists():
        raise InvalidArgumentError(f"[jobs.submit] --after: unknown job id {parents[0]}")
    store = JobStore(path)
    known = store.states(parents)
    for parent in parents:
        if parent not in known:
            raise InvalidArgumentError(f"[jobs.submit] --after: unknown job id {parent}")
    typer.echo(store.insert(fields, parents))


@app.command("list")
def list_jobs(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    state: Annotated[str | None, typer.Option(help="Only jobs in this state.")] = None,
) -> None:
    """List jobs (id, state, attempts, ...)."""
    path = default_store_path()
    jobs = JobStore(path).list((state,) if state else None) if path.exists() else []
    if as_json:
        typer.echo(json.dumps([job.to_dict() for job in jobs], indent=2))
        return
    table = Table(title="jobs")
    for column in ("id", "name", "state", "attempts", "priority", "last error"):
        table.add_column(column)
    for job in jobs:
        table.add_row(
            str(job.id), job.name, job.state, str(job.attempts), f"{job.priority:g}", job.last_error or ""
        )
    console.print(table)


@app.command()
def show(job_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A job's spec, state, attempts and state history."""
    store = _store()
    details = {
        **store.get(job_id).to_dict(),
        "history": store.history(job_id),
        "attempt_log": store.attempts(job_id),
    }
    if as_json:
        typer.echo(json.dumps(details, indent=2))
        return
    for key, value in details.items():
        if key in ("history", "attempt_log"):
            continue
        console.print(f"[bold]{key}[/]: {value}", highlight=False)
    for row in details["history"]:
        console.print(f"  {row['at']:.3f} {row['from_state']} -> {row['to_state']}: {row['reason']}")


@app.command()
def logs(
    job_id: int,
    attempt: Annotated[int | None, typer.Option(help="Attempt number (default: the latest).")] = None,
    stderr: Annotated[bool, typer.Option("--stderr", help="Print stderr instead of stdout.")] = False,
) -> None:
    """Print an attempt's stdout (or stderr)."""
    store = _store()
    attempts = store.attempts(job_id)
    if not attempts:
        raise InvalidArgumentError(f"[jobs.logs] job {job_id} has not run yet")
    chosen = attempts[-1] if attempt is None else next((a for a in attempts if a["number"] == attempt), None)
    if chosen is None:
        raise InvalidArgumentError(f"[jobs.logs] job {job_id} has no attempt {attempt}")
    path = Path(chosen["stderr" if stderr else "stdout"])
    if path.exists():
        sys.stdout.write(path.read_text(errors="replace"))


@app.command()
def cancel(job_id: int) -> None:
    """Cancel a queued job now, or ask the daemon to stop a running one (SIGTERM, then SIGKILL)."""
    store = _store()
    if store.change(job_id, "cancelled", "cancelled by user", expect=("queued",)):
        typer.echo(f"job {job_id} cancelled")
    elif store.request_stop(job_id, "cancel"):
        typer.echo(f"job {job_id} is being stopped")
    else:
        raise InvalidArgumentError(
            f"[jobs.cancel] job {job_id} is {store.get(job_id).state}, nothing to cancel"
        )


@app.command()
def retry(job_id: int) -> None:
    """Queue a dead, failed or cancelled job again with a fresh retry budget."""
    store = _store()
    if not store.change(
        job_id,
        "queued",
        "retried by user",
        expect=("dead", "failed", "cancelled"),
        failures=0,
        not_before=None,
    ):
        state = store.get(job_id).state
        raise InvalidArgumentError(f"[jobs.retry] job {job_id} is {state}; only dead, failed "
                                   "or cancelled jobs can be retried")  # fmt: skip
    typer.echo(f"job {job_id} queued")


@app.command()
def daemon(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit once nothing is queued or running.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML/YAML file with a [jobs] table.")
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="'local' (subprocesses) or 'ray' (Ray Jobs); default from settings.")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray dashboard URL for --executor ray, e.g. http://127.0.0.1:8265.")
    ] = None,
) -> None:
    """Run jobs: start what the scheduler picks, watch, retry, enforce timeouts and windows."""
    settings = load_config(JobsSettings, section="jobs", path=config)
    if executor is not None and executor not in ("local", "ray"):
        raise InvalidArgumentError(f"[jobs.daemon] --executor must be 'local' or 'ray', got {executor!r}")
    overrides = {"executor": executor, "ray_address": ray_address}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    Daemon(_store(), settings).run(until_idle=until_idle)
