"""The training core every trainer shares.

A subclass says how to turn dataset indices into a batch (:meth:`Trainer.collate`), how much each
batch weighs in the mean (:meth:`Trainer.batch_weight`: pairs, tokens...) and what the summed loss
is (:meth:`Trainer.compute_loss`). The loop does the rest: gradient accumulation over
micro-batches, bf16 autocast, gradient clipping, warm-up + decay schedules, evaluation, early
stopping, callbacks, metrics, checkpoints with exact resume, DDP/FSDP under ``torchrun``, and the
micro-batch search that halves the micro-batch on out-of-memory while keeping the effective batch.

Every step's gradient is the mean over the whole global batch, whatever the micro-batch size and
the number of processes: each micro-batch's summed loss is divided by the step's total weight
(summed over all ranks), then multiplied by the world size because DDP averages gradients.
"""

from __future__ import annotations

import abc
import contextlib
import math
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from reactor.errors import InvalidArgumentError
from reactor.train.callbacks import Callback, JsonlMetrics, ProgressBar, TensorBoardMetrics
from reactor.train.checkpoint import (
    TrainerState,
    find_resumable,
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from reactor.train.config import TrainConfig
from reactor.train.data import batch_indices
from reactor.train.distributed import (
    all_gather_objects,
    all_reduce_sum,
    full_state_dicts,
    load_full_state_dicts,
    setup_distributed,
    wrap_model,
)
from reactor.train.memory import is_out_of_memory, peak_memory_mb, release_cached_memory
from reactor.train.models import enable_gradient_checkpointing
from reactor.train.schedule import lr_multiplier

__all__ = ["TrainResult", "Trainer"]

_PAYLOAD = ["model", "optimizer", "scheduler", "rng"]


@dataclass
class TrainResult:
    """What a finished run leaves behind."""

    state: TrainerState
    metrics: dict[str, float]
    output_dir: Path
    checkpoint: Path | None
    peak_memory_mb: float


def _chunks(items: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Trainer(abc.ABC):
    """Base class of the trainers; see the module docstring for what a subclass provides."""

    name = "train"

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        *,
        train_size: int,
        eval_size: int = 0,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if train_size < 1:
            raise InvalidArgumentError(
                f"[train.{self.name}] the training set is empty (train_size={train_size})"
            )
        self.config = config
        self.context = setup_distributed(config.device)
        if config.batch_size % self.context.world_size:
            raise InvalidArgumentError(
                f"[train.{self.name}] train.batch_size ({config.batch_size}) must be divisible by the "
                f"number of processes ({self.context.world_size})"
            )
        self.device = self.context.device
        self.train_size = train_size
        self.eval_size = eval_size
        self.local_batch_size = config.batch_size // self.context.world_size
        self.model = model.to(self.device)
        if config.gradient_checkpointing:
            enable_gradient_checkpointing(self.model)
        self.wrapped = wrap_model(self.model, self.context, config.strategy)
        parameters = [p for p in self.wrapped.parameters() if p.requires_grad]
        if not parameters:
            raise InvalidArgumentError(f"[train.{self.name}] the model has no trainable parameters")
        self.optimizer = torch.optim.AdamW(
            parameters,
            lr=config.learning_rate,
            betas=config.adam_betas,
            eps=config.adam_eps,
            weight_decay=config.weight_decay,
            fused=all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in parameters),
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_multiplier(config.lr_schedule, config.warmup_steps, config.max_steps)
        )
        self.state = TrainerState(
            micro_batch_size=min(config.micro_batch_size or self.local_batch_size, self.local_batch_size)
        )
        self.callbacks: list[Callback] = []
        if self.context.is_main:
            self.callbacks.append(JsonlMetrics(self.output_dir / "metrics.jsonl"))
            if config.tensorboard:
                self.callbacks.append(TensorBoardMetrics(self.output_dir / "tensorboard"))
            if config.progress:
                self.callbacks.append(ProgressBar(f"{self.name}"))
        self.callbacks.extend(callbacks)
        self.last_checkpoint: Path | None = None

    # ----------------------------------------------------------------- what a subclass provides
    @abc.abstractmethod
    def collate(self, indices: np.ndarray, split: str) -> Any:
        """The batch of dataset ``split`` (``"train"`` or ``"eval"``) examples at ``indices``."""

    @abc.abstractmethod
    def batch_weight(self, batch: Any) -> float:
        """How many units (pairs, tokens...) the batch's summed loss and metrics cover."""

    @abc.abstractmethod
    def compute_loss(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss summed over the batch's units, and metric sums over the same units."""

    # ----------------------------------------------------------------------------- properties
    def policy_model(self) -> nn.Module:
        """The model a run exports (the unwrapped model; online trainers narrow it to the policy)."""
        return self.model

    @property
    def output_dir(self) -> Path:
        """Where metrics, checkpoints and TensorBoard files go."""
        return self.config.output_dir

    @property
    def checkpoint_dir(self) -> Path:
        """Directory of the step checkpoints."""
        return self.output_dir / "checkpoints"

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast when configured (``auto``: on GPUs that support it), else a no-op."""
        precision = self.config.precision
        if precision == "auto":
            precision = "bf16" if self.device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
        if precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ---------------------------------------------------------------------------------- loop
    def train(self, resume: bool | str | Path = False) -> TrainResult:
        """Run until ``max_steps`` or early stopping. ``resume=True`` continues from the newest good
        checkpoint in ``output_dir`` (a fresh start when there is none); a path resumes from it.
        """
        if resume:
            self._resume(None if resume is True else Path(resume))
        for callback in self.callbacks:
            callback.on_train_begin(self)
        metrics: dict[str, float] = {}
        saved_at = self.state.step if self.last_checkpoint is not None else -1
        try:
            while self.state.step < self.config.max_steps and not self.state.stopped_early:
                metrics = self._train_step()
                self.state.step += 1
                self.state.examples_seen += self.config.batch_size
                for callback in self.callbacks:
                    callback.on_step_end(self, metrics)
                last = self.state.step == self.config.max_steps
                if self.eval_size and (
                    (self.config.eval_every and self.state.step % self.config.eval_every == 0) or last
                ):
                    metrics = {**metrics, **self.evaluate(update_best=True)}
                if self.config.checkpoint_every and self.state.step % self.config.checkpoint_every == 0:
                    self.save_checkpoint()
                    saved_at = self.state.step
            if saved_at != self.state.step:
                self.save_checkpoint()
        finally:
            for callback in self.callbacks:
                callback.on_train_end(self)
        metrics["memory/peak_mb"] = peak_memory_mb(self.device)
        return TrainResult(
            self.state, metrics, self.output_dir, self.last_checkpoint, metrics["memory/peak_mb"]
        )

    def _train_step(self) -> dict[str, float]:
        indices = batch_indices(self.train_size, self.config.batch_size, self.state.step, self.config.seed)
        local = indices[self.context.rank :: self.context.world_size]
        while True:
            try:
                return self._accumulate(local)
            except Exception as error:
                micro = self.state.micro_batch_size
                if not (
                    is_out_of_memory(error)
                    and self.config.auto_micro_batch
                    and micro > 1
                    and not self.context.enabled
                ):
                    raise
                self.optimizer.zero_grad(set_to_none=True)
                release_cached_memory(self.device)
                self.state.micro_batch_size = micro // 2
                warnings.warn(
                    f"[train.memory] out of memory with micro_batch_size={micro}; retrying the step with "
                    f"{micro // 2} and {math.ceil(len(local) / (micro // 2))} accumulation steps",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def _accumulate(self, local: np.ndarray) -> dict[str, float]:
        self.wrapped.train()
        batches = [self.collate(chunk, "train") for chunk in _chunks(local, self.state.micro_batch_size)]
        local_weight = torch.tensor([sum(self.batch_weight(b) for b in batches)], dtype=torch.float64)
        total_weight = float(all_reduce_sum(local_weight, self.context)[0])
        if total_weight <= 0:
            raise InvalidArgumentError(
                f"[train.{self.name}] a training batch has no loss tokens (step {self.state.step})"
            )
        sums: dict[str, float] = {}
        started = time.perf_counter()
        for position, batch in enumerate(batches):
            sync = position == len(batches) - 1 or not self.context.enabled
            no_sync = getattr(self.wrapped, "no_sync", None)
            context = contextlib.nullcontext() if sync or no_sync is None else no_sync()
            with context:
                with self.autocast():
                    loss_sum, metric_sums = self.compute_loss(self.wrapped, batch)
                (loss_sum.float() * (self.context.world_size / total_weight)).backward()
            for key, value in {"loss": loss_sum, **metric_sums}.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
        grad_norm = self._clip_and_step()
        keys = sorted(sums)
        reduced = all_reduce_sum(torch.tensor([sums[k] for k in keys], dtype=torch.float64), self.context)
        metrics = {
            key: float(value) / total_weight for key, value in zip(keys, reduced.tolist(), strict=True)
        }
        metrics["grad_norm"] = grad_norm
        metrics["learning_rate"] = self.optimizer.param_groups[0]["lr"]
        metrics["step_seconds"] = time.perf_counter() - started
        self.scheduler.step()
        return metrics

    def _clip_and_step(self) -> float:
        parameters = [p for p in self.wrapped.parameters() if p.grad is not None]
        max_norm = self.config.max_grad_norm if self.config.max_grad_norm is not None else float("inf")
        norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)
        norm = norm.full_tensor() if hasattr(norm, "full_tensor") else norm  # a DTensor under FSDP2
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(norm)

    @torch.no_grad()
    def evaluate(self, *, update_best: bool = False) -> dict[str, float]:
        """Metrics over the whole evaluation set, prefixed ``eval/``; updates early stopping when asked."""
        if not self.eval_size:
            return {}
        self.wrapped.eval()
        order = np.arange(self.eval_size)[self.context.rank :: self.context.world_size]
        size = max(1, self.state.micro_batch_size)
        sums: dict[str, float] = {}
        weight = 0.0
        for chunk in _chunks(order, size):
            batch = self.collate(chunk, "eval")
            weight += self.batch_weight(batch)
            with self.autocast():
                loss_sum, metric_sums = self.compute_loss(self.wrapped, batch)
            for key, value in {"loss": loss_sum, **metric_sums}.items():
                sums[key] = sums.get(key, 0.0) + float(value)
        keys = sorted(sums) if sums else ["loss"]
        reduced = all_reduce_sum(
            torch.tensor([sums.get(k, 0.0) for k in keys] + [weight], dtype=torch.float64), self.context
        )
        total = float(reduced[-1])
        metrics = {
            f"eval/{key}": float(value) / total
            for key, value in zip(keys, reduced[:-1].tolist(), strict=True)
        }
        if update_best:
            self._update_early_stopping(metrics)
        for callback in self.callbacks:
            callback.on_evaluate(self, metrics)
        return metrics

    def _update_early_stopping(self, metrics: dict[str, float]) -> None:
        key = self.config.metric_for_best
        if key not in metrics:
            if self.config.early_stopping_patience is None:
                return  # nothing depends on it
            raise InvalidArgumentError(
                f"[train.{self.name}] train.metric_for_best {key!r} is not among {sorted(metrics)}"
            )
        value = metrics[key]
        best = self.state.best_metric
        improved = best is None or (value > best if self.config.greater_is_better else value < best)
        if improved:
            self.state.best_metric = value
            self.state.evals_without_improvement = 0
        else:
            self.state.evals_without_improvement += 1
            patience = self.config.early_stopping_patience
            if patience is not None and self.state.evals_without_improvement >= patience:
                self.state.stopped_early = True

    # ---------------------------------------------------------------------------- checkpoints
    def save_checkpoint(self) -> Path | None:
        """Write a checkpoint of the current step (main rank); every rank's RNG state is kept."""
        rng = all_gather_objects(rng_state(), self.context)
        model_state, optimizer_state = full_state_dicts(self.wrapped, self.optimizer)
        path = None
        if self.context.is_main:
            payload = {
                "model": model_state,
                "optimizer": optimizer_state,
                "scheduler": self.scheduler.state_dict(),
                "rng": rng,
            }
            path = save_checkpoint(
                self.checkpoint_dir, state=self.state, payload=payload, keep=self.config.keep_checkpoints
            )
            self.last_checkpoint = path
            for callback in self.callbacks:
                callback.on_checkpoint(self, path)
        if self.context.enabled:
            torch.distributed.barrier()
        return path

    def _resume(self, path: Path | None) -> None:
        checkpoint = path if path is not None else find_resumable(self.checkpoint_dir)
        if checkpoint is None:
            return
        state, payload = load_checkpoint(checkpoint, _PAYLOAD)
        load_full_state_dicts(self.wrapped, self.optimizer, payload["model"], payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        rng = payload["rng"]
        restore_rng_state(rng[self.context.rank] if self.context.rank < len(rng) else rng[0])
        self.state = state
        self.last_checkpoint = checkpoint
