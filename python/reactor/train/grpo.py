"""Group policy optimisation: GRPO (Shao et al. 2024, with DAPO's asymmetric clipping and loss
aggregations) and RLOO (Ahmadian et al. 2024), as TRL defines them.

Per step: ``num_generations`` completions per prompt; advantages from the group's rewards —
GRPO: (r - group mean) / (std + 1e-4) (``scale_rewards``: group std, batch std or none); RLOO:
r - mean of the other k - 1 rewards, with the KL to the reference (summed over tokens) taken out of
r first. Token-level clipped surrogate with [1 - epsilon, 1 + epsilon_high]; GRPO adds
beta x KL (k3) to the per-token loss; aggregated per ``loss_type`` (grpo, bnpo, dr_grpo, dapo).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from reactor.train.callbacks import Callback
from reactor.train.config import GRPOConfig
from reactor.train.distributed import all_reduce_sum
from reactor.train.online import OnlineTrainer
from reactor.train.rewards import RewardFunction
from reactor.train.rollout import Completions, kl_estimate, masked_mean
from reactor.train.tokenizer import Tokenizer

__all__ = ["GRPOTrainer", "RLOOTrainer"]


class GRPOTrainer(OnlineTrainer):
    """GRPO on prompts; ``train.batch_size`` counts prompts (each sampled ``num_generations`` times).
    Logged: ``reward``, ``reward_std``, ``clip_ratio``, ``loss``, ``completions/mean_length``;
    with beta > 0 ``kl`` (GRPO: the mean per-token k3, as TRL logs it; RLOO: the mean summed k1
    of a sequence); ``policy/entropy`` when old log-probs are computed (off-policy, or RLOO with
    beta > 0).
    """

    name = "grpo"
    kl_in_loss = True  # GRPO adds beta x KL per token to the loss; RLOO subtracts it from the reward

    def __init__(
        self,
        policy: nn.Module,
        tokenizer: Tokenizer,
        prompts: Sequence[Any],
        *,
        config: GRPOConfig,
        reward_fn: RewardFunction | None = None,
        ref_model: nn.Module | None = None,
        eval_prompts: Sequence[Any] = (),
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.settings = config.grpo
        self.max_new_tokens = config.rollout.max_new_tokens
        super().__init__(
            policy,
            tokenizer,
            prompts,
            train=config.train,
            data=config.data,
            rollout=config.rollout,
            reward_fn=reward_fn,
            eval_prompts=eval_prompts,
            callbacks=callbacks,
        )
        needs_reference = self.settings.beta > 0
        self.ref_model = (
            self.frozen_copy(ref_model if ref_model is not None else policy) if needs_reference else None
        )

    def advantages(self, rewards: torch.Tensor, kl_per_sequence: torch.Tensor | None) -> torch.Tensor:
        """Group-normalised advantages [P, G] from rewards [P, G]."""
        centred = rewards - rewards.mean(dim=1, keepdim=True)
        if self.settings.scale_rewards == "group":
            return centred / (rewards.std(dim=1, keepdim=True) + 1e-4)
        if self.settings.scale_rewards == "batch":
            return centred / (rewards.std() + 1e-4)
        return centred

    def make_rollouts(
        self, prompts: list[list[int]]
    ) -> tuple[dict[str, torch.Tensor], dict[str, float], int, int]:
        """Sample groups, score, compute advantages and the old/reference log-probs."""
        g = self.settings.num_generations
        repeated = [p for p in prompts for _ in range(g)]
        completions = self.sample(self.model, repeated, salt=0)
        mask = completions.completion_mask
        # On-policy (one update per batch) the old log-probs equal the new ones detached: skip that forward
        # pass unless RLOO needs them for the KL in its reward.
        on_policy = self.settings.num_iterations == 1 and self.settings.num_mini_batches == 1
        need_old = not on_policy or (not self.kl_in_loss and self.ref_model is not None)
        old_logps = entropy = None
        with self.autocast():
            if need_old:
                old_logps, entropy, _ = self.completion_logprobs(self.model, completions)
            ref_logps = (
                self.completion_logprobs(self.ref_model, completions)[0]
                if self.ref_model is not None
                else None
            )
        scores = self.score(repeated, completions)
        kl_tokens = (
            kl_estimate(old_logps, ref_logps, "k1") * mask
            if ref_logps is not None and old_logps is not None
            else None
        )
        kl_per_sequence = kl_tokens.sum(dim=1) if kl_tokens is not None else None
        advantages = self.advantages(
            scores.view(-1, g), kl_per_sequence.view(-1, g) if kl_per_sequence is not None else None
        )
        lengths = mask.sum(dim=1).float()
        metrics = {
            "reward": float(scores.mean()),
            "reward_std": float(scores.view(-1, g).std(dim=1).mean()),
            "completions/mean_length": float(lengths.mean()),
        }
        if entropy is not None:
            metrics["policy/entropy"] = float(masked_mean(entropy, mask))
        if kl_per_sequence is not None:
            metrics["kl"] = float(kl_per_sequence.mean())
        metrics = self.reduce_mean(metrics)
        rollouts = {
            "sequences": completions.sequences,
            "attention_mask": completions.attention_mask,
            "completion_mask": mask,
            "advantages": advantages.reshape(-1).float(),
        }
        if old_logps is not None:
            rollouts["old_logps"] = old_logps.float()
        if ref_logps is not None:
            rollouts["ref_logps"] = ref_logps.float()
        self._prompt_length = completions.prompt_length
        return rollouts, metrics, self.settings.num_iterations, self.settings.num_mini_batches

    def compute_loss(
        self, model: nn.Module, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The clipped surrogate (+ beta x k3 KL) aggregated per ``loss_type``."""
        s = self.settings
        mask = batch["completion_mask"]
        completions = Completions(batch["sequences"], batch["attention_mask"], mask, self._prompt_length)
        logps, _, _ = self.completion_logprobs(model, completions, with_entropy=False)
        old_logps = batch["old_logps"] if "old_logps" in batch else logps.detach()
        ratio = torch.exp(logps - old_logps)
        high = s.epsilon_high if s.epsilon_high is not None else s.epsilon
        advantages = batch["advantages"][:, None]
        per_token = -torch.min(ratio * advantages, ratio.clamp(1 - s.epsilon, 1 + high) * advantages)
        kl = None
        if self.kl_in_loss and s.beta > 0:
            kl = kl_estimate(logps, batch["ref_logps"], "k3")
            per_token = per_token + s.beta * kl
        m = mask.float()
        if s.loss_type == "grpo":
            loss = ((per_token * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)).mean()
        elif s.loss_type == "bnpo":
            loss = (per_token * m).sum() / m.sum().clamp(min=1)
        elif s.loss_type == "dr_grpo":
            loss = (per_token * m).sum() / (m.shape[0] * self.max_new_tokens)
        else:  # dapo: normalised by the active tokens of the minibatch on every process
            tokens = float(all_reduce_sum(m.sum().double().reshape(1), self.context)[0])
            loss = (per_token * m).sum() * self.context.world_size / max(tokens, 1.0)
        clipped = ((ratio < 1 - s.epsilon) & (advantages < 0)) | ((ratio > 1 + high) & (advantages > 0))
        metrics = {"loss": loss.detach(), "clip_ratio": masked_mean(clipped.float(), mask)}
        if kl is not None:
            metrics["kl"] = masked_mean(kl.detach(), mask)  # per token (k3), as TRL logs it
        return loss, metrics


class RLOOTrainer(GRPOTrainer):
    """RLOO: the leave-one-out baseline; beta x the sequence KL to the reference comes out of the reward."""

    name = "rloo"
    kl_in_loss = False

    def advantages(self, rewards: torch.Tensor, kl_per_sequence: torch.Tensor | None) -> torch.Tensor:
        """r_i - mean_{j != i} r_j, with r = score - beta x KL."""
        if kl_per_sequence is not None:
            rewards = rewards - self.settings.beta * kl_per_sequence
        k = rewards.shape[1]
        baseline = (rewards.sum(dim=1, keepdim=True) - rewards) / (k - 1)
        return rewards - baseline
