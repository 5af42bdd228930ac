"""Sharded replay: shards track their sampling mass exactly, the client's merged samples follow the
global proportional distribution with global importance weights, and keys route to their shard.
The merging logic runs in-process (backend="local"); the same checks run on a local Ray cluster."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import stats

from reactor.errors import CapacityExceededError, InvalidArgumentError, OutOfRangeError, TimeoutError
from reactor.replay.distributed import DistributedReplay, ReplayShard

SPEC = {"id": ("int64", ()), "obs": ("float32", (2,))}
ALPHA, BETA = 0.7, 0.5


def rows(ids):
    ids = np.asarray(ids, dtype=np.int64)
    return {"id": ids, "obs": np.stack([ids, -ids], axis=1).astype(np.float32)}


def exact(live):
    """Global probabilities of live items {id: priority} under proportional sampling (epsilon 0)."""
    ids = np.array(sorted(live))
    mass = np.array([live[i] for i in ids]) ** ALPHA
    return ids, mass / mass.sum()


def fill(replay, live):
    """Shards of 2, 5 and 8 (+3 evicting the oldest) items with distinct priorities."""
    placement = {0: range(0, 2), 1: range(2, 7), 2: range(7, 18)}
    for shard, ids in placement.items():
        priorities = 0.5 + (np.asarray(ids) % 6)
        replay.extend(rows(list(ids)), priorities, shard=shard)
        live.update(zip(ids, priorities.tolist(), strict=True))
    for evicted in (7, 8, 9):  # shard 2 holds 8: its three oldest left
        del live[evicted]


def check_merged_distribution(replay, live, rounds, per_round):
    ids, expected = exact(live)
    position = {item: k for k, item in enumerate(ids)}
    counts = np.zeros(len(ids))
    for _ in range(rounds):
        batch = replay.sample(per_round)
        index = np.array([position[i] for i in batch["id"]])
        counts += np.bincount(index, minlength=len(ids))
        np.testing.assert_allclose(batch.probabilities, expected[index], rtol=1e-9)
        np.testing.assert_allclose(batch.weights, (expected[index] / expected.min()) ** -BETA, rtol=1e-9)
        np.testing.assert_array_equal(batch["obs"][:, 0], batch["id"])
        shards, _ = replay.split_keys(batch.keys)
        np.testing.assert_array_equal(shards, batch.shards)
        np.testing.assert_array_equal(replay.gather(batch.keys)["id"], batch["id"])
    assert stats.chisquare(counts, counts.sum() * expected).pvalue > 1e-3
    return batch


def reprioritise(replay, live):
    """New priorities for one sampled batch, routed to each key's shard."""
    batch = replay.sample(64)
    priorities = 0.25 + (batch["id"] % 5).astype(np.float64) * 1.5
    assert replay.update_priorities(batch.keys, priorities) == 0
    # duplicate draws: the last update of an item stands, as on one buffer
    for item, priority in zip(batch["id"].tolist(), priorities.tolist(), strict=True):
        live[item] = priority


def merged_replay(backend, **kwargs):
    return DistributedReplay(
        3, 8, SPEC, "prioritized", ALPHA, BETA, seed=11, epsilon=0.0, backend=backend, **kwargs
    )


