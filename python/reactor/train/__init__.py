"""Trainers: one training core (:class:`Trainer`) with SFT, DPO, reward models, PPO-RLHF, GRPO
and RLOO on it.

Quick use::

    from reactor.train import DPOConfig, DPOTrainer, build_model, build_tokenizer

    config = DPOConfig()
    tokenizer = build_tokenizer(config.model)
    model = build_model(config.model, tokenizer, seed=0)
    DPOTrainer(model, tokenizer, pairs, config=config).train()

or from the command line: ``reactor train dpo --config run.toml``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reactor.train.callbacks import Callback
    from reactor.train.config import (
        DataConfig,
        DPOConfig,
        DPOSettings,
        GRPOConfig,
        ModelConfig,
        PPOConfig,
        RewardModelConfig,
        SFTConfig,
        SFTSettings,
        TrainConfig,
        load_run_config,
    )
    from reactor.train.dpo import DPOTrainer
    from reactor.train.grpo import GRPOTrainer, RLOOTrainer
    from reactor.train.losses import dpo_loss
    from reactor.train.models import build_model, build_tokenizer
    from reactor.train.ppo import PPOTrainer
    from reactor.train.reward_model import RewardTrainer
    from reactor.train.sft import SFTTrainer
    from reactor.train.tokenizer import ByteTokenizer
    from reactor.train.trainer import Trainer, TrainResult

# Names resolve on first use, so ``reactor --help`` and the CLI's other groups work without torch.
_HOMES = {
    "Callback": "callbacks",
    "DataConfig": "config",
    "DPOConfig": "config",
    "DPOSettings": "config",
    "ModelConfig": "config",
    "SFTConfig": "config",
    "SFTSettings": "config",
    "TrainConfig": "config",
    "load_run_config": "config",
    "DPOTrainer": "dpo",
    "GRPOConfig": "config",
    "PPOConfig": "config",
    "RewardModelConfig": "config",
    "GRPOTrainer": "grpo",
    "RLOOTrainer": "grpo",
    "PPOTrainer": "ppo",
    "RewardTrainer": "reward_model",
    "dpo_loss": "losses",
    "build_model": "models",
    "build_tokenizer": "models",
    "SFTTrainer": "sft",
    "ByteTokenizer": "tokenizer",
    "Trainer": "trainer",
    "TrainResult": "trainer",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'reactor.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"reactor.train.{_HOMES[name]}"), name)


__all__ = [
    "ByteTokenizer",
    "Callback",
    "DPOConfig",
    "DPOSettings",
    "DPOTrainer",
    "DataConfig",
    "GRPOConfig",
    "GRPOTrainer",
    "ModelConfig",
    "PPOConfig",
    "PPOTrainer",
    "RLOOTrainer",
    "RewardModelConfig",
    "RewardTrainer",
    "SFTConfig",
    "SFTSettings",
    "SFTTrainer",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "build_model",
    "build_tokenizer",
    "dpo_loss",
    "load_run_config",
]
