from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from reactor.errors import InvalidArgumentError
from reactor.train import dpo_loss


def _inputs(seed=0, n=64, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return [(-50 * torch.rand(n, generator=gen, dtype=dtype)).requires_grad_() for _ in range(4)]


@pytest.mark.parametrize(
    ("loss_type", "beta", "expected"),
    [
        ("sigmoid", 0.1, math.log(2)),
        ("cdpo", 0.1, math.log(2)),
        ("robust", 0.1, math.log(2)),
        ("ipo", 0.1, 1 / (4 * 0.1**2)),
        ("ipo", 0.5, 1.0),
        ("hinge", 0.3, 1.0),
    ],
)
def test_values_at_initialisation(loss_type, beta, expected):
    logps = torch.tensor([-12.5, -3.0, -40.0])
    losses = dpo_loss(logps, logps * 2, logps, logps * 2, beta=beta, loss_type=loss_type)
    assert losses.shape == (3,)
    torch.testing.assert_close(losses, torch.full((3,), expected), rtol=1e-6, atol=1e-6)


def _paper(x, beta, loss_type, eps):
    """The definitions written out independently (Rafailov, Azar, Chowdhury, Mitchell)."""
    if loss_type == "sigmoid":
        return -F.logsigmoid(beta * x)
    if loss_type == "cdpo":
        return -(1 - eps) * F.logsigmoid(beta * x) - eps * F.logsigmoid(-beta * x)
    if loss_type == "robust":
        return ((1 - eps) * -F.logsigmoid(beta * x) + eps * F.logsigmoid(-beta * x)) / (1 - 2 * eps)
    if loss_type == "hinge":
        return torch.clamp(1 - beta * x, min=0)
    return (x - 1 / (2 * beta)) ** 2


@pytest.mark.parametrize("loss_type", ["sigmoid", "cdpo", "robust", "hinge", "ipo"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_paper_definitions_and_gradients(loss_type, dtype):
    pc, pr, rc, rr = _inputs(dtype=dtype)
    eps = 0.0 if loss_type in ("sigmoid", "hinge", "ipo") else 0.2
    ours = dpo_loss(pc, pr, rc, rr, beta=0.2, loss_type=loss_type, label_smoothing=eps)
    reference = _paper((pc - rc) - (pr - rr), 0.2, loss_type, eps)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(ours, reference, rtol=tol, atol=tol)
    grads = torch.autograd.grad(ours.sum(), (pc, pr, rc, rr))
    expected = torch.autograd.grad(reference.sum(), (pc, pr, rc, rr))
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=tol, atol=tol)


def test_rejects_unknown_loss_type():
    pc, pr, rc, rr = _inputs()
    with pytest.raises(InvalidArgumentError, match="loss_type"):
        dpo_loss(pc, pr, rc, rr, loss_type="kto")
