"""PPO-RLHF (Ziegler et al. 2019; Stiennon et al. 2020), as TRL's PPO trainer defines it.

Per step: sample completions; score them; per-token reward = -kl_coef * KL_t (k1 or k3 estimator)
with the score added at the last completion token; GAE (the engine kernel) over the completion;
advantages whitened; then ``num_ppo_epochs`` x ``num_mini_batches`` updates of the clipped policy
loss plus ``vf_coef`` x the clipped value loss. The value head sits on the policy's last hidden
state. The KL coefficient is fixed or follows Ziegler et al.'s adaptive controller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from reactor.kernels import gae
from reactor.train.callbacks import Callback
from reactor.train.config import PPOConfig
from reactor.train.distributed import all_reduce_sum
from reactor.train.online import OnlineTrainer
from reactor.train.rewards import RewardFunction
from reactor.train.rollout import (
    AdaptiveKLController,
    PolicyWithValueHead,
    kl_estimate,
    masked_mean,
    masked_whiten,
)
from reactor.train.tokenizer import Tokenizer

__all__ = ["PPOTrainer"]


class PPOTrainer(OnlineTrainer):
    """PPO on prompts ``{"prompt": ...}``; ``reward_fn(prompts, completions) -> scores`` or the
    configured reward. Logged: ``objective/kl``, ``objective/entropy``, ``objective/scores``,
    ``objective/non_score_reward``, ``objective/rlhf_reward``, ``policy/approxkl``,
    ``policy/clipfrac``, ``loss/policy``, ``loss/value``, ``val/clipfrac``, ``kl_coef``.
    """

    name = "ppo"

    def __init__(
        self,
        policy: nn.Module,
        tokenizer: Tokenizer,
        prompts: Sequence[Any],
        *,
        config: PPOConfig,
        reward_fn: RewardFunction | None = None,
        ref_model: nn.Module | None = None,
        eval_prompts: Sequence[Any] = (),
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.settings = config.ppo
        reference = ref_model if ref_model is not None else policy
        super().__init__(
            PolicyWithValueHead(policy),
            tokenizer,
            prompts,
            train=config.train,
            data=config.data,
            rollout=config.rollout,
            reward_fn=reward_fn,
            eval_prompts=eval_prompts,
            callbacks=callbacks,
        )
        self.ref_model = self.frozen_copy(reference)
        self.kl = AdaptiveKLController(
            self.settings.kl_coef, self.settings.kl_target, self.settings.kl_horizon
        )
        self.state.extra.setdefault("kl_coef", self.settings.kl_coef)

    def policy_model(self) -> nn.Module:
        """The language model inside the policy-with-value-head."""
        return self.model.model

    def make_rollouts(
        self, prompts: list[list[int]]
    ) -> tuple[dict[str, torch.Tensor], dict[str, float], int, int]:
        """Sample, score, KL-penalise, GAE and whiten."""
        s = self.settings
        kl_coef = float(self.state.extra["kl_coef"])
        completions = self.sample(self.policy_model(), prompts, salt=0)
        mask = completions.completion_mask
        with self.autocast():
            logps, entropy, values = self.completion_logprobs(self.model, completions, with_values=True)
            ref_logps, _, _ = self.completion_logprobs(self.ref_model, completions)
        assert values is not None
        scores = self.score(prompts, completions)
        assert completions.ended is not None
        if s.missing_eos_penalty is not None:
            scores = scores - s.missing_eos_penalty * (~completions.ended).float()
        kl = kl_estimate(logps, ref_logps, s.kl_estimator) * mask
        rewards = -kl_coef * kl
        lengths = mask.sum(dim=1)
        last = (lengths - 1).clamp(min=0)
        rows = torch.arange(len(prompts), device=self.device)
        rewards[rows, last] += scores
        dones = (~mask).float()
        dones[rows, last] = 1.0  # no bootstrapping past the last completion token
        values = values * mask
        padded_values = torch.cat([values, torch.zeros_like(values[:, :1])], dim=1)
        advantages, returns = gae(
            rewards.float().cpu(), padded_values.float().cpu(), dones.cpu(), gamma=s.gamma, lam=s.lam
        )
        advantages, returns = advantages.to(self.device), returns.to(self.device)
        if s.whiten_advantages:
            m = mask.float()
            totals = all_reduce_sum(
                torch.tensor(
                    [m.sum(), (advantages * m).sum(), (advantages**2 * m).sum()], dtype=torch.float64
                ),
                self.context,
            )
            advantages = masked_whiten(advantages, mask, tuple(float(t) for t in totals))  # type: ignore[arg-type]
        kl_per_sequence = kl.sum(dim=1)
        metrics = self.reduce_mean(
            {
                "objective/kl": float(kl_per_sequence.mean()),
                "objective/entropy": float((entropy * mask).sum(dim=1).mean()),
                "objective/scores": float(scores.mean()),
                "objective/non_score_reward": float((-kl_coef * kl_per_sequence).mean()),
                "objective/rlhf_reward": float((scores - kl_coef * kl_per_sequence).mean()),
                "completions/mean_length": float(lengths.float().mean()),
                "completions/eos_share": float(completions.ended.float().mean()),
            }
        )
        metrics["kl_coef"] = kl_coef
        if s.adaptive_kl:
            self.kl.value = kl_coef
            self.kl.update(metrics["objective/kl"], self.config.batch_size)
            self.state.extra["kl_coef"] = self.kl.value
        rollouts = {
            "sequences": completions.sequences,
            "attention_mask": completions.attention_mask,
            "completion_mask": mask,
            "old_logps": logps.float(),
            "old_values": values.float(),
            "advantages": advantages.float(),
            "returns": returns.float(),
        }
        self._prompt_length = completions.prompt_length
        return rollouts, metrics, s.num_ppo_epochs, s.num_mini_batches

    def compute_loss(
        self, model: nn.Module, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Clipped policy loss + vf_coef x clipped value loss on one minibatch (means over tokens)."""
        from reactor.train.rollout import Completions

        s = self.settings
        mask = batch["completion_mask"]
        completions = Completions(batch["sequences"], batch["attention_mask"], mask, self._prompt_length)
        logps, entropy, values = self.completion_logprobs(model, completions, with_values=True)
        assert values is not None
        log_ratio = logps - batch["old_logps"]
        ratio = torch.exp(log_ratio)
        advantages = batch["advantages"]
        pg_losses = torch.max(
            -advantages * ratio, -advantages * ratio.clamp(1 - s.cliprange, 1 + s.cliprange)
        )
        policy_loss = masked_mean(pg_losses, mask)
        old_values = batch["old_values"]
        clipped = old_values + (values - old_values).clamp(-s.cliprange_value, s.cliprange_value)
        value_losses = torch.max((values - batch["returns"]) ** 2, (clipped - batch["returns"]) ** 2)
        value_loss = 0.5 * masked_mean(value_losses, mask)
        loss = policy_loss + s.vf_coef * value_loss
        with torch.no_grad():
            metrics = {
                "loss/policy": policy_loss.detach(),
                "loss/value": value_loss.detach(),
                "policy/approxkl": 0.5 * masked_mean(log_ratio**2, mask),
                "policy/clipfrac": masked_mean(((ratio - 1).abs() > s.cliprange).float(), mask),
                "policy/entropy": masked_mean(entropy, mask),
                "val/clipfrac": masked_mean(((values - old_values).abs() > s.cliprange_value).float(), mask),
            }
        return loss, metrics
