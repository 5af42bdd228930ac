"""Callbacks: hooks into the training loop, and the built-in ones (metrics to JSON Lines, to
TensorBoard, and a progress bar). Only the main rank runs the built-in writers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactor.atomic import atomic_write_text

if TYPE_CHECKING:
    from reactor.train.trainer import Trainer

__all__ = ["Callback", "JsonlMetrics", "ProgressBar", "TensorBoardMetrics"]


class Callback:
    """Override any hook; each receives the trainer. Raising ``KeyboardInterrupt`` stops the run."""

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first step (after a resume has restored the state)."""

    def on_step_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """After each optimizer step, with that step's training metrics."""

    def on_evaluate(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """After each evaluation, with ``eval/*`` metrics."""

    def on_checkpoint(self, trainer: Trainer, path: Path) -> None:
        """After a checkpoint is durably written."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last step (also after early stopping)."""


class JsonlMetrics(Callback):
    """Appends one JSON line per logged step and evaluation to ``metrics.jsonl``; on resume it
    first drops the lines past the checkpoint, so the file reads as one uninterrupted run.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_begin(self, trainer: Trainer) -> None:
        """Truncate lines from steps after the restored step."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) <= trainer.state.step:
                    kept.append(line)
            except json.JSONDecodeError:
                continue  # a line torn by a kill
        atomic_write_text(self.path, "".join(f"{line}\n" for line in kept))

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def on_step_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """Write the training metrics every ``log_every`` steps."""
        if (
            trainer.state.step % trainer.config.log_every == 0
            or trainer.state.step == trainer.config.max_steps
        ):
            self._append({"step": trainer.state.step, "split": "train", **metrics})

    def on_evaluate(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """Write the evaluation metrics."""
        self._append({"step": trainer.state.step, "split": "eval", **metrics})


class TensorBoardMetrics(Callback):
    """Scalars to TensorBoard event files under ``directory`` (needs the ``tensorboard`` package)."""

    def __init__(self, directory: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            from reactor.errors import UnavailableError

            raise UnavailableError(
                "[train.tensorboard] train.tensorboard = true needs the tensorboard package "
                "(pip install 'reactor[train]')"
            ) from error
        self._writer = SummaryWriter(log_dir=str(directory))

    def _write(self, step: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def on_step_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """Training scalars."""
        if trainer.state.step % trainer.config.log_every == 0:
            self._write(trainer.state.step, metrics)

    def on_evaluate(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """Evaluation scalars."""
        self._write(trainer.state.step, metrics)

    def on_train_end(self, trainer: Trainer) -> None:
        """Close the event file."""
        self._writer.close()


class ProgressBar(Callback):
    """A rich progress bar with the latest loss."""

    def __init__(self, description: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeRemainingColumn(),
            transient=False,
        )
        self._description = description
        self._task: Any = None

    def on_train_begin(self, trainer: Trainer) -> None:
        """Start the bar at the restored step."""
        self._progress.start()
        self._task = self._progress.add_task(
            self._description, total=trainer.config.max_steps, completed=trainer.state.step, status=""
        )

    def on_step_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """Advance and show the loss."""
        self._progress.update(
            self._task, completed=trainer.state.step, status=f"loss {metrics.get('loss', 0):.4f}"
        )

    def on_train_end(self, trainer: Trainer) -> None:
        """Stop the bar."""
        self._progress.stop()
