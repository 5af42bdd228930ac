"""MinHash/SimHash, sum tree and fused Adam against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reactor import engine
from reactor.errors import InvalidArgumentError

P = (1 << 61) - 1


def _ragged(seed=0, docs=40):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 30, size=docs)
    lengths[3] = 0  # an empty document
    tokens = rng.integers(0, 2**64, size=int(lengths.sum()), dtype=np.uint64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return tokens, offsets


def test_minhash_permutations_come_from_philox():
    a, b = engine.minhash_permutations(16, seed=9)
    # numpy's Philox is an independent implementation of the same generator (key = seed, stream 0x4d48).
    raw = np.random.Philox(key=[9, 0x4D48], counter=[2**64 - 1] * 4).random_raw(32)
    assert [int(x) for x in a] == [1 + int(raw[2 * i]) % (P - 1) for i in range(16)]
    assert [int(x) for x in b] == [int(raw[2 * i + 1]) % P for i in range(16)]


def test_minhash_matches_exact_integer_reference():
    tokens, offsets = _ragged()
    signatures = engine.minhash(tokens, offsets, num_perm=32, seed=5)
    a, b = engine.minhash_permutations(32, seed=5)
    for j in range(len(offsets) - 1):
        doc = [int(x) % P for x in tokens[offsets[j] : offsets[j + 1]]]
        for i in range(32):
            expected = min(((int(a[i]) * x + int(b[i])) % P for x in doc), default=2**64 - 1)
            assert int(signatures[j, i]) == expected


def test_minhash_estimates_jaccard():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**64, size=400, dtype=np.uint64)
    other = np.concatenate([base[:300], rng.integers(0, 2**64, size=100, dtype=np.uint64)])  # J = 300/500
    signatures = engine.minhash(np.concatenate([base, other]), np.array([0, 400, 800]), num_perm=1024, seed=2)
    assert abs(np.mean(signatures[0] == signatures[1]) - 0.6) < 0.05


def test_simhash_majority_vote_reference():
    tokens, offsets = _ragged(seed=3)
    fingerprints = engine.simhash(tokens, offsets)
    for j in range(len(offsets) - 1):
        doc = [int(x) for x in tokens[offsets[j] : offsets[j + 1]]]
        expected = 0
        for bit in range(64):
            votes = sum(1 if (x >> bit) & 1 else -1 for x in doc)
            expected |= (votes > 0) << bit
        assert int(fingerprints[j]) == expected


def test_ragged_layout_errors():
    tokens = np.arange(5, dtype=np.uint64)
    with pytest.raises(InvalidArgumentError, match="offsets must not decrease"):
        engine.minhash(tokens, np.array([0, 3, 2, 5]))
    with pytest.raises(InvalidArgumentError, match=r"offsets\[-1\] must equal the number of tokens 5"):
        engine.simhash(tokens, np.array([0, 4]))
    with pytest.raises(InvalidArgumentError, match=r"token_hashes: expected dtype uint64"):
        engine.simhash(np.arange(5), np.array([0, 5]))


def test_sumtree_update_and_search_match_cumsum():
    rng = np.random.default_rng(4)
    tree = engine.new_sumtree(1024)
    priorities = rng.random(1000) * (rng.random(1000) > 0.2)  # some zero priorities
    engine.sumtree_update(tree, np.arange(1000), priorities)
    assert tree[1] == pytest.approx(priorities.sum(), rel=1e-12)
    values = rng.random(5000) * tree[1]
    expected = np.searchsorted(np.cumsum(priorities), values, side="right")
    got = engine.sumtree_search(tree, values)
    np.testing.assert_array_equal(got, expected)
    assert np.all(priorities[got] > 0)


def test_sumtree_batched_updates_never_drift():
    rng = np.random.default_rng(5)
    tree = engine.new_sumtree(256)
    leaves = np.zeros(256)
    for _ in range(2000):
        idx = rng.integers(0, 256, size=16)
        prio = rng.random(16) * 1e3
        engine.sumtree_update(tree, idx, prio)
        for i, p in zip(idx, prio, strict=True):
            leaves[i] = p  # the last of duplicates wins
    np.testing.assert_array_equal(tree[256:], leaves)
    # Every internal node equals the sum of its children exactly (recomputed, not incremented).
    for node in range(1, 256):
        assert tree[node] == tree[2 * node] + tree[2 * node + 1]


def test_sumtree_bad_input_leaves_the_tree_untouched():
    tree = engine.new_sumtree(8)
    engine.sumtree_update(tree, np.array([0, 1]), np.array([1.0, 2.0]))
    before = tree.copy()
    for idx, prio, message in (
        ([2, 8], [1.0, 1.0], r"indices\[1\] = 8 is outside \[0, 8\)"),
        ([2, 3], [1.0, np.nan], r"priorities\[1\] = nan must be finite"),
        ([2], [-1.0], r"priorities\[0\] = -1"),
    ):
        with pytest.raises(InvalidArgumentError, match=message):
            engine.sumtree_update(tree, np.array(idx), np.array(prio))
        np.testing.assert_array_equal(tree, before)
    with pytest.raises(InvalidArgumentError, match=r"outside \[0, total = 3\)"):
        engine.sumtree_search(tree, np.array([3.0]))
    with pytest.raises(InvalidArgumentError, match="the tree is empty"):
        engine.sumtree_search(engine.new_sumtree(4), np.array([0.0]))
    with pytest.raises(InvalidArgumentError, match="power of two"):
        engine.new_sumtree(6)


@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_step_matches_torch_optim(decoupled):
    generator = torch.Generator().manual_seed(0)
    start = torch.randn(3, 1000, generator=generator)
    reference = start.clone().requires_grad_(True)
    optim_cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    optimizer = optim_cls([reference], lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.05, foreach=False)
    param = start.clone()
    exp_avg, exp_avg_sq = torch.zeros_like(param), torch.zeros_like(param)
    for step in range(1, 21):
        grad = torch.randn(3, 1000, generator=generator)
        reference.grad = grad.clone()
        optimizer.step()
        engine.adam_step(
            param,
            grad,
            exp_avg,
            exp_avg_sq,
            step=step,
            lr=1e-2,
            betas=(0.9, 0.99),
            eps=1e-8,
            weight_decay=0.05,
            decoupled_weight_decay=decoupled,
        )
    torch.testing.assert_close(param, reference.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(exp_avg_sq, optimizer.state[reference]["exp_avg_sq"], rtol=1e-5, atol=1e-9)


def test_adam_step_bad_input():
    p = np.zeros(4, dtype=np.float32)
    with pytest.raises(InvalidArgumentError, match="step must be >= 1"):
        engine.adam_step(p, p.copy(), p.copy(), p.copy(), step=0, lr=0.1)
    with pytest.raises(InvalidArgumentError, match=r"grad: expected the shape of float32\[4\]"):
        engine.adam_step(p, np.zeros(5, np.float32), p.copy(), p.copy(), step=1, lr=0.1)
    with pytest.raises(InvalidArgumentError, match=r"beta1 must be in \[0, 1\)"):
        engine.adam_step(p, p.copy(), p.copy(), p.copy(), step=1, lr=0.1, betas=(1.0, 0.9))