# ------------------------------------------------------------------------- in-process
@pytest.mark.parametrize(
    ("sampler", "remover", "default"),
    [
        ("prioritized", "fifo", None),
        ("prioritized", "min_heap", None),
        ("prioritized", "lifo", 2.0),
        ("prioritized", "reservoir", None),
        ("uniform", "fifo", None),
    ],
)
def test_a_shard_reports_the_engines_sampling_mass(sampler, remover, default):
    """The mass (size, total weight, smallest weight) against an independent model of the live items."""
    rng = np.random.default_rng(0)
    shard = ReplayShard(
        5, SPEC, sampler, alpha=0.6, beta=0.4, seed=1, epsilon=0.01, default_priority=default, remover=remover
    )
    assert shard.mass() == (0, 0.0, 0.0)
    priority: dict[int, float] = {}  # every issued key -> its current priority
    issued, next_id = [], 0

    def live_keys():
        alive = []
        for key in priority:
            try:
                shard.gather([key])
                alive.append(key)
            except OutOfRangeError:
                pass
        return alive

    for step in range(60):
        if step % 3 == 2 and issued:
            keys = rng.choice(np.concatenate(issued), size=int(rng.integers(1, 8)))  # stale and repeated keys
            new = rng.uniform(0, 4, len(keys))
            alive = set(live_keys())
            shard.update_priorities(keys, new)
            for key, value in zip(keys.tolist(), new, strict=True):
                if key in alive:
                    priority[key] = float(value)
        else:
            n = int(rng.integers(1, 8))  # sometimes more than the capacity
            given = None if rng.random() < 0.4 else rng.uniform(0, 4, n)
            alive = live_keys()
            fallback = default if default is not None else (max(priority[k] for k in alive) if alive else 1.0)
            keys, _ = shard.extend(rows(range(next_id, next_id + n)), given)
            for i, key in enumerate(keys.tolist()):
                priority[key] = float(given[i]) if given is not None else fallback
            issued.append(keys)
            next_id += n
        alive = live_keys()
        weights = {k: 1.0 if sampler == "uniform" else (priority[k] + 0.01) ** 0.6 for k in alive}
        size, total, minimum = shard.mass()
        assert size == len(alive) == len(shard)
        assert total == pytest.approx(sum(weights.values()), rel=1e-12)
        assert minimum == pytest.approx(min(weights.values()), rel=1e-12)
        batch = shard.buffer.sample(64)
        expected = np.array([weights[k] for k in batch.keys.tolist()]) / total
        np.testing.assert_allclose(batch.probabilities, expected, rtol=1e-9)


def test_items_without_a_priority_get_the_largest_live_one():
    shard = ReplayShard(3, SPEC, alpha=1.0, epsilon=0.0)
    shard.extend(rows([0]))  # an empty shard: priority 1
    (key_1, _), _ = shard.extend(rows([1, 2]), [5.0, 2.0])
    assert shard.mass() == (3, 8.0, 1.0)
    (key_3,), _ = shard.extend(rows([3]))  # evicts item 0; the largest live priority is 5
    assert shard.mass() == (3, 12.0, 2.0)
    shard.update_priorities([key_1, key_3], [0.5, 0.5])
    shard.extend(rows([4]))  # evicts item 1; the largest live priority is now 2
    assert shard.mass() == (3, 4.5, 0.5)
    batch = shard.buffer.sample(100)
    live = {2: 2.0, 3: 0.5, 4: 2.0}
    np.testing.assert_allclose(batch.probabilities, [live[i] / 4.5 for i in batch["id"].tolist()])


def test_merged_samples_follow_the_global_distribution_local():
    replay = merged_replay("local")
    live: dict[int, float] = {}
    fill(replay, live)
    assert len(replay) == len(live) and [m[0] for m in replay.masses()] == [2, 5, 8]
    check_merged_distribution(replay, live, rounds=40, per_round=500)
    reprioritise(replay, live)
    check_merged_distribution(replay, live, rounds=40, per_round=500)
    replay.beta = 1.0  # annealed beta applies from the next sample
    batch = replay.sample(100)
    _, expected = exact(live)
    np.testing.assert_allclose(batch.weights, (batch.probabilities / expected.min()) ** -1.0, rtol=1e-9)


def test_the_same_seed_gives_the_same_samples():
    first, second = merged_replay("local"), merged_replay("local")
    for replay in (first, second):
        fill(replay, {})
    a, b = first.sample(50), second.sample(50)
    np.testing.assert_array_equal(a.keys, b.keys)
    np.testing.assert_array_equal(a["id"], b["id"])


