from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from scipy import stats

from reactor.errors import (
    CorruptDataError,
    InvalidArgumentError,
    OutOfRangeError,
    TimeoutError,
    UnavailableError,
)
from reactor.replay import ReplayBuffer, SampleToInsertRatio

SPEC = {
    "obs": ("float32", (8,)),
    "action": ("int64", ()),
    "reward": ("float32", ()),
    "next_obs": ("float32", (8,)),
    "done": ("bool", ()),
}


def transitions(n, start=0):
    index = np.arange(start, start + n)
    return {
        "obs": np.repeat(index[:, None], 8, axis=1).astype(np.float32),
        "action": index,
        "reward": (index % 3).astype(np.float32),
        "next_obs": np.repeat(index[:, None] + 1, 8, axis=1).astype(np.float32),
        "done": index % 10 == 9,
    }


def test_interface_contract_extend_add_sample_update_len():
    buf = ReplayBuffer(100, SPEC, sampler="prioritized", alpha=0.6, beta=0.4, seed=0)
    keys = buf.extend(transitions(10))
    assert keys.dtype == np.uint64 and keys.shape == (10,) and len(set(keys.tolist())) == 10
    key = buf.add(
        obs=np.zeros(8, np.float32), action=3, reward=1.0, next_obs=np.ones(8, np.float32), done=False
    )
    assert isinstance(key, int) and len(buf) == 11
    batch = buf.sample(32)
    assert batch["obs"].shape == (32, 8) and batch["obs"].dtype == np.float32
    assert batch["action"].dtype == np.int64 and batch["done"].dtype == np.bool_
    assert (
        batch.keys.dtype == np.uint64 and batch.weights.shape == (32,) and batch.probabilities.shape == (32,)
    )
    # each sampled row is one stored transition, whole: obs = action (or the added item: obs 0, action 3)
    np.testing.assert_array_equal(batch["next_obs"], batch["obs"] + 1)
    added = (batch["obs"][:, 0] == 0) & (batch["action"] == 3)
    np.testing.assert_array_equal(batch["obs"][~added, 0], batch["action"][~added])
    assert buf.update_priorities(batch.keys, np.full(32, 2.0)) == 0
    assert set(batch.as_dict()) == set(SPEC) and dict(batch.items()).keys() == SPEC.keys() and "obs" in batch


def test_prioritized_distribution_and_weights_match_the_paper():
    buf = ReplayBuffer(16, {"x": ("int64", ())}, alpha=0.7, beta=0.5, epsilon=0.0, seed=3)
    priorities = np.arange(1, 9, dtype=np.float64)
    keys = buf.extend({"x": np.arange(8)}, priorities=priorities)
    mass = priorities**0.7
    expected_p = mass / mass.sum()
    counts = np.zeros(8)
    for _ in range(40):
        batch = buf.sample(1000)
        counts += np.bincount(batch["x"], minlength=8)
        np.testing.assert_allclose(batch.probabilities, expected_p[batch["x"]], rtol=1e-12)
        expected_w = (len(buf) * expected_p[batch["x"]]) ** -0.5 / (len(buf) * expected_p.min()) ** -0.5
        np.testing.assert_allclose(batch.weights, expected_w, rtol=1e-12)
    assert stats.chisquare(counts, counts.sum() * expected_p).pvalue > 1e-3
    assert buf.update_priorities(keys, np.ones(8)) == 0
    np.testing.assert_allclose(buf.sample(100).probabilities, 1 / 8)


def test_new_items_default_to_the_largest_live_priority():
    buf = ReplayBuffer(8, {"x": ("int64", ())}, alpha=1.0, epsilon=0.0)
    buf.extend({"x": [0]}, priorities=[4.0])
    buf.extend({"x": [1]})
    np.testing.assert_allclose(buf.sample(50).probabilities, 0.5)
    fixed = ReplayBuffer(8, {"x": ("int64", ())}, alpha=1.0, epsilon=0.0, default_priority=1.0)
    fixed.extend({"x": [0]}, priorities=[3.0])
    fixed.extend({"x": [1]})
    assert set(np.round(fixed.sample(200).probabilities, 6)) == {0.75, 0.25}


