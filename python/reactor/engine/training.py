"""Training kernels of the engine, writing into caller-provided arrays (numpy or torch CPU).

These are the raw engine entry points; ``reactor.kernels`` wraps them as differentiable torch
functions. Outputs are borrowed writable, so torch callers keep torch tensors and nothing is copied.
"""

from __future__ import annotations

from typing import Any

from reactor import _mlforge
from reactor.engine._validate import check_finite, stream_handle

__all__ = [
    "DPO_LOSS_CODES",
    "dpo_loss",
    "gae",
    "sequence_logprobs",
    "sequence_logprobs_backward",
    "stream_triad",
]

DPO_LOSS_CODES: dict[str, int] = {"sigmoid": 0, "ipo": 1, "hinge": 2, "robust": 3}


def sequence_logprobs(
    logits: Any, targets: Any, mask: Any, seq_logps: Any, lse: Any, *, stream: Any = None
) -> None:
    """Fused log-softmax + gather + masked sum over the sequence (``mlforge::sequence_logprobs``).

    ``logits`` [B, T, V] float32/bfloat16/float64, ``targets`` [B, T] int64, ``mask`` [B, T]
    float32/uint8/bool; writes ``seq_logps`` [B] and ``lse`` [B, T] (float64 for float64 logits,
    else float32).
    """
    _mlforge.sequence_logprobs(
        logits, targets, mask, seq_logps, lse, stream_handle("kernels.sequence_logprobs", stream)
    )


def sequence_logprobs_backward(
    logits: Any, targets: Any, mask: Any, lse: Any, grad_seq: Any, grad_logits: Any, *, stream: Any = None
) -> None:
    """Write d(sum of seq_logps * grad_seq)/d logits into ``grad_logits`` (logits' shape and dtype)."""
    handle = stream_handle("kernels.sequence_logprobs_backward", stream)
    _mlforge.sequence_logprobs_backward(logits, targets, mask, lse, grad_seq, grad_logits, handle)


def dpo_loss(
    policy_chosen: Any,
    policy_rejected: Any,
    ref_chosen: Any,
    ref_rejected: Any,
    losses: Any,
    dloss_dx: Any,
    *,
    beta: float,
    loss_type: str,
    label_smoothing: float = 0.0,
    stream: Any = None,
) -> None:
    """Per-pair DPO losses and their slopes d loss / d x, x = policy log-ratio - reference log-ratio."""
    op = "kernels.dpo_loss"
    if loss_type not in DPO_LOSS_CODES:
        from reactor.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"[{op}] loss_type must be one of {sorted(DPO_LOSS_CODES)}, got {loss_type!r}"
        )
    _mlforge.dpo_loss(
        policy_chosen,
        policy_rejected,
        ref_chosen,
        ref_rejected,
        check_finite(op, "beta", beta),
        DPO_LOSS_CODES[loss_type],
        check_finite(op, "label_smoothing", label_smoothing),
        losses,
        dloss_dx,
        stream_handle(op, stream),
    )


def gae(
    rewards: Any,
    values: Any,
    dones: Any,
    advantages: Any,
    returns: Any,
    *,
    gamma: float,
    lam: float,
    stream: Any = None,
) -> None:
    """Generalised advantage estimation into ``advantages`` and ``returns`` ([B, T] float32)."""
    op = "kernels.gae"
    _mlforge.gae(
        rewards,
        values,
        dones,
        check_finite(op, "gamma", gamma),
        check_finite(op, "lam", lam),
        advantages,
        returns,
        stream_handle(op, stream),
    )


def stream_triad(a: Any, b: Any, c: Any, scalar: float) -> None:
    """STREAM triad ``a = b + scalar * c`` over float64 arrays (the bandwidth probe)."""
    _mlforge.stream_triad(a, b, c, check_finite("kernels.stream_triad", "scalar", scalar))


def adam_step(
    param: Any,
    grad: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
    *,
    step: int,
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False,
    stream: Any = None,
) -> None:
    """One fused Adam (or AdamW with ``decoupled_weight_decay``) step in place, torch.optim semantics.

    All four arrays are float32, one shape, contiguous; ``step`` counts this step (>= 1).
    """
    op = "kernels.adam_step"
    _mlforge.adam_step(
        param,
        grad,
        exp_avg,
        exp_avg_sq,
        int(step),
        check_finite(op, "lr", lr),
        check_finite(op, "beta1", betas[0]),
        check_finite(op, "beta2", betas[1]),
        check_finite(op, "eps", eps),
        check_finite(op, "weight_decay", weight_decay),
        bool(decoupled_weight_decay),
        stream_handle(op, stream),
    )
