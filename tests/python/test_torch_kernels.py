"""reactor.kernels against plain torch: forward within 1e-5 relative (float32), gradients by gradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from reactor import kernels
from reactor.errors import InvalidArgumentError


def _problem(batch=3, steps=7, vocab=301, dtype=torch.float32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    logits = (torch.randn(batch, steps, vocab, generator=generator, dtype=torch.float64) * 3).to(dtype)
    targets = torch.randint(0, vocab, (batch, steps), generator=generator)
    mask = torch.rand(batch, steps, generator=generator) > 0.3
    targets[~mask] = -100  # padding labels must be ignored
    return logits, targets, mask


def _torch_reference(logits, targets, mask):
    logps = torch.log_softmax(logits.double(), dim=-1).gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1)
    return (logps * mask.double()).sum(-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_sequence_logprobs_forward_matches_torch(dtype):
    logits, targets, mask = _problem(dtype=dtype)
    got = kernels.sequence_logprobs(logits, targets, mask)
    expected = _torch_reference(logits, targets, mask)
    assert got.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-5)


def test_sequence_logprobs_gradients_match_torch_autograd():
    logits, targets, mask = _problem()
    ours = logits.clone().requires_grad_(True)
    theirs = logits.clone().requires_grad_(True)
    weights = torch.tensor([1.0, -2.0, 0.5])
    (kernels.sequence_logprobs(ours, targets, mask) * weights).sum().backward()
    (_torch_reference(theirs.float(), targets, mask).float() * weights).sum().backward()
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-5, atol=1e-6)
    assert torch.all(ours.grad[~mask] == 0)


def test_sequence_logprobs_gradcheck_float64():
    logits, targets, mask = _problem(batch=2, steps=3, vocab=11, dtype=torch.float64)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: kernels.sequence_logprobs(x, targets, mask), (logits,))


def test_sequence_logprobs_float_mask_weights_and_no_nan_from_padding():
    logits, targets, mask = _problem()
    weights = mask.float() * 0.5
    logits[~mask] = float("nan")  # garbage in padded positions must not leak
    got = kernels.sequence_logprobs(logits, targets, weights)
    assert torch.isfinite(got).all()
    clean = logits.clone()
    clean[~mask] = 0.0
    torch.testing.assert_close(got.double(), _torch_reference(clean, targets, weights), rtol=1e-5, atol=1e-5)


def test_sequence_logprobs_refuses_bad_inputs():
    logits, targets, mask = _problem()
    bad = targets.clone()
    bad[mask] = 10_000
    with pytest.raises(InvalidArgumentError, match=r"is outside the vocabulary \[0, 301\)"):
        kernels.sequence_logprobs(logits, bad, mask)
    with pytest.raises(InvalidArgumentError, match="expected a contiguous tensor"):
        kernels.sequence_logprobs(logits.transpose(0, 1), targets.T, mask.T)
    with pytest.raises(InvalidArgumentError, match="targets and mask must have shape"):
        kernels.sequence_logprobs(logits, targets[:, :2], mask)


def _dpo_reference(pc, pr, rc, rr, beta, loss_type, eps):
    x = (pc - pr) - (rc - rr)
    if loss_type in ("sigmoid", "cdpo"):
        return -(1 - eps) * F.logsigmoid(beta * x) - eps * F.logsigmoid(-beta * x)
    if loss_type == "robust":
        return (-(1 - eps) * F.logsigmoid(beta * x) + eps * F.logsigmoid(-beta * x)) / (1 - 2 * eps)
    if loss_type == "hinge":
        return torch.relu(1 - beta * x)
    return (x - 1 / (2 * beta)) ** 2


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo", "hinge", "robust", "cdpo"])
def test_dpo_loss_matches_the_paper_definitions_with_gradients(loss_type):
    generator = torch.Generator().manual_seed(1)
    inputs = [torch.randn(64, generator=generator, dtype=torch.float64) * 5 for _ in range(4)]
    eps = 0.1 if loss_type in ("robust", "cdpo") else 0.0
    ours = [t.clone().requires_grad_(True) for t in inputs]
    theirs = [t.clone().requires_grad_(True) for t in inputs]
    got = kernels.dpo_loss(*ours, beta=0.3, loss_type=loss_type, label_smoothing=eps)
    expected = _dpo_reference(*theirs, 0.3, loss_type, eps)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    got.sum().backward()
    expected.sum().backward()
    for mine, reference in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine.grad, reference.grad, rtol=1e-10, atol=1e-12)


def test_dpo_loss_at_initialisation():
    logps = torch.full((4,), -12.5)
    beta = 0.1
    assert torch.allclose(kernels.dpo_loss(logps, logps, logps, logps), torch.full((4,), math.log(2)))
    ipo = kernels.dpo_loss(logps, logps, logps, logps, beta=beta, loss_type="ipo")
    assert torch.allclose(ipo, torch.full((4,), 1 / (4 * beta**2)))
    assert torch.equal(kernels.dpo_loss(logps, logps, logps, logps, loss_type="hinge"), torch.ones(4))


def test_dpo_loss_gradcheck_and_frozen_reference():
    generator = torch.Generator().manual_seed(2)
    pc, pr = (torch.randn(5, generator=generator, dtype=torch.float64, requires_grad=True) for _ in range(2))
    rc, rr = (torch.randn(5, generator=generator, dtype=torch.float64) for _ in range(2))
    assert torch.autograd.gradcheck(lambda a, b: kernels.dpo_loss(a, b, rc, rr, beta=0.5), (pc, pr))
    assert torch.autograd.gradcheck(
        lambda a, b: kernels.dpo_loss(a, b, rc, rr, loss_type="robust", label_smoothing=0.2), (pc, pr)
    )


def test_dpo_loss_bad_input():
    x = torch.zeros(3)
    with pytest.raises(InvalidArgumentError, match="loss_type must be one of"):
        kernels.dpo_loss(x, x, x, x, loss_type="kto")
    with pytest.raises(InvalidArgumentError, match="beta must be finite and > 0"):
        kernels.dpo_loss(x, x, x, x, beta=0.0)
    with pytest.raises(InvalidArgumentError, match=r"label_smoothing must be in \[0, 0.5\)"):
        kernels.dpo_loss(x, x, x, x, loss_type="robust", label_smoothing=0.5)
    with pytest.raises(InvalidArgumentError, match="pair 1 are not finite"):
        kernels.dpo_loss(torch.tensor([0.0, float("nan"), 0.0]), x, x, x)
    with pytest.raises(InvalidArgumentError, match="share one"):
        kernels.dpo_loss(x, torch.zeros(4), x, x)


def _gae_reference(rewards, values, dones, gamma, lam):
    advantages = np.zeros_like(rewards, dtype=np.float64)
    for b in range(rewards.shape[0]):
        running = 0.0
        for t in reversed(range(rewards.shape[1])):
            not_done = 1.0 - float(dones[b, t])
            delta = rewards[b, t] + gamma * values[b, t + 1] * not_done - values[b, t]
            running = delta + gamma * lam * not_done * running
            advantages[b, t] = running
    return advantages, advantages + values[:, :-1]


@pytest.mark.parametrize("as_torch", [False, True])
def test_gae_matches_reference_loop(as_torch):
    rng = np.random.default_rng(3)
    rewards = rng.standard_normal((4, 50)).astype(np.float32)
    values = rng.standard_normal((4, 51)).astype(np.float32)
    dones = rng.random((4, 50)) < 0.1
    expected_adv, expected_ret = _gae_reference(rewards, values, dones, 0.99, 0.95)
    args = (rewards, values, dones)
    if as_torch:
        args = tuple(torch.from_numpy(a) for a in args)
    advantages, returns = kernels.gae(*args, gamma=0.99, lam=0.95)
    assert isinstance(advantages, torch.Tensor) == as_torch
    np.testing.assert_allclose(np.asarray(advantages), expected_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(returns), expected_ret, rtol=1e-5, atol=1e-5)


def test_gae_bad_input():
    r = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(InvalidArgumentError, match=r"values: expected shape \[2, 4\]"):
        kernels.gae(r, np.zeros((2, 3), dtype=np.float32), np.zeros((2, 3), dtype=bool))
    with pytest.raises(InvalidArgumentError, match=r"gamma must be in \[0, 1\]"):
        kernels.gae(r, np.zeros((2, 4), dtype=np.float32), np.zeros((2, 3), dtype=bool), gamma=1.5)