@pytest.mark.parametrize("bad", [np.nan, -1.0, np.inf])
def test_bad_priorities_raise_and_leave_the_tree_unpoisoned(bad):
    buf = ReplayBuffer(8, SPEC)
    keys = buf.extend(transitions(4))
    with pytest.raises(InvalidArgumentError, match=r"priorities\[1\]"):
        buf.update_priorities(keys[:2], [1.0, bad])
    with pytest.raises(InvalidArgumentError, match="priorities"):
        buf.extend(transitions(2), priorities=[bad, 1.0])
    np.testing.assert_allclose(buf.sample(64).probabilities, 0.25)  # nothing changed
    assert len(buf) == 4


def test_stale_and_unknown_keys():
    buf = ReplayBuffer(4, SPEC)
    old = buf.extend(transitions(4))
    buf.extend(transitions(2, start=4))  # the two oldest leave; their slots are reused
    assert buf.update_priorities(old, np.full(4, 5.0)) == 2  # dropped and counted, never applied
    assert buf.stats()["stale_updates"] == 2
    never_issued = np.array([old.max() + (1 << 40)], dtype=np.uint64)
    with pytest.raises(OutOfRangeError, match="never issued"):
        buf.update_priorities(never_issued, [1.0])
    with pytest.raises(OutOfRangeError, match="no longer"):
        buf.gather(old[:1])
    with pytest.raises(InvalidArgumentError, match="1-D of one length"):
        buf.update_priorities(old, [1.0])


def test_wrong_fields_dtypes_and_shapes_are_named():
    buf = ReplayBuffer(8, SPEC)
    batch = transitions(3)
    with pytest.raises(InvalidArgumentError, match=r"missing: \['done'\]"):
        buf.extend({k: v for k, v in batch.items() if k != "done"})
    with pytest.raises(InvalidArgumentError, match=r"field 'obs': expected shape \(3, 8\)"):
        buf.extend({**batch, "obs": np.zeros((3, 7), np.float32)})
    with pytest.raises(InvalidArgumentError, match="field 'action': expected dtype int64"):
        buf.extend({**batch, "action": np.zeros(3, np.float64)})
    with pytest.raises(InvalidArgumentError, match="unknown"):
        buf.extend({**batch, "extra": np.zeros(3)})
    with pytest.raises(InvalidArgumentError, match="dtype"):
        ReplayBuffer(8, {"s": ("U4", ())})
    with pytest.raises(InvalidArgumentError, match="shape"):
        ReplayBuffer(8, {"s": ("float32", (0,))})
    with pytest.raises(InvalidArgumentError, match="sampler"):
        ReplayBuffer(8, SPEC, sampler="random")
    with pytest.raises(InvalidArgumentError, match="capacity"):
        ReplayBuffer(0, SPEC)
    assert len(buf) == 0
    buf.extend({**batch, "obs": batch["obs"].astype(np.float64)})  # a same-kind cast is fine
    assert len(buf) == 3


def test_empty_buffer_sampling_is_an_error_not_a_hang():
    buf = ReplayBuffer(8, SPEC)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="size 0"):
        buf.sample(4)
    with pytest.raises(TimeoutError):
        buf.sample(4, timeout=0.05)
    assert time.monotonic() - started < 5
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        buf.sample(0)


def test_blocking_sample_wakes_on_insert_and_close_releases_waiters():
    buf = ReplayBuffer(8, SPEC, timeout=None)
    threading.Timer(0.05, lambda: buf.extend(transitions(1))).start()
    assert buf.sample(1)["action"][0] == 0
    other = ReplayBuffer(8, SPEC, timeout=None)
    threading.Timer(0.05, other.close).start()
    with pytest.raises(UnavailableError):
        other.sample(1)


def test_sample_to_insert_ratio_limits_both_sides():
    buf = ReplayBuffer(1000, SPEC, sampler="uniform", rate_limiter=SampleToInsertRatio(1.0, 4, 2.0))
    buf.extend(transitions(4))  # cursor 4 = 1 * 4 (min size) -> window [2, 6]
    with pytest.raises(TimeoutError):
        buf.extend(transitions(3))  # cursor 7 > 6
    buf.sample(2)
    with pytest.raises(TimeoutError):
        buf.sample(1)  # cursor 1 < 2
    with pytest.raises(InvalidArgumentError, match="deadlock"):
        SampleToInsertRatio(1.0, 4, 1.0).parameters()