def test_inserts_go_round_robin_and_keys_route_back():
    replay = DistributedReplay(3, 4, SPEC, seed=0, backend="local")
    keys = [replay.extend(rows([i, 100 + i])) for i in range(9)]
    shards = [replay.split_keys(k)[0] for k in keys]
    assert all(len(set(s.tolist())) == 1 for s in shards)
    order = [int(s[0]) for s in shards]
    assert sorted(order[:3]) == [0, 1, 2] and order[3:6] == order[:3] and order[6:] == order[:3]
    assert [m[0] for m in replay.masses()] == [4, 4, 4]
    key = replay.add(priority=3.0, id=7, obs=np.zeros(2, np.float32))
    assert replay.gather([key])["id"].tolist() == [7]
    # the first batch into each shard has been evicted by now: its keys are stale
    stale = np.concatenate(keys[:3])
    assert replay.update_priorities(stale, np.ones(len(stale))) == len(stale)
    with pytest.raises(OutOfRangeError):
        replay.gather(stale[:1])
    with pytest.raises(InvalidArgumentError, match="priorities"):
        replay.update_priorities(np.concatenate(keys[6:]), [1.0] * 5 + [float("nan")])
    with pytest.raises(OutOfRangeError):
        replay.update_priorities([3 << 62], [1.0])
    with pytest.raises(OutOfRangeError):
        replay.extend(rows([1]), shard=3)
    stats_ = replay.stats()
    assert stats_["inserts"] == 19 and len(stats_["shards"]) == 3


def test_uniform_shards_merge_by_size():
    replay = DistributedReplay(2, 8, SPEC, sampler="uniform", backend="local")
    replay.extend(rows([0, 1]), shard=0)
    replay.extend(rows(range(2, 8)), shard=1)
    batch = replay.sample(400)
    np.testing.assert_allclose(batch.probabilities, 1 / 8)
    np.testing.assert_allclose(batch.weights, 1.0)
    assert stats.chisquare(np.bincount(batch["id"], minlength=8)).pvalue > 1e-3


def test_errors_and_limits():
    with pytest.raises(InvalidArgumentError, match="sampler"):
        DistributedReplay(2, 8, SPEC, sampler="fifo", backend="local")
    with pytest.raises(InvalidArgumentError, match="backend"):
        DistributedReplay(2, 8, SPEC, backend="spark")
    replay = DistributedReplay(2, 8, SPEC, backend="local")
    with pytest.raises(TimeoutError, match="empty"):
        replay.sample(4)
    replay.beta = -1.0
    with pytest.raises(InvalidArgumentError, match="beta"):
        replay.sample(4)
    # keys keep the bits above key_bits for the shard index: a shard refuses keys that would not fit
    shard = ReplayShard(4, SPEC, key_bits=8)  # 3 slot bits: items 0..30 fit below 2^8
    shard.extend(rows(range(31)))
    with pytest.raises(CapacityExceededError):
        shard.extend(rows([31]))


# ------------------------------------------------------------------------------- Ray
@pytest.mark.ray
def test_ray_shards_merge_samples_with_global_weights(ray_cluster):
    replay = merged_replay("ray", actor_options={"num_cpus": 0})
    live: dict[int, float] = {}
    fill(replay, live)
    check_merged_distribution(replay, live, rounds=20, per_round=1000)
    reprioritise(replay, live)
    check_merged_distribution(replay, live, rounds=20, per_round=1000)
    handles = replay.shards
    replay.close()  # ends the shard actors
    deadline = time.monotonic() + 30
    with pytest.raises(ray_cluster.exceptions.RayActorError):
        while time.monotonic() < deadline:
            ray_cluster.get(handles[0].mass.remote())
            time.sleep(0.05)


@pytest.mark.ray
def test_ray_tasks_insert_through_a_shared_client(ray_cluster):
    @ray_cluster.remote(num_cpus=0)
    def actor(replay, batches):
        for batch in batches:
            replay.extend(batch, np.ones(len(batch["id"])))
        return len(batches)

    with DistributedReplay(2, 1000, SPEC, seed=3, actor_options={"num_cpus": 0}) as replay:
        work = [[rows(range(s + o, s + o + 8)) for o in range(0, 40, 8)] for s in (0, 1000)]
        assert ray_cluster.get([actor.remote(replay, batches) for batches in work]) == [5, 5]
        # each copy of the client goes round-robin from the same start
        assert [m[0] for m in replay.masses()] in ([48, 32], [32, 48]) and len(replay) == 80
        batch = replay.sample(256)
        np.testing.assert_allclose(batch.probabilities, 1 / 80)
        np.testing.assert_allclose(batch.weights, 1.0)
        assert set(batch["id"].tolist()) <= {s + i for s in (0, 1000) for i in range(40)}
