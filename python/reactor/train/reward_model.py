"""Bradley-Terry reward models: a causal-LM backbone with a scalar head on the last token.

Loss per pair: ``-log sigma(r_chosen - r_rejected - margin)`` plus, optionally,
``c * (r_chosen + r_rejected)^2`` (reward centering, Eisenstein et al. 2023). Logged: ``accuracy``
(share of pairs with r_chosen > r_rejected), ``margin`` (mean r_chosen - r_rejected), ``reward``
(mean of both).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from torch import nn

from reactor.train.callbacks import Callback
from reactor.train.config import ModelConfig, RewardModelConfig
from reactor.train.data import PreferenceBatch, TokenizedPair, collate_pairs, tokenize_pair
from reactor.train.tokenizer import Tokenizer
from reactor.train.trainer import Trainer

__all__ = ["RewardTrainer", "build_reward_model", "load_reward_model", "score_texts"]


def build_reward_model(config: ModelConfig, tokenizer: Tokenizer, *, seed: int) -> nn.Module:
    """A sequence-scoring model (one output) from ``config``, or from a local checkpoint."""
    import transformers

    if config.pretrained is not None:
        return load_reward_model(config.pretrained)
    from reactor.train.models import build_model

    causal = build_model(config, tokenizer, seed=seed)
    architecture = (
        "LlamaForSequenceClassification" if config.arch == "llama" else "GPT2ForSequenceClassification"
    )
    hf_config = causal.config
    hf_config.num_labels = 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return getattr(transformers, architecture)(hf_config)


def load_reward_model(directory: Path) -> nn.Module:
    """A reward model saved by ``reactor train rm`` (or any one-label sequence classifier)."""
    import transformers

    return transformers.AutoModelForSequenceClassification.from_pretrained(
        str(directory), num_labels=1, local_files_only=True
    )


def _scores(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    return model(input_ids=input_ids, attention_mask=attention_mask).logits.squeeze(-1).float()


def score_texts(
    model: nn.Module, tokenizer: Tokenizer, prompts: list[str], completions: list[str], device: torch.device
) -> torch.Tensor:
    """Scores of ``prompt + completion`` texts, one per pair."""
    rows = [
        [tokenizer.bos_id, *tokenizer.encode(p), *tokenizer.encode(c), tokenizer.eos_id]
        for p, c in zip(prompts, completions, strict=True)
    ]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_id, dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return _scores(model, ids.to(device), mask.to(device))


class RewardTrainer(Trainer):
    """Trains a reward model on ``{"prompt", "chosen", "rejected"}`` pairs (optional ``"margin"``)."""

    name = "rm"

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Tokenizer,
        train_pairs: Sequence[dict[str, Any]],
        *,
        config: RewardModelConfig,
        eval_pairs: Sequence[dict[str, Any]] = (),
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.settings = config.rm
        self.pad_id = tokenizer.pad_id

        def tokenize(records: Sequence[dict[str, Any]]) -> tuple[list[TokenizedPair], torch.Tensor]:
            pairs = [
                tokenize_pair(r, tokenizer, config.data.max_length, config.data.max_prompt_length)
                for r in records
            ]
            return pairs, torch.tensor([float(r.get("margin", 0.0)) for r in records])

        self.pairs: dict[str, tuple[list[TokenizedPair], torch.Tensor]] = {
            "train": tokenize(train_pairs),
            "eval": tokenize(eval_pairs),
        }
        super().__init__(
            model,
            config.train,
            train_size=len(self.pairs["train"][0]),
            eval_size=len(self.pairs["eval"][0]),
            callbacks=callbacks,
        )

    def collate(self, indices: np.ndarray, split: str) -> tuple[PreferenceBatch, torch.Tensor]:
        """Pairs as 2n rows (chosen first) and their margins."""
        pairs, margins = self.pairs[split]
        return collate_pairs([pairs[i] for i in indices], indices, self.pad_id), margins[
            torch.as_tensor(indices)
        ]

    def batch_weight(self, batch: tuple[PreferenceBatch, torch.Tensor]) -> float:
        """One unit per pair."""
        return float(len(batch[1]))

    def compute_loss(
        self, model: nn.Module, batch: tuple[PreferenceBatch, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Summed Bradley-Terry loss and metric sums over the pairs."""
        pairs, margins = batch
        rows = pairs.sequences.to(self.device)
        scores = _scores(model, rows.input_ids, rows.attention_mask)
        n = len(margins)
        chosen, rejected = scores[:n], scores[n:]
        losses = -F.logsigmoid(chosen - rejected - margins.to(self.device))
        if self.settings.center_rewards_coefficient:
            losses = losses + self.settings.center_rewards_coefficient * (chosen + rejected) ** 2
        detached_c, detached_r = chosen.detach(), rejected.detach()
        metrics = {
            "accuracy": (detached_c > detached_r).float().sum(),
            "margin": (detached_c - detached_r).sum(),
            "reward": ((detached_c + detached_r) / 2).sum(),
        }
        return losses.sum(), metrics