def test_queue_and_stack():
    queue = ReplayBuffer.queue(4, {"x": ("int64", ())})
    queue.extend({"x": [1, 2, 3]})
    assert queue.sample(2)["x"].tolist() == [1, 2]
    assert queue.sample(1)["x"].tolist() == [3]
    with pytest.raises(TimeoutError):
        queue.sample(1)
    stack = ReplayBuffer.stack(4, {"x": ("int64", ())})
    stack.extend({"x": [1, 2, 3]})
    assert stack.sample(3)["x"].tolist() == [3, 2, 1]


def test_reservoir_is_uniform_over_the_stream():
    kept = np.zeros(200)
    for seed in range(300):
        buf = ReplayBuffer(20, {"x": ("int64", ())}, sampler="reservoir", seed=seed)
        for start in range(0, 200, 50):
            buf.extend({"x": np.arange(start, start + 50)})
        assert len(buf) == 20 and buf.stats()["rejected_inserts"] > 0
        kept[np.unique(buf.sample(400)["x"])] += 1
    # early and late items are equally represented (each kept with probability 20/200)
    assert abs(kept[:100].sum() - kept[100:].sum()) < 0.15 * kept.sum()


def test_sequences_and_nstep():
    spec = {"t": ("int64", ()), "reward": ("float32", ()), "done": ("bool", ())}
    buf = ReplayBuffer(64, spec, sampler="uniform", episode_end_field="done", sequence_length=4, seed=1)
    t = np.arange(20)
    buf.extend({"t": t, "reward": np.ones(20, np.float32), "done": (t == 5) | (t == 12)})
    batch = buf.sample_sequences(200)
    assert batch["t"].shape == (200, 4) and batch.keys.shape == (200, 4)
    np.testing.assert_array_equal(np.diff(batch["t"], axis=1), 1)
    assert not batch["done"][:, :-1].any()  # windows never cross an episode end
    nstep = buf.sample_nstep(300, n=3, gamma=0.9)
    start = nstep["t"]
    for i in range(300):
        steps = [s for s in range(start[i], min(start[i] + 3, 20))]
        ends = [s for s in steps if s in (5, 12)]
        m = (steps.index(ends[0]) + 1) if ends else len(steps)
        assert nstep.returns[i] == pytest.approx(sum(0.9**k for k in range(m)))
        assert nstep.discounts[i] == pytest.approx(0.0 if ends else 0.9**m)
        assert nstep.last["t"][i] == start[i] + m - 1


