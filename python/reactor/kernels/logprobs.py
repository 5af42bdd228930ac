"""Sequence log-probabilities from logits without materialising the [B, T, V] log-softmax."""

from __future__ import annotations

from typing import Any

import torch

from reactor import engine
from reactor.errors import InvalidArgumentError
from reactor.kernels._device import current_stream, engine_supports

__all__ = ["sequence_logprobs"]

_KERNEL_DTYPES = (torch.float32, torch.bfloat16, torch.float64)
_CHUNK_ROWS = 256  # rows of V logits per step of the CUDA fallback


class _SequenceLogprobs(torch.autograd.Function):
    """Autograd wrapper of ``mlforge::sequence_logprobs``: saves only the [B, T] log-normalisers."""

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        stats_dtype = torch.float64 if logits.dtype == torch.float64 else torch.float32
        seq_logps = torch.empty(logits.shape[0], dtype=stats_dtype, device=logits.device)
        lse = torch.empty(logits.shape[:2], dtype=stats_dtype, device=logits.device)
        engine.sequence_logprobs(
            logits.detach(), targets, mask, seq_logps, lse, stream=current_stream(logits)
        )
        ctx.save_for_backward(logits, targets, mask, lse)
        return seq_logps

    @staticmethod
    def backward(ctx: Any, grad_seq: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        logits, targets, mask, lse = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None, None
        grad_logits = torch.empty_like(logits, memory_format=torch.contiguous_format)
        engine.sequence_logprobs_backward(
            logits.detach(),
            targets,
            mask,
            lse,
            grad_seq.to(lse.dtype).contiguous(),
            grad_logits,
            stream=current_stream(logits),
        )
        return grad_logits, None, None


def _chunked_torch(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Same result with torch ops, a chunk of rows at a time (used where the engine kernel is absent)."""
    batch, steps, vocab = logits.shape
    flat = logits.reshape(batch * steps, vocab)
    flat_targets = targets.reshape(-1)
    flat_mask = mask.reshape(-1).to(torch.float32 if logits.dtype != torch.float64 else torch.float64)
    pieces = []
    for start in range(0, flat.shape[0], _CHUNK_ROWS):
        rows = (
            flat[start : start + _CHUNK_ROWS].float()
            if logits.dtype != torch.float64
            else flat[start : start + _CHUNK_ROWS]
        )
        ids = flat_targets[start : start + _CHUNK_ROWS].clamp(min=0)
        picked = rows.gather(1, ids[:, None]).squeeze(1) - torch.logsumexp(rows, dim=1)
        pieces.append(picked * flat_mask[start : start + _CHUNK_ROWS])
    return torch.cat(pieces).reshape(batch, steps).sum(dim=1)


def _check(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> None:
    op = "kernels.sequence_logprobs"
    if logits.dim() != 3:
        raise InvalidArgumentError(f"[{op}] logits: expected [B, T, V], got shape {tuple(logits.shape)}")
    if targets.shape != logits.shape[:2] or mask.shape != logits.shape[:2]:
        raise InvalidArgumentError(
            f"[{op}] targets and mask must have shape {tuple(logits.shape[:2])}, "
            f"got {tuple(targets.shape)} and {tuple(mask.shape)}"
        )


def sequence_logprobs(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sequence sums of target-token log-probabilities, differentiable with respect to ``logits``.

    ``out[b] = sum_t mask[b, t] * log_softmax(logits[b, t])[targets[b, t]]``. ``logits`` [B, T, V]
    (float32, bfloat16 or float64), ``targets`` [B, T] integer ids (any value where the mask is 0,
    e.g. -100), ``mask`` [B, T] bool or float. Log-probabilities are computed in float32 (float64
    for float64 logits), also under bf16. The fused MLForge kernel (CPU, and CUDA when the engine
    has it, on torch's current stream) keeps only [B, T] statistics for the backward pass, about
    half the peak memory of ``log_softmax(...).gather(...)``; elsewhere a chunked torch version runs.
    """
    _check(logits, targets, mask)
    if not engine_supports(logits) or logits.dtype not in _KERNEL_DTYPES:
        return _chunked_torch(logits, targets, mask)
    if not logits.is_contiguous():
        raise InvalidArgumentError(
            "[kernels.sequence_logprobs] logits: expected a contiguous tensor (call .contiguous() explicitly)"
        )
    targets = targets if targets.dtype == torch.int64 else targets.to(torch.int64)
    if mask.dtype not in (torch.bool, torch.uint8, torch.float32):
        mask = mask.to(torch.float32)
    return _SequenceLogprobs.apply(logits, targets.contiguous(), mask.contiguous())
