"""``reactor fl simulate CONFIG.toml [--set section.key=value ...] [--out DIR]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Federated learning: simulate experiments in process.")
console = Console()


@app.command()
def simulate(
    config: Annotated[
        Path, typer.Argument(help="TOML/YAML file with data, sampling, attack, aggregation and run sections.")
    ],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: --set aggregation.rule=median")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory (default run.out_dir).")] = None,
) -> None:
    """Run a federated experiment: non-IID clients, sampling, attack, aggregation, DP; writes
    metrics.jsonl, metrics.json and accuracy.png.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from reactor.federated.config import load_fl_config
    from reactor.federated.simulation import run_simulation
    from reactor.train.cli import require_training_stack
    from reactor.train.config import parse_overrides

    require_training_stack()
    settings = load_fl_config(config, parse_overrides(set_ or []), out)
    progress = Progress(
        TextColumn("[bold]federated rounds"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not settings.run.progress,
    )

    with progress:
        task = progress.add_task("rounds", total=settings.run.rounds, status="")

        def on_round(metrics: dict[str, Any]) -> None:
            epsilon = "" if metrics["epsilon"] is None else f" eps {metrics['epsilon']:.3f}"
            status = f"acc {metrics['accuracy']:.3f} loss {metrics['loss']:.3f}{epsilon}"
            progress.update(task, advance=1, status=status)

        result = run_simulation(settings, on_round=on_round)
    summary = result.summary()
    console.print(
        f"[bold green]done[/] {summary['rounds_run']} round(s), accuracy {summary['final_accuracy']:.4f} "
        f"(best {summary['best_accuracy']:.4f})"
        + ("" if summary["epsilon"] is None else f", epsilon {summary['epsilon']:.4f}")
        + f"; {summary['stopped_reason']}; outputs in {result.out_dir}"
    )
    if result.stopped_reason == "interrupted":
        raise typer.Exit(code=130)
