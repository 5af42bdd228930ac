"""Direct Preference Optimization (Rafailov et al. 2023) on the training core.

Each step runs the policy on ``[chosen; rejected]`` rows, sums the log-probabilities of the
completion tokens only (prompt and padding masked, computed in float32 by the fused kernel even
under bf16), and applies the chosen loss against the reference model's log-probs. The reference
is a frozen copy beside the policy, a frozen copy kept on the CPU (``offload``), or log-probs
computed once and cached on disk (``precompute``), after which no reference model is kept.
"""

from __future__ import annotations

import copy
import hashlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from reactor.atomic import atomic_write_bytes
from reactor.errors import InvalidArgumentError
from reactor.kernels import sequence_logprobs
from reactor.train.callbacks import Callback
from reactor.train.config import DPOConfig
from reactor.train.data import PreferenceBatch, TokenizedPair, collate_pairs, tokenize_pair
from reactor.train.losses import dpo_loss
from reactor.train.models import causal_lm_logits
from reactor.train.tokenizer import Tokenizer
from reactor.train.trainer import Trainer

__all__ = ["DPOTrainer", "sequence_logps"]


def sequence_logps(model: nn.Module, batch: PreferenceBatch) -> torch.Tensor:
    """Summed completion-token log-probs [2n] of a batch's rows (float32)."""
    rows = batch.sequences
    logits = causal_lm_logits(model, rows.input_ids, rows.attention_mask, rows.position_ids)
    return sequence_logprobs(logits.contiguous(), rows.targets, rows.loss_mask)


def _tokenize_all(records: Sequence[Any], tokenizer: Tokenizer, config: DPOConfig) -> list[TokenizedPair]:
    pairs = []
    for index, record in enumerate(records):
        if isinstance(record, TokenizedPair):
            pairs.append(record)
            continue
        missing = [key for key in ("prompt", "chosen", "rejected") if key not in record]
        if missing:
            raise InvalidArgumentError(f"[train.dpo] pair {index} lacks {missing}")
        pairs.append(tokenize_pair(record, tokenizer, config.data.max_length, config.data.max_prompt_length))
    return pairs


