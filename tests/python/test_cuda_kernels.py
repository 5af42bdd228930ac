"""CUDA twins against the CPU implementations (run only with a CUDA build and a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reactor import engine, kernels

pytestmark = pytest.mark.cuda


def test_uniform_noise_on_cuda_is_bit_identical_to_cpu():
    cpu = torch.empty(100_003, dtype=torch.float64)
    gpu = torch.empty(100_003, dtype=torch.float64, device="cuda")
    engine.fill_uniform(cpu, seed=3, stream=1, offset=5, low=-1.0, high=2.0)
    engine.fill_uniform(
        gpu, seed=3, stream=1, offset=5, low=-1.0, high=2.0, cuda_stream=torch.cuda.current_stream()
    )
    assert torch.equal(gpu.cpu(), cpu)


def test_sequence_logprobs_and_gradients_on_cuda_match_cpu():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 16, 5003, generator=generator) * 3
    targets = torch.randint(0, 5003, (4, 16), generator=generator)
    mask = torch.rand(4, 16, generator=generator) > 0.2
    cpu_leaf = logits.clone().requires_grad_(True)
    gpu_leaf = logits.cuda().requires_grad_(True)
    cpu_out = kernels.sequence_logprobs(cpu_leaf, targets, mask)
    gpu_out = kernels.sequence_logprobs(gpu_leaf, targets.cuda(), mask.cuda())
    torch.testing.assert_close(gpu_out.cpu(), cpu_out, rtol=1e-5, atol=1e-4)
    cpu_out.sum().backward()
    gpu_out.sum().backward()
    torch.testing.assert_close(gpu_leaf.grad.cpu(), cpu_leaf.grad, rtol=1e-4, atol=1e-6)


def test_dpo_and_gae_on_cuda_match_cpu():
    logps = [torch.randn(257, dtype=torch.float64) for _ in range(4)]
    cpu = kernels.dpo_loss(*logps, loss_type="robust", label_smoothing=0.1)
    gpu = kernels.dpo_loss(*(t.cuda() for t in logps), loss_type="robust", label_smoothing=0.1)
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-12, atol=1e-12)
    rewards, values = torch.randn(8, 100), torch.randn(8, 101)
    dones = torch.rand(8, 100) < 0.05
    adv_cpu, ret_cpu = kernels.gae(rewards, values, dones)
    adv_gpu, ret_gpu = kernels.gae(rewards.cuda(), values.cuda(), dones.cuda())
    torch.testing.assert_close(adv_gpu.cpu(), adv_cpu, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ret_gpu.cpu(), ret_cpu, rtol=1e-6, atol=1e-6)


def test_weighted_sum_adam_and_sumtree_on_cuda_match_cpu():
    updates = torch.randn(9, 10_001)
    weights = torch.rand(9, dtype=torch.float64)
    out = torch.empty(10_001, device="cuda")
    engine.weighted_sum_into(updates.cuda(), weights.cuda(), out, stream=torch.cuda.current_stream())
    np.testing.assert_array_equal(out.cpu().numpy(), engine.weighted_sum(updates.numpy(), weights.numpy()))

    param, grad = torch.randn(1000), torch.randn(1000)
    state_cpu = [torch.zeros(1000), torch.zeros(1000)]
    gpu = [param.cuda(), grad.cuda(), torch.zeros(1000, device="cuda"), torch.zeros(1000, device="cuda")]
    cpu_param = param.clone()
    engine.adam_step(
        cpu_param, grad, *state_cpu, step=1, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True
    )
    engine.adam_step(*gpu, step=1, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)
    torch.testing.assert_close(gpu[0].cpu(), cpu_param, rtol=1e-6, atol=1e-7)

    tree = engine.new_sumtree(256)
    priorities = np.random.default_rng(0).random(256)
    engine.sumtree_update(tree, np.arange(256), priorities)
    gpu_tree = torch.zeros(512, dtype=torch.float64, device="cuda")
    engine.sumtree_update(gpu_tree, torch.arange(256, device="cuda"), torch.from_numpy(priorities).cuda())
    np.testing.assert_array_equal(gpu_tree.cpu().numpy(), tree)
    values = torch.rand(64, dtype=torch.float64) * float(tree[1]) * 0.999
    found = torch.empty(64, dtype=torch.int64, device="cuda")
    engine.sumtree_search(gpu_tree, values.cuda(), found)
    np.testing.assert_array_equal(found.cpu().numpy(), engine.sumtree_search(tree, values.numpy()))
