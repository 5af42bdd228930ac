"""Supervised fine-tuning on the training core: token-level cross-entropy on the completion
(prompt and padding masked when ``completion_only_loss``), chat-formatted prompts, and optional
sequence packing (several examples per row, each attending only to itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from reactor.errors import InvalidArgumentError
from reactor.kernels import sequence_logprobs
from reactor.train.callbacks import Callback
from reactor.train.config import SFTConfig
from reactor.train.data import SequenceBatch, TokenizedSequence, collate_sequences, tokenize_sequence
from reactor.train.models import causal_lm_logits
from reactor.train.tokenizer import Tokenizer
from reactor.train.trainer import Trainer

__all__ = ["SFTTrainer"]


class SFTTrainer(Trainer):
    """SFT on records ``{"prompt", "completion"}`` or ``{"messages": [...]}`` (or :class:`TokenizedSequence`).

    ``loss`` is the mean negative log-likelihood per completion token over the global batch;
    ``token_accuracy`` the share of those tokens the model ranks first.
    """

    name = "sft"

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Tokenizer,
        train_examples: Sequence[Any],
        *,
        config: SFTConfig,
        eval_examples: Sequence[Any] = (),
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.settings = config.sft
        self.max_length = config.data.max_length
        self.pad_id = tokenizer.pad_id

        def tokenize(records: Sequence[Any]) -> list[TokenizedSequence]:
            out = []
            for index, record in enumerate(records):
                if isinstance(record, TokenizedSequence):
                    out.append(record)
                elif "messages" in record or {"prompt", "completion"} <= record.keys():
                    out.append(
                        tokenize_sequence(
                            record, tokenizer, config.data.max_length, config.data.max_prompt_length
                        )
                    )
                else:
                    raise InvalidArgumentError(
                        f"[train.sft] example {index} needs prompt + completion, or messages"
                    )
            return out

        self.examples = {"train": tokenize(train_examples), "eval": tokenize(eval_examples)}
        super().__init__(
            model,
            config.train,
            train_size=len(self.examples["train"]),
            eval_size=len(self.examples["eval"]),
            callbacks=callbacks,
        )

    def collate(self, indices: np.ndarray, split: str) -> SequenceBatch:
        """Examples at ``indices``, padded or packed."""
        examples = self.examples[split]
        return collate_sequences(
            [examples[i] for i in indices],
            self.pad_id,
            completion_only=self.settings.completion_only_loss,
            packing=self.settings.packing,
            max_length=self.max_length,
        )

    def batch_weight(self, batch: SequenceBatch) -> float:
        """One unit per loss token."""
        return float(batch.num_loss_tokens)

    def compute_loss(
        self, model: nn.Module, batch: SequenceBatch
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Summed negative log-likelihood of the loss tokens, and the count of top-1 hits."""
        batch = batch.to(self.device)
        logits = causal_lm_logits(model, batch.input_ids, batch.attention_mask, batch.position_ids)
        logps = sequence_logprobs(logits.contiguous(), batch.targets, batch.loss_mask)
        hits = ((logits.detach().argmax(dim=-1) == batch.targets) & batch.loss_mask).sum()
        return -logps.sum(), {"token_accuracy": hits.double()}