class DPOTrainer(Trainer):
    """DPO on preference records ``{"prompt", "chosen", "rejected"}`` (or :class:`TokenizedPair`).

    Logged per step (and with an ``eval/`` prefix on the evaluation set): ``loss``,
    ``rewards/chosen`` = mean beta (log pi - log ref) of the chosen completions, ``rewards/rejected``,
    ``rewards/margins``, ``rewards/accuracies`` (share of pairs whose chosen reward is strictly
    greater), ``logps/chosen`` and ``logps/rejected`` (mean summed log-probs).
    """

    name = "dpo"

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Tokenizer,
        train_pairs: Sequence[Any],
        *,
        config: DPOConfig,
        eval_pairs: Sequence[Any] = (),
        ref_model: nn.Module | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if ref_model is model:
            raise InvalidArgumentError("[train.dpo] ref_model must be a separate copy, not the policy itself")
        self.settings = config.dpo
        self.pad_id = tokenizer.pad_id
        self.pairs = {
            "train": _tokenize_all(train_pairs, tokenizer, config),
            "eval": _tokenize_all(eval_pairs, tokenizer, config),
        }
        reference = ref_model if ref_model is not None else copy.deepcopy(model)
        super().__init__(
            model,
            config.train,
            train_size=len(self.pairs["train"]),
            eval_size=len(self.pairs["eval"]),
            callbacks=callbacks,
        )
        self.ref_model: nn.Module | None = None
        self.ref_logps: dict[str, torch.Tensor] = {}
        reference.requires_grad_(False).eval()
        if self.settings.reference == "precompute":
            self.ref_logps = self._precomputed_reference(reference.to(self.device))
        else:
            ref_device = torch.device("cpu") if self.settings.reference == "offload" else self.device
            self.ref_model = reference.to(ref_device)

    # ------------------------------------------------------------------------- reference
    def _fingerprint(self, reference: nn.Module) -> str:
        digest = hashlib.sha256()
        for name, tensor in sorted(reference.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        for split in ("train", "eval"):
            for pair in self.pairs[split]:
                digest.update(repr((pair.prompt, pair.chosen, pair.rejected)).encode())
        return digest.hexdigest()[:16]

    @torch.no_grad()
    def _precomputed_reference(self, reference: nn.Module) -> dict[str, torch.Tensor]:
        """Reference log-probs of every pair, [n, 2] per split, cached under output_dir."""
        cache = self.output_dir / f"reference_logps-{self._fingerprint(reference)}.pt"
        if not cache.exists() and self.context.is_main:
            table = {}
            for split, pairs in self.pairs.items():
                chunks = []
                size = max(1, self.state.micro_batch_size)
                for start in range(0, len(pairs), size):
                    indices = np.arange(start, min(start + size, len(pairs)))
                    batch = self.collate(indices, split).to(self.device)
                    with self.autocast():
                        logps = sequence_logps(reference, batch).float().cpu()
                    chunks.append(torch.stack(logps.chunk(2), dim=1))
                table[split] = torch.cat(chunks) if chunks else torch.empty((0, 2))
            buffer = io.BytesIO()
            torch.save(table, buffer)
            atomic_write_bytes(cache, buffer.getvalue())
        if self.context.enabled:
            torch.distributed.barrier()
        return torch.load(cache, map_location="cpu", weights_only=True)

    def _reference_logps(self, batch: PreferenceBatch, split: str) -> torch.Tensor:
        if self.ref_model is None:
            table = self.ref_logps[split][batch.indices]
            return torch.cat([table[:, 0], table[:, 1]]).to(self.device)
        ref_device = next(self.ref_model.parameters()).device
        with torch.no_grad(), self.autocast():
            return sequence_logps(self.ref_model, batch.to(ref_device)).float().to(self.device)

    # ---------------------------------------------------------------------------- trainer hooks
    def collate(self, indices: np.ndarray, split: str) -> PreferenceBatch:
        """Pairs at ``indices`` as 2n padded rows (chosen first)."""
        pairs = self.pairs[split]
        return collate_pairs([pairs[i] for i in indices], indices, self.pad_id)

    def batch_weight(self, batch: PreferenceBatch) -> float:
        """One unit per pair."""
        return float(len(batch.indices))

    def compute_loss(
        self, model: nn.Module, batch: PreferenceBatch
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Summed DPO loss over the batch's pairs, and the reward / log-prob metric sums."""
        split = "train" if model.training else "eval"
        batch = batch.to(self.device)
        policy = sequence_logps(model, batch).float()
        reference = self._reference_logps(batch, split)
        n = len(batch.indices)
        pc, pr, rc, rr = policy[:n], policy[n:], reference[:n], reference[n:]
        if self.settings.loss_type == "ipo":
            lengths = batch.completion_lengths
            args = (pc / lengths[:n], pr / lengths[n:], rc / lengths[:n], rr / lengths[n:])
        else:
            args = (pc, pr, rc, rr)
        losses = dpo_loss(
            *args,
            beta=self.settings.beta,
            loss_type=self.settings.loss_type,
            label_smoothing=self.settings.label_smoothing,
        )
        beta = self.settings.beta
        chosen_rewards = beta * (pc - rc).detach()
        rejected_rewards = beta * (pr - rr).detach()
        metrics = {
            "rewards/chosen": chosen_rewards.sum(),
            "rewards/rejected": rejected_rewards.sum(),
            "rewards/margins": (chosen_rewards - rejected_rewards).sum(),
            "rewards/accuracies": (chosen_rewards > rejected_rewards).float().sum(),
            "logps/chosen": pc.detach().sum(),
            "logps/rejected": pr.detach().sum(),
        }
        return losses.sum(), metrics
