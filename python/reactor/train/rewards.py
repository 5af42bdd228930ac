"""Reward functions for online training: built-in programmatic rewards and a reward-model scorer.

A reward function maps (prompts, completions) as text to one float per completion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from reactor.errors import InvalidArgumentError
from reactor.train.config import RolloutSettings

__all__ = ["RewardFunction", "RewardModelScorer", "build_reward_function", "target_length", "token_frequency"]

RewardFunction = Callable[[Sequence[str], Sequence[str]], list[float]]


def token_frequency(character: str) -> RewardFunction:
    """The share of the completion's characters equal to ``character`` (0 for an empty completion)."""
    if len(character) != 1:
        raise InvalidArgumentError(f"[train.rewards] reward_token must be one character, got {character!r}")

    def reward(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        return [text.count(character) / len(text) if text else 0.0 for text in completions]

    return reward


def target_length(length: int) -> RewardFunction:
    """1 at exactly ``length`` characters, falling linearly to 0 at 0 or 2 x length, negative beyond."""

    def reward(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        return [1.0 - abs(len(text) - length) / length for text in completions]

    return reward


class RewardModelScorer:
    """Scores ``prompt + completion`` with a reward model saved by ``reactor train rm``."""

    def __init__(self, directory: Path, device: torch.device) -> None:
        from reactor.train.config import ModelConfig
        from reactor.train.models import build_tokenizer
        from reactor.train.reward_model import load_reward_model

        if not directory.is_dir():
            raise InvalidArgumentError(
                f"[train.rewards] rollout.reward_model: {str(directory)!r} is not a directory"
            )
        self.tokenizer = build_tokenizer(ModelConfig(pretrained=directory))
        self.model = load_reward_model(directory).to(device).eval().requires_grad_(False)
        self.device = device

    @torch.no_grad()
    def __call__(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        """One score per completion."""
        from reactor.train.reward_model import score_texts

        return score_texts(self.model, self.tokenizer, list(prompts), list(completions), self.device).tolist()


def build_reward_function(settings: RolloutSettings, device: torch.device) -> RewardFunction:
    """The reward named by ``rollout.reward``."""
    if settings.reward == "token_frequency":
        return token_frequency(settings.reward_token)
    if settings.reward == "target_length":
        return target_length(settings.target_length)
    if settings.reward_model is None:
        raise InvalidArgumentError(
            "[train.rewards] rollout.reward = 'model' needs rollout.reward_model (from reactor train rm)"
        )
    return RewardModelScorer(settings.reward_model, device)
