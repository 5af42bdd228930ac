"""The DPO loss family, forward and backward in the engine (see ``mlforge::dpo_loss``)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias

from reactor import engine
from reactor.errors import InvalidArgumentError

__all__ = ["DPO_LOSS_TYPES", "dpo_loss"]

# cdpo is the sigmoid loss with label smoothing (Mitchell 2023); the others map to engine codes.
DPO_LOSS_TYPES: tuple[str, ...] = ("sigmoid", "ipo", "hinge", "robust", "cdpo")


class _DpoLoss(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        policy_chosen: torch.Tensor,
        policy_rejected: torch.Tensor,
        ref_chosen: torch.Tensor,
        ref_rejected: torch.Tensor,
        beta: float,
        loss_type: str,
        label_smoothing: float,
    ) -> torch.Tensor:
        inputs = [t.detach().contiguous() for t in (policy_chosen, policy_rejected, ref_chosen, ref_rejected)]
        losses = torch.empty_like(inputs[0])
        slopes = torch.empty_like(inputs[0])
        engine.dpo_loss(
            *inputs, losses, slopes, beta=beta, loss_type=loss_type, label_smoothing=label_smoothing
        )
        ctx.save_for_backward(slopes)
        return losses

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (slopes,) = ctx.saved_tensors
        dx = grad * slopes
        signs = (1.0, -1.0, -1.0, 1.0)  # x = (pc - pr) - (rc - rr)
        grads = tuple(
            sign * dx if needed else None
            for sign, needed in zip(signs, ctx.needs_input_grad[:4], strict=True)
        )
        return (*grads, None, None, None)


def _torch_reference(x: torch.Tensor, beta: float, loss_type: str, eps: float) -> torch.Tensor:
    """The same definitions in torch ops (CUDA tensors, and dtypes the engine kernel lacks)."""
    if loss_type == "sigmoid":
        return -(1 - eps) * F.logsigmoid(beta * x) - eps * F.logsigmoid(-beta * x)
    if loss_type == "robust":
        return (-(1 - eps) * F.logsigmoid(beta * x) + eps * F.logsigmoid(-beta * x)) / (1 - 2 * eps)
    if loss_type == "hinge":
        return torch.relu(1 - beta * x)
    return (x - 1 / (2 * beta)) ** 2


def dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
    loss_type: str = "sigmoid",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Per-pair DPO losses (differentiable), with ``x = (pc - pr) - (rc - rr)``.

    ``sigmoid``: -log sigma(beta x) (Rafailov et al. 2023); ``cdpo``: sigmoid with label smoothing;
    ``ipo``: (x - 1/(2 beta))^2 on length-normalised log-probs (Azar et al. 2023); ``hinge``:
    max(0, 1 - beta x); ``robust``: rDPO (Chowdhury et al. 2024). At x = 0: ln 2, 1/(4 beta^2), 1.
    """
    op = "kernels.dpo_loss"
    if loss_type not in DPO_LOSS_TYPES:
        raise InvalidArgumentError(
            f"[{op}] loss_type must be one of {list(DPO_LOSS_TYPES)}, got {loss_type!r}"
        )
    tensors = (policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise InvalidArgumentError(
            f"[{op}] the four log-probability tensors must share one [B] shape, got {shapes}"
        )
    engine_type = "sigmoid" if loss_type == "cdpo" else loss_type
    dtypes = {t.dtype for t in tensors}
    if (
        all(t.device.type == "cpu" for t in tensors)
        and len(dtypes) == 1
        and dtypes <= {torch.float32, torch.float64}
    ):
        return _DpoLoss.apply(*tensors, float(beta), engine_type, float(label_smoothing))
    x = (policy_chosen_logps - policy_rejected_logps) - (ref_chosen_logps - ref_rejected_logps)
    return _torch_reference(x, float(beta), engine_type, float(label_smoothing))
