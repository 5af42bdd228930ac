"""What the online trainers (PPO, GRPO, RLOO) share: prompts, sampling, scoring, a replay queue
that hands out minibatches (each epoch a fresh permutation of the rollouts), and evaluation.

One training step = one batch of prompts: sample completions, score them, compute advantages,
then several epochs of minibatch updates. The learning-rate schedule advances once per step.
"""

from __future__ import annotations

import abc
import copy
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from reactor.errors import InvalidArgumentError
from reactor.replay import ReplayBuffer
from reactor.train.callbacks import Callback
from reactor.train.config import DataConfig, RolloutSettings, TrainConfig
from reactor.train.data import batch_indices
from reactor.train.distributed import all_reduce_sum
from reactor.train.models import causal_lm_logits
from reactor.train.rewards import RewardFunction, build_reward_function
from reactor.train.rollout import Completions, generate, token_logprobs
from reactor.train.tokenizer import Tokenizer
from reactor.train.trainer import Trainer

__all__ = ["OnlineTrainer"]


class OnlineTrainer(Trainer):
    """Base of the online trainers; subclasses implement :meth:`make_rollouts` and :meth:`compute_loss`."""

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Tokenizer,
        prompts: Sequence[Any],
        *,
        train: TrainConfig,
        data: DataConfig,
        rollout: RolloutSettings,
        reward_fn: RewardFunction | None,
        eval_prompts: Sequence[Any] = (),
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.tokenizer = tokenizer
        self.rollout = rollout

        def encode(records: Sequence[Any]) -> list[list[int]]:
            out = []
            for index, record in enumerate(records):
                prompt = record.get("prompt") if isinstance(record, dict) else record
                if prompt is None:
                    raise InvalidArgumentError(f"[train.{self.name}] prompt {index} has no 'prompt' field")
                ids = (
                    tokenizer.chat_prompt(prompt)
                    if not isinstance(prompt, str)
                    else [tokenizer.bos_id, *tokenizer.encode(prompt)]
                )
                out.append(ids[-data.max_prompt_length :])
            return out

        self.prompts = {"train": encode(prompts), "eval": encode(eval_prompts)}
        if train.strategy == "fsdp":
            raise InvalidArgumentError(
                f"[train.{self.name}] strategy 'fsdp' is not supported for online training "
                "(sampling needs the whole policy on every process); use ddp"
            )
        super().__init__(
            model,
            train,
            train_size=len(self.prompts["train"]),
            eval_size=len(self.prompts["eval"]),
            callbacks=callbacks,
        )
        self.reward_fn = reward_fn if reward_fn is not None else build_reward_function(rollout, self.device)

    # --------------------------------------------------------------------------- helpers
    def frozen_copy(self, model: nn.Module) -> nn.Module:
        """A reference model: a frozen copy of ``model`` on the training device."""
        return copy.deepcopy(model).requires_grad_(False).eval().to(self.device)

    def collate(self, indices: np.ndarray, split: str) -> list[list[int]]:
        """Prompt ids at ``indices``."""
        return [self.prompts[split][i] for i in indices]

    def sample(self, policy: nn.Module, prompts: list[list[int]], salt: int) -> Completions:
        """Completions from ``policy``, drawn with a generator keyed by (seed, step, rank, salt)
        (reproducible, and resumable from a checkpoint).
        """
        generator = torch.Generator(device=self.device)
        generator.manual_seed(
            hash((self.config.seed, self.state.step, self.context.rank, salt)) & (2**63 - 1)
        )
        with self.autocast():
            return generate(
                policy,
                prompts,
                max_new_tokens=self.rollout.max_new_tokens,
                temperature=self.rollout.temperature,
                eos_id=self.tokenizer.eos_id,
                pad_id=self.tokenizer.pad_id,
                generator=generator,
            )

    def texts(self, prompts: list[list[int]], completions: Completions) -> tuple[list[str], list[str]]:
        """Decoded prompts and completions (completion text stops at ``<eos>``)."""
        decoded = [
            self.tokenizer.decode(row[mask].tolist())
            for row, mask in zip(completions.completions, completions.completion_mask, strict=True)
        ]
        return [self.tokenizer.decode(p) for p in prompts], decoded

    def score(self, prompts: list[list[int]], completions: Completions) -> torch.Tensor:
        """Reward of every completion [B] (float32)."""
        prompt_texts, completion_texts = self.texts(prompts, completions)
        scores = torch.tensor(
            self.reward_fn(prompt_texts, completion_texts), dtype=torch.float32, device=self.device
        )
        if scores.shape != (len(prompt_texts),) or not bool(torch.isfinite(scores).all()):
            raise InvalidArgumentError(
                f"[train.{self.name}] the reward function must return one finite float per completion"
            )
        return scores

    def completion_logprobs(
        self,
        model: nn.Module,
        completions: Completions,
        *,
        with_values: bool = False,
        with_entropy: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Per-token log-probs and entropies of the completion tokens (temperature-scaled, float32), and
        the values of the states before each token when ``model`` has a value head.
        """
        start = completions.prompt_length
        kwargs = {
            "input_ids": completions.sequences,
            "attention_mask": completions.attention_mask,
            "position_ids": completions.position_ids(),
        }
        values = None
        if with_values:
            logits, all_values = model(**kwargs)
            values = all_values[:, start - 1 : -1]
        else:
            logits = causal_lm_logits(model, **kwargs)
        logps, entropy = token_logprobs(
            logits[:, start - 1 : -1],
            completions.completions,
            temperature=self.rollout.temperature,
            with_entropy=with_entropy,
        )
        return logps, entropy, values

    def minibatches(
        self, rollouts: dict[str, torch.Tensor], epochs: int, num_mini_batches: int
    ) -> Iterator[dict[str, torch.Tensor]]:
        """Each epoch, every rollout once, in a fresh permutation, ``num_mini_batches`` at a time —
        through a FIFO replay queue (``reactor.replay``) holding the step's rollouts.
        """
        rows = next(iter(rollouts.values())).shape[0]
        if rows % num_mini_batches:
            raise InvalidArgumentError(
                f"[train.{self.name}] {rows} rollouts per process do not split into "
                f"{num_mini_batches} minibatches"
            )
        arrays = {name: tensor.detach().cpu().numpy() for name, tensor in rollouts.items()}
        spec = {name: (array.dtype.name, array.shape[1:]) for name, array in arrays.items()}
        queue = ReplayBuffer.queue(rows, spec, seed=self.config.seed)
        shuffle = np.random.default_rng([self.config.seed, self.state.step, self.context.rank])
        size = rows // num_mini_batches
        for _ in range(epochs):
            order = shuffle.permutation(rows)
            queue.extend({name: array[order] for name, array in arrays.items()})
            for _ in range(num_mini_batches):
                batch = queue.sample(size)
                yield {name: torch.from_numpy(batch[name]).to(self.device) for name in arrays}

    # ---------------------------------------------------------------------------- the step
    @abc.abstractmethod
    def make_rollouts(
        self, prompts: list[list[int]]
    ) -> tuple[dict[str, torch.Tensor], dict[str, float], int, int]:
        """Sample and score; returns (rollout tensors, rollout metrics, epochs, minibatches)."""

    def batch_weight(self, batch: dict[str, torch.Tensor]) -> float:
        """Rows in a minibatch."""
        return float(next(iter(batch.values())).shape[0])

    def _train_step(self) -> dict[str, float]:
        started = time.perf_counter()
        indices = batch_indices(self.train_size, self.config.batch_size, self.state.step, self.config.seed)
        prompts = self.collate(indices[self.context.rank :: self.context.world_size], "train")
        self.wrapped.eval()
        with torch.no_grad():
            rollouts, metrics, epochs, num_mini_batches = self.make_rollouts(prompts)
        self.wrapped.train()
        sums: dict[str, float] = {}
        updates = 0
        for batch in self.minibatches(rollouts, epochs, num_mini_batches):
            with self.autocast():
                loss, parts = self.compute_loss(self.wrapped, batch)
            loss.backward()
            parts["grad_norm"] = torch.tensor(self._clip_and_step())
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + float(value)
            updates += 1
        metrics.update(self.reduce_mean({key: value / updates for key, value in sums.items()}))
        metrics["learning_rate"] = self.optimizer.param_groups[0]["lr"]
        metrics["step_seconds"] = time.perf_counter() - started
        self.scheduler.step()
        return metrics

    def reduce_mean(self, values: dict[str, float]) -> dict[str, float]:
        """Means over all ranks of per-rank means (equal shares per rank)."""
        keys = sorted(values)
        reduced = all_reduce_sum(torch.tensor([values[k] for k in keys], dtype=torch.float64), self.context)
        return {k: float(v) / self.context.world_size for k, v in zip(keys, reduced.tolist(), strict=True)}

    @torch.no_grad()
    def evaluate(self, *, update_best: bool = False) -> dict[str, float]:
        """Mean reward (``eval/score``) and completion length of samples for the evaluation prompts."""
        if not self.eval_size:
            return {}
        self.wrapped.eval()
        prompts = self.collate(
            np.arange(self.eval_size)[self.context.rank :: self.context.world_size], "eval"
        )
        completions = self.sample(self.policy_model(), prompts, salt=1)
        scores = self.score(prompts, completions)
        metrics = self.reduce_mean(
            {
                "eval/score": float(scores.mean()),
                "eval/completion_length": float(completions.completion_mask.sum(1).float().mean()),
            }
        )
        if update_best:
            self._update_early_stopping(metrics)
        for callback in self.callbacks:
            callback.on_evaluate(self, metrics)
        return metrics

    def policy_model(self) -> nn.Module:
        """The causal LM that generates (the unwrapped policy)."""
        return self.model
