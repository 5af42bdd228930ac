"""Engine kernels as differentiable torch functions (and numpy helpers).

``sequence_logprobs`` and ``dpo_loss`` take torch tensors on the CPU without copies (DLPack) and
run the MLForge kernels; on CUDA they fall back to an equivalent chunked torch implementation
until the CUDA kernels land. ``gae`` accepts numpy arrays or CPU tensors.
"""

from __future__ import annotations

from reactor.kernels.dpo import DPO_LOSS_TYPES, dpo_loss
from reactor.kernels.gae import gae
from reactor.kernels.logprobs import sequence_logprobs

__all__ = ["DPO_LOSS_TYPES", "dpo_loss", "gae", "sequence_logprobs"]
