"""Preference losses on sequence log-probabilities: ``dpo_loss`` (sigmoid, ipo, hinge, robust,
cdpo), computed by the fused MLForge kernel on CPU tensors; see :func:`reactor.kernels.dpo_loss`.
"""

from __future__ import annotations

from reactor.kernels.dpo import dpo_loss

__all__ = ["dpo_loss"]
