"""The cases of ``reactor bench kernels``: each kernel with its numpy and torch equivalents on the
same inputs, and the minimum memory traffic and flops that define its GB/s and roofline point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from reactor import engine

__all__ = ["SIZES", "KernelCase", "build_cases"]

# Problem sizes per preset. "large" includes the fused log-prob target (B=8, T=512, V=32000).
SIZES: dict[str, dict[str, Any]] = {
    "small": {
        "n": 1 << 20,
        "kd": (32, 1 << 15),
        "btv": (2, 64, 8000),
        "docs": 2000,
        "bt": (16, 512),
        "tree": 1 << 16,
    },
    "medium": {
        "n": 1 << 24,
        "kd": (100, 1 << 18),
        "btv": (8, 128, 32000),
        "docs": 20000,
        "bt": (64, 2048),
        "tree": 1 << 20,
    },
    "large": {
        "n": 1 << 26,
        "kd": (100, 1 << 20),
        "btv": (8, 512, 32000),
        "docs": 100000,
        "bt": (256, 2048),
        "tree": 1 << 22,
    },
}


@dataclass
class KernelCase:
    """One kernel at one size: implementations by backend name, traffic and work per call."""

    kernel: str
    size: int
    shape: str
    bytes_moved: float
    flops: float
    impls: dict[str, Callable[[], object]]


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def build_cases(preset: str, *, seed: int = 0) -> list[KernelCase]:
    """Inputs and implementations for every kernel at ``preset`` (CPU)."""
    sizes = SIZES[preset]
    torch = _torch()
    rng = np.random.default_rng(seed)
    cases: list[KernelCase] = []

    def add(
        kernel: str, size: int, shape: str, bytes_moved: float, flops: float, **impls: Callable[[], object]
    ) -> None:
        cases.append(
            KernelCase(kernel, size, shape, bytes_moved, flops, {k: v for k, v in impls.items() if v})
        )

    n = sizes["n"]
    x = engine.uniform(n, seed=seed, dtype=np.float32)
    tx = torch.from_numpy(x) if torch else None
    add(
        "reduce_sum",
        n,
        f"[{n}]",
        4.0 * n,
        float(n),
        reactor=lambda: engine.reduce_sum(x),
        numpy=lambda: np.sum(x, dtype=np.float64),
        torch=(lambda: torch.sum(tx, dtype=torch.float64)) if torch else None,
    )
    add(
        "fill_normal",
        n,
        f"[{n}]",
        4.0 * n,
        30.0 * n,
        reactor=lambda: engine.fill_normal(x, seed=1),
        numpy=lambda: np.random.default_rng(1).standard_normal(n, dtype=np.float32, out=x),
        torch=(lambda: tx.normal_()) if torch else None,
    )

    k, d = sizes["kd"]
    updates = rng.standard_normal((k, d)).astype(np.float32)
    weights = rng.random(k)
    tu = torch.from_numpy(updates) if torch else None
    tw = torch.from_numpy(weights.astype(np.float32)) if torch else None
    traffic = 4.0 * k * d
    add(
        "weighted_sum",
        k * d,
        f"[{k}, {d}]",
        traffic,
        2.0 * k * d,
        reactor=lambda: engine.weighted_sum(updates, weights),
        numpy=lambda: weights.astype(np.float32) @ updates,
        torch=(lambda: tw @ tu) if torch else None,
    )
    add(
        "coordinate_median",
        k * d,
        f"[{k}, {d}]",
        traffic,
        3.0 * k * d,
        reactor=lambda: engine.coordinate_median(updates),
        numpy=lambda: np.median(updates, axis=0),
        torch=(lambda: torch.median(tu, dim=0)) if torch else None,
    )
    cut = int(0.2 * k)
    add(
        "coordinate_trimmed_mean",
        k * d,
        f"[{k}, {d}] beta=0.2",
        traffic,
        3.0 * k * d,
        reactor=lambda: engine.coordinate_trimmed_mean(updates, 0.2),
        numpy=lambda: np.sort(updates, axis=0)[cut : k - cut].mean(axis=0),
        torch=(lambda: torch.sort(tu, dim=0).values[cut : k - cut].mean(dim=0)) if torch else None,
    )
    add(
        "pairwise_sq_distances",
        k * d,
        f"[{k}, {d}]",
        traffic,
        float(k * k * d),
        reactor=lambda: engine.pairwise_sq_distances(updates),
        numpy=lambda: _centred_gram_distances(updates),
        torch=(lambda: torch.cdist(tu.double(), tu.double()) ** 2) if torch else None,
    )
    add(
        "row_norms",
        k * d,
        f"[{k}, {d}]",
        traffic,
        2.0 * k * d,
        reactor=lambda: engine.row_norms(updates),
        numpy=lambda: np.linalg.norm(updates, axis=1),
        torch=(lambda: torch.linalg.vector_norm(tu, dim=1)) if torch else None,
    )

    if torch:
        cases.extend(_training_cases(torch, sizes, seed))
    cases.extend(_hashing_and_tree_cases(sizes, rng))
    return cases


def _centred_gram_distances(updates: np.ndarray) -> np.ndarray:
    centred = updates.astype(np.float64) - updates.mean(axis=0, dtype=np.float64)
    gram = centred @ centred.T
    diag = np.diag(gram)
    return np.maximum(diag[:, None] + diag[None, :] - 2 * gram, 0.0)


def _training_cases(torch: Any, sizes: dict[str, Any], seed: int) -> list[KernelCase]:
    from reactor import kernels

    generator = torch.Generator().manual_seed(seed)
    b, t, v = sizes["btv"]
    logits = torch.randn(b, t, v, generator=generator)
    targets = torch.randint(0, v, (b, t), generator=generator)
    mask = torch.ones(b, t, dtype=torch.bool)

    def ours() -> None:
        leaf = logits.requires_grad_(True)
        kernels.sequence_logprobs(leaf, targets, mask).sum().backward()
        leaf.grad = None

    def theirs() -> None:
        leaf = logits.requires_grad_(True)
        logps = torch.log_softmax(leaf, dim=-1).gather(-1, targets[..., None]).squeeze(-1)
        (logps * mask).sum(-1).sum().backward()
        leaf.grad = None

    rows = b * t * v
    cases = [
        # forward + backward: logits read twice, gradient written once
        KernelCase(
            "sequence_logprobs_fwd_bwd",
            rows,
            f"[{b}, {t}, {v}]",
            12.0 * rows,
            12.0 * rows,
            {"reactor": ours, "torch": theirs},
        ),
    ]

    bt_b, bt_t = sizes["bt"]
    rewards = torch.randn(bt_b, bt_t, generator=generator)
    values = torch.randn(bt_b, bt_t + 1, generator=generator)
    dones = torch.rand(bt_b, bt_t, generator=generator) < 0.01

    def gae_torch() -> None:
        advantages = torch.empty_like(rewards)
        running = torch.zeros(bt_b)
        not_done = 1.0 - dones.float()
        for step in reversed(range(bt_t)):
            delta = rewards[:, step] + 0.99 * values[:, step + 1] * not_done[:, step] - values[:, step]
            running = delta + 0.99 * 0.95 * not_done[:, step] * running
            advantages[:, step] = running

    cases.append(
        KernelCase(
            "gae",
            bt_b * bt_t,
            f"[{bt_b}, {bt_t}]",
            17.0 * bt_b * bt_t,
            8.0 * bt_b * bt_t,
            {"reactor": lambda: kernels.gae(rewards, values, dones), "torch": gae_torch},
        )
    )

    pairs = 1 << 16
    logps = [torch.randn(pairs, generator=generator) for _ in range(4)]
    cases.append(
        KernelCase(
            "dpo_loss",
            pairs,
            f"[{pairs}]",
            24.0 * pairs,
            30.0 * pairs,
            {
                "reactor": lambda: kernels.dpo_loss(*logps),
                "torch": lambda: (
                    -torch.nn.functional.logsigmoid(0.1 * ((logps[0] - logps[1]) - (logps[2] - logps[3])))
                ),
            },
        )
    )

    count = sizes["n"]
    param = torch.randn(count, generator=generator)
    grad = torch.randn(count, generator=generator)
    state = (torch.zeros(count), torch.zeros(count))
    reference = param.clone().requires_grad_(True)
    reference.grad = grad.clone()
    optimizer = torch.optim.AdamW([reference], lr=1e-3)
    steps = [0]

    def ours_adam() -> None:
        steps[0] += 1
        engine.adam_step(
            param, grad, *state, step=steps[0], lr=1e-3, weight_decay=0.01, decoupled_weight_decay=True
        )

    cases.append(
        KernelCase(
            "adam_step",
            count,
            f"[{count}]",
            28.0 * count,
            12.0 * count,
            {"reactor": ours_adam, "torch": optimizer.step},
        )
    )
    return cases


def _hashing_and_tree_cases(sizes: dict[str, Any], rng: np.random.Generator) -> list[KernelCase]:
    docs = sizes["docs"]
    tokens = rng.integers(0, 2**64, size=docs * 100, dtype=np.uint64)
    offsets = np.arange(0, docs * 100 + 1, 100, dtype=np.int64)
    a, b = engine.minhash_permutations(128, seed=1)
    prime = np.uint64((1 << 61) - 1)

    def numpy_minhash() -> np.ndarray:
        # datasketch's formula, vectorised per document (its uint64 products wrap, ours are exact).
        return np.stack(
            [
                (((a[:, None] * tokens[o : o + 100][None, :]) + b[:, None]) % prime).min(axis=1)
                for o in offsets[:-1]
            ]
        )

    def numpy_simhash() -> np.ndarray:
        bits = np.unpackbits(tokens.view(np.uint8).reshape(docs, 100, 8), axis=2, bitorder="little")
        votes = bits.reshape(docs, 100, 64).sum(axis=1, dtype=np.int32) * 2 - 100
        return np.packbits(votes > 0, axis=1, bitorder="little").view(np.uint64).ravel()

    capacity = sizes["tree"]
    tree = engine.new_sumtree(capacity)
    priorities = rng.random(capacity)
    engine.sumtree_update(tree, np.arange(capacity), priorities)
    batch_idx = rng.integers(0, capacity, size=256)
    batch_prio = rng.random(256)
    values = rng.random(256) * priorities.sum() * 0.999

    def ours_tree() -> None:
        engine.sumtree_update(tree, batch_idx, batch_prio)
        engine.sumtree_search(tree, values)

    def numpy_tree() -> None:
        priorities[batch_idx] = batch_prio
        np.searchsorted(np.cumsum(priorities), values, side="right")

    return [
        KernelCase(
            "minhash",
            docs,
            f"{docs} docs x 100 tokens, 128 perm",
            8.0 * docs * (100 + 128),
            6.0 * docs * 100 * 128,
            {
                "reactor": lambda: engine.minhash(tokens, offsets, num_perm=128, seed=1),
                "numpy": numpy_minhash,
            },
        ),
        KernelCase(
            "simhash",
            docs,
            f"{docs} docs x 100 tokens",
            8.0 * docs * 101,
            2.0 * docs * 100 * 64,
            {"reactor": lambda: engine.simhash(tokens, offsets), "numpy": numpy_simhash},
        ),
        KernelCase(
            "sumtree_update_search",
            capacity,
            f"capacity {capacity}, batch 256",
            2 * 256 * 8.0 * 2 * np.log2(capacity),
            4.0 * 256 * np.log2(capacity),
            {"reactor": ours_tree, "numpy": numpy_tree},
        ),
    ]
