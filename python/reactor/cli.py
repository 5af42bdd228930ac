"""The ``reactor`` command line: one subcommand group per area, registered below."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import reactor
from reactor.bench.cli import app as bench_app
from reactor.data.cli import app as data_app
from reactor.federated.cli import app as fl_app
from reactor.jobs.cli import app as jobs_app
from reactor.train.cli import app as train_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="reactor",
    help="Reactor: ML-training infrastructure with a native engine (MLForge).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Area groups. Each area owns a Typer app in reactor/<area>/cli.py and is added here.
app.add_typer(bench_app, name="bench", help="Benchmarks against numpy, torch and peer libraries.")
app.add_typer(data_app, name="data", help="Curate corpora: dedup, quality filter, pipelines.")
app.add_typer(fl_app, name="fl", help="Federated learning: simulated rounds, attacks, robust rules, DP.")
app.add_typer(jobs_app, name="jobs", help="Durable jobs: submit, run with the daemon, list, cancel, retry.")
app.add_typer(
    train_app, name="train", help="Fine-tune and align language models: SFT, DPO, RM, PPO, GRPO, RLOO, CAI."
)

console = Console()


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"reactor {reactor.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Reactor command line."""


def _optional_version(module: str) -> str:
    try:
        imported = __import__(module)
    except ImportError:
        return "not installed"
    return str(getattr(imported, "__version__", "unknown"))


@app.command()
def info(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Show the engine build (version, compiler, SIMD, CUDA, threads) and the Python environment."""
    from reactor.engine import build_info
    from reactor.paths import reactor_home

    details: dict[str, object] = {
        "reactor": reactor.__version__,
        **{f"engine.{key}": value for key, value in vars(build_info()).items()},
        "python": platform.python_version(),
        "numpy": _optional_version("numpy"),
        "torch": _optional_version("torch"),
        "platform": platform.platform(),
        "reactor_home": str(reactor_home()),
    }
    if as_json:
        typer.echo(json.dumps(details, indent=2))
        return
    table = Table(title="Reactor build info", show_header=False)
    for key, value in details.items():
        table.add_row(key, str(value))
    console.print(table)


@app.command()
def quickstart(
    out: Annotated[
        Path | None, typer.Option("--out", help="Output directory (default runs/quickstart).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML/YAML file changing any setting.")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: --set train.max_steps=30")
    ] = None,
) -> None:
    """Run the main job: corpus -> curation -> preference pairs -> DPO -> held-out evaluation -> report."""
    from reactor.quickstart import load_quickstart_config, run_quickstart
    from reactor.train.cli import require_training_stack
    from reactor.train.config import parse_overrides

    require_training_stack()
    settings = load_quickstart_config(config, out, parse_overrides(set_ or []))
    run_quickstart(settings, console=console)


def main() -> None:
    """Entry point of the ``reactor`` console script: Reactor's own errors print as one line."""
    from rich.markup import escape

    from reactor.errors import ReactorError

    try:
        app()
    except ReactorError as error:
        Console(stderr=True).print(
            f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
        )
        raise SystemExit(1) from None
