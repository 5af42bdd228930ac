"""Online-training building blocks: sampling completions, per-token log-probabilities, a value
head on the policy, and the KL estimators and controllers of PPO-RLHF.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from reactor.train.models import causal_lm_logits

__all__ = [
    "AdaptiveKLController",
    "Completions",
    "PolicyWithValueHead",
    "generate",
    "kl_estimate",
    "masked_mean",
    "masked_whiten",
    "token_logprobs",
]


@dataclass
class Completions:
    """Prompts (left-padded) followed by sampled completions (right-padded), one row per sample.

    ``completion_mask`` covers the generated tokens up to and including ``<eos>``;
    ``prompt_length`` is the width of the (padded) prompt part.
    """

    sequences: torch.Tensor  # [B, P + T]
    attention_mask: torch.Tensor  # [B, P + T]
    completion_mask: torch.Tensor  # [B, T] bool
    prompt_length: int
    ended: torch.Tensor | None = None  # [B] bool: the row stopped at <eos> (not at the length limit)

    @property
    def completions(self) -> torch.Tensor:
        """The generated part [B, T]."""
        return self.sequences[:, self.prompt_length :]

    def position_ids(self) -> torch.Tensor:
        """Positions that skip the left padding."""
        return (self.attention_mask.cumsum(dim=1) - 1).clamp(min=0)


def _left_pad(
    prompts: list[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.int64, device=device)
    mask = torch.zeros_like(ids)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt, device=device)
        mask[row, width - len(prompt) :] = 1
    return ids, mask


@torch.no_grad()
def generate(
    model: nn.Module,
    prompts: list[list[int]],
    *,
    max_new_tokens: int,
    temperature: float,
    eos_id: int,
    pad_id: int,
    generator: torch.Generator,
) -> Completions:
    """Sample up to ``max_new_tokens`` tokens per prompt at ``temperature`` from ``generator``
    (deterministic for a seed); a row stops at ``<eos>``. Hugging Face models reuse their KV cache.
    """
    device = next(model.parameters()).device
    ids, mask = _left_pad(prompts, pad_id, device)
    prompt_length = ids.shape[1]
    done = torch.zeros(len(prompts), dtype=torch.bool, device=device)
    inner = getattr(model, "module", model)
    cached = hasattr(inner, "config") and hasattr(inner, "get_input_embeddings")
    past: Any = None
    # transformers 5 renamed past_key_values to cache; support both spellings.
    cache_name = (
        "cache" if cached and "cache" in inspect.signature(inner.forward).parameters else "past_key_values"
    )
    step_ids = ids
    for _ in range(max_new_tokens):
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        if cached:
            out = inner(
                input_ids=step_ids,
                attention_mask=mask,
                position_ids=positions[:, -step_ids.shape[1] :],
                use_cache=True,
                **{cache_name: past},
            )
            logits, past = out.logits[:, -1], getattr(out, cache_name)
        else:
            logits = causal_lm_logits(inner, ids, mask)[:, -1]
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        token = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        token = torch.where(done, torch.full_like(token, pad_id), token)
        ids = torch.cat([ids, token[:, None]], dim=1)
        mask = torch.cat([mask, (~done).long()[:, None]], dim=1)
        done |= token == eos_id
        step_ids = token[:, None]
        if bool(done.all()):
            break
    completion_mask = mask[:, prompt_length:].bool()
    return Completions(ids, mask, completion_mask, prompt_length, done)


def token_logprobs(
    logits: torch.Tensor, targets: torch.Tensor, *, temperature: float = 1.0, with_entropy: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-token log-probabilities of ``targets`` and (unless ``with_entropy`` is False, which saves
    a softmax over the vocabulary) entropies, in float32 (also under bf16).
    """
    scaled = logits.float() / temperature
    log_norm = torch.logsumexp(scaled, dim=-1)
    picked = scaled.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - log_norm
    if not with_entropy:
        return picked, None
    probs = torch.softmax(scaled, dim=-1)
    entropy = log_norm - (probs * scaled).sum(dim=-1)
    return picked, entropy


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean over the positions where ``mask`` is set."""
    mask = mask.to(values.dtype)
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp(min=1)
    return (values * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_whiten(
    values: torch.Tensor, mask: torch.Tensor, totals: tuple[float, float, float] | None = None
) -> torch.Tensor:
    """(x - mean) / sqrt(var + 1e-8) over the masked positions (Bessel-corrected variance).
    ``totals`` = (count, sum, sum of squares) over all ranks, when training with several processes.
    """
    m = mask.to(values.dtype)
    count, total, squares = (
        totals
        if totals is not None
        else (float(m.sum()), float((values * m).sum()), float((values**2 * m).sum()))
    )
    mean = total / count
    variance = (squares - count * mean**2) / max(count - 1, 1)
    return (values - mean) * torch.rsqrt(torch.tensor(max(variance, 0.0) + 1e-8, dtype=values.dtype)) * m


def kl_estimate(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str) -> torch.Tensor:
    """Per-token KL(pi || ref) estimates (Schulman 2020): k1 = log pi - log ref;
    k3 = (r - 1) - log r with r = ref / pi (unbiased, always >= 0).
    """
    log_ratio = ref_logprobs - logprobs
    if estimator == "k1":
        return -log_ratio
    return torch.expm1(log_ratio) - log_ratio


class AdaptiveKLController:
    """Ziegler et al. (2019): beta <- beta * (1 + clip(KL / target - 1, -0.2, 0.2) * n / horizon)."""

    def __init__(self, initial: float, target: float, horizon: int) -> None:
        self.value = initial
        self.target = target
        self.horizon = horizon

    def update(self, kl: float, num_samples: int) -> None:
        """Move the coefficient toward the target KL after ``num_samples`` rollouts."""
        error = min(max(kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + error * num_samples / self.horizon
        if not math.isfinite(self.value):
            raise FloatingPointError(f"[train.ppo] the KL coefficient diverged (KL {kl})")


class PolicyWithValueHead(nn.Module):
    """A causal LM with a scalar value head on its last hidden state (TRL's layout: dropout + linear)."""

    def __init__(self, model: nn.Module, dropout: float = 0.0) -> None:
        super().__init__()
        self.model = model
        hidden = int(model.config.hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.value_head = nn.Linear(hidden, 1)
        # Zero at the start: early advantages then come from the rewards alone, not from a random critic.
        nn.init.zeros_(self.value_head.bias)
        nn.init.zeros_(self.value_head.weight)

    @property
    def config(self) -> Any:
        """The LM's config (so helpers treat this as a Hugging Face model)."""
        return self.model.config

    def get_input_embeddings(self) -> nn.Module:
        """The LM's token embeddings."""
        return self.model.get_input_embeddings()

    def forward(self, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits [B, T, V] and values [B, T]."""
        out = self.model(**kwargs, output_hidden_states=True)
        values = self.value_head(self.dropout(out.hidden_states[-1])).squeeze(-1)
        return out.logits, values.float()
