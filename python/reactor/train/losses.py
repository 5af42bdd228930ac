"""Preference losses on sequence log-probabilities (per pair, differentiable)."""

from __future__ import annotations

import torch

from reactor.kernels import dpo_loss as _engine_dpo_loss

__all__ = ["dpo_loss"]


def dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
    loss_type: str = "sigmoid",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Per-pair DPO losses [B] from summed sequence log-probs [B] of policy and reference.

    With ``x = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)``:

    - ``sigmoid`` (Rafailov et al. 2023): ``-log sigma(beta x)``; ln 2 when policy = reference.
    - ``cdpo`` (conservative DPO): ``-(1-e) log sigma(beta x) - e log sigma(-beta x)``,
      e = label_smoothing.
    - ``robust`` (rDPO, Chowdhury et al. 2024):
      ``(-(1-e) log sigma(beta x) + e log sigma(-beta x)) / (1-2e)``.
    - ``hinge`` (SLiC): ``max(0, 1 - beta x)``; 1 at initialisation.
    - ``ipo`` (Azar et al. 2023): ``(x - 1/(2 beta))^2``, 1/(4 beta^2) at initialisation; pass
      length-normalised log-probs (sum divided by completion tokens), as the DPO trainer does.

    Runs the fused MLForge kernel on CPU tensors (float32/float64), torch ops elsewhere.
    """
    return _engine_dpo_loss(
        policy_chosen_logps,
        policy_rejected_logps,
        ref_chosen_logps,
        ref_rejected_logps,
        beta=beta,
        loss_type=loss_type,
        label_smoothing=label_smoothing,
    )