def test_save_and_load_continue_exactly(tmp_path):
    buf = ReplayBuffer(500, SPEC, seed=11)
    keys = buf.extend(transitions(700))
    buf.update_priorities(keys[-300:], np.linspace(0.1, 5, 300))
    buf.sample(64)
    buf.save(tmp_path / "buf.ckpt")
    restored = ReplayBuffer.load(tmp_path / "buf.ckpt")
    counters = (
        "size",
        "inserts",
        "samples",
        "stale_updates",
        "rejected_inserts",
    )  # not memory: scratch differs
    assert all(restored.stats()[k] == buf.stats()[k] for k in counters)
    for _ in range(3):
        a, b = buf.sample(128), restored.sample(128)
        np.testing.assert_array_equal(a.keys, b.keys)
        np.testing.assert_array_equal(a["obs"], b["obs"])
        np.testing.assert_array_equal(a.weights, b.weights)
    data = (tmp_path / "buf.ckpt").read_bytes()
    (tmp_path / "torn.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptDataError):
        ReplayBuffer.load(tmp_path / "torn.ckpt")
    assert len(ReplayBuffer.load(tmp_path / "buf.ckpt")) == 500  # the good file is untouched


def test_concurrent_writers_and_samplers_from_python_threads():
    buf = ReplayBuffer(2000, SPEC, timeout=5.0)
    errors = []

    def write(start):
        try:
            for i in range(50):
                buf.extend(transitions(20, start=start + 20 * i))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    def sample():
        try:
            for _ in range(100):
                batch = buf.sample(64)
                buf.update_priorities(batch.keys, np.abs(batch["reward"]) + 0.1)
        except Exception as error:  # pragma: no cover
            errors.append(error)

    buf.extend(transitions(10, start=10**6))
    threads = [threading.Thread(target=write, args=(k * 10_000,)) for k in range(3)]
    threads += [threading.Thread(target=sample) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert buf.stats()["inserts"] == 3010 and len(buf) == 2000


def test_torch_dataset_prefetches_batches():
    torch = pytest.importorskip("torch")
    buf = ReplayBuffer(100, SPEC)
    buf.extend(transitions(50))
    dataset = buf.as_dataset(16, prefetch=2)
    batches = []
    for batch in dataset:
        batches.append(batch)
        if len(batches) == 3:
            break
    assert batches[0]["obs"].shape == (16, 8) and batches[0]["obs"].dtype == torch.float32
    assert batches[0]["weights"].shape == (16,)

    def prefetching():
        return any(t.name == "reactor-replay-prefetch" for t in threading.enumerate())

    deadline = time.monotonic() + 5  # the prefetch thread winds down once iteration stops
    while prefetching() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not prefetching()
    buf.close()
    assert list(iter(buf.as_dataset(4))) == []  # a closed buffer ends the iteration


def test_engine_table_checks_every_vector_it_is_given():
    from reactor.engine.replay import ReplayTable, limiter_min_size

    table = ReplayTable(
        8, [("x", "float64", [])], "uniform", "fifo", 0.6, 0.4, 0.0, -1.0, 0, limiter_min_size(1), 0, "", 0
    )
    x = np.arange(4, dtype=np.float64)
    with pytest.raises(InvalidArgumentError, match="keys"):
        table.insert([x], None, np.empty(4, dtype=np.int64), 0.0)  # wrong key dtype
    with pytest.raises(InvalidArgumentError, match="priorities"):
        table.insert([x], np.ones(3), np.empty(4, dtype=np.uint64), 0.0)  # wrong length
    with pytest.raises(InvalidArgumentError, match="field 'x'"):
        table.insert([x[:3]], None, np.empty(4, dtype=np.uint64), 0.0)
    keys = np.empty(4, dtype=np.uint64)
    table.insert([x], None, keys, 0.0)
    with pytest.raises(InvalidArgumentError, match="weights"):
        table.sample(2, None, np.empty(2, np.uint64), np.empty(2), np.empty(5), 0.0)
    with pytest.raises(InvalidArgumentError, match="read-only"):
        frozen = np.empty(2)
        frozen.flags.writeable = False
        table.sample(2, [frozen], np.empty(2, np.uint64), np.empty(2), np.empty(2), 0.0)
    with pytest.raises(InvalidArgumentError, match="priorities"):
        table.update_priorities(keys, np.ones(2))
    with pytest.raises(InvalidArgumentError, match="unknown sampler"):
        ReplayTable(
            8, [("x", "float64", [])], "random", "fifo", 0.6, 0.4, 0.0, -1.0, 0, limiter_min_size(1), 0, "", 0
        )


@pytest.mark.parametrize("capacity", [1, 7, 256, 3000])
def test_random_operations_match_a_reference_model(capacity):
    """Inserts (with eviction), updates and samples in random order; every draw's probability must be
    its priority over the sum of the live priorities, computed here independently.
    """
    rng = np.random.default_rng(capacity)
    buf = ReplayBuffer(capacity, {"x": ("int64", ())}, alpha=1.0, epsilon=0.0, seed=1)
    live: dict[int, float] = {}
    order: list[int] = []
    for step in range(400):
        op = rng.integers(3)
        if op == 0 or not live:
            n = int(rng.integers(1, 2 * capacity + 2))
            priorities = rng.random(n) + 0.1
            keys = buf.extend({"x": np.arange(n)}, priorities=priorities).tolist()
            for key, priority in zip(keys, priorities, strict=True):
                live[key] = float(priority)
                order.append(key)
            while len(order) > capacity:  # FIFO eviction
                live.pop(order.pop(0))
        elif op == 1:
            batch = buf.sample(16)
            new = rng.random(16) + 0.1
            buf.update_priorities(batch.keys, new)
            for key, priority in zip(batch.keys.tolist(), new, strict=True):
                live[key] = float(priority)  # duplicates: the last one wins
        else:
            batch = buf.sample(16)
            total = sum(live.values())
            for key, probability in zip(batch.keys.tolist(), batch.probabilities, strict=True):
                assert key in live, f"step {step}: sampled a key that left"
                assert probability == pytest.approx(live[key] / total, rel=1e-9), f"step {step}"
            smallest = min(live.values()) / total
            np.testing.assert_allclose(batch.weights, (batch.probabilities / smallest) ** -0.4, rtol=1e-9)
    assert len(buf) == len(live)
