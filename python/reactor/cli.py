"""The ``reactor`` command line: one subcommand group per area, registered below."""

from __future__ import annotations

import json
import platform
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import reactor
from reactor.bench.cli import app as bench_app

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
    size: Annotated[
        int, typer.Option(min=1, help="Number of random values the demonstration generates.")
    ] = 10_000_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed for every random choice.")] = 0,
) -> None:
    """Run the quickstart: a short demonstration of the engine against numpy."""
    from reactor.quickstart import run_quickstart

    run_quickstart(size=size, seed=seed, console=console)


def main() -> None:
    """Entry point of the ``reactor`` console script."""
    app()
