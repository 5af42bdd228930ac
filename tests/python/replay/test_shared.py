"""Shared-memory replay (Ape-X pattern): actor processes write rings, the learner drains them into
its ReplayBuffer. Data must arrive exactly once and intact, with fork and spawn, and a writer that
dies (even holding its ring lock) must neither hang nor corrupt the learner."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import warnings
from multiprocessing import shared_memory

import numpy as np
import pytest

from reactor.errors import InvalidArgumentError, OutOfRangeError, TimeoutError, UnavailableError
from reactor.replay import ReplayBuffer
from reactor.replay import shared as shared_module
from reactor.replay.shared import SharedReplayServer, SharedReplayWriter

SPEC = {
    "writer": ("int64", ()),
    "seq": ("int64", ()),
    "obs": ("float32", (3,)),
    "done": ("bool", ()),
}
METHODS = ["fork", "spawn"]


def items(writer, start, n):
    seq = np.arange(start, start + n)
    obs = np.stack([seq, 2 * seq, seq + 1000 * writer], axis=1).astype(np.float32)
    return {"writer": np.full(n, writer), "seq": seq, "obs": obs, "done": seq % 7 == 6}


def everything(buf):
    """Every item of a queue buffer, each once, in insertion order."""
    batch = buf.sample(len(buf))
    assert len(buf) == 0
    return batch


def check_rows(batch):
    """Each row is one written transition, whole."""
    seq, writer = batch["seq"], batch["writer"]
    expected = np.stack([seq, 2 * seq, seq + 1000 * writer], axis=1).astype(np.float32)
    np.testing.assert_array_equal(batch["obs"], expected)
    np.testing.assert_array_equal(batch["done"], seq % 7 == 6)


def start(process, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python >= 3.12: fork with threads
        process.start()


def wait_until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ------------------------------------------------------------------ actor process bodies
def write_items(writer, writer_id, total, seed):
    """Mixed add() and extend() calls of random sizes, some with priorities."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < total:
        n = min(int(rng.integers(1, 50)), total - done)
        if n == 1:
            row = items(writer_id, done, 1)
            writer.add(**{name: value[0] for name, value in row.items()})
        else:
            priorities = rng.uniform(0.5, 2.0, n) if rng.random() < 0.5 else None
            writer.extend(items(writer_id, done, n), priorities)
        done += n
    writer.close()


def write_forever(writer, writer_id):
    done = 0
    while True:
        writer.extend(items(writer_id, done, 5))
        done += 5


def die_holding_the_lock(writer):
    writer.extend(items(0, 0, 10))
    state = shared_module._STATES[(writer._name, writer.index)]
    writer._acquire(state, state.attachment.rings[writer.index].header, None, "test")
    os.kill(os.getpid(), signal.SIGKILL)


def try_the_taken_ring(writer):
    try:
        writer.add(**{name: value[0] for name, value in items(9, 0, 1).items()})
    except UnavailableError:
        os._exit(3)
    os._exit(0)


# ---------------------------------------------------------------------------- tests
def test_in_process_roundtrip_wraps_the_ring_and_keeps_order():
    buf = ReplayBuffer.queue(1000, SPEC)
    with SharedReplayServer(buf, num_writers=2, ring_capacity=8) as server:
        first, second = server.writer(0), server.writer(1)
        assert isinstance(first, SharedReplayWriter) and first.capacity == 8
        written = 0
        for n in (3, 5, 7, 1, 8, 6):  # crosses the ring's end several times
            assert first.extend(items(0, written, n)) == n
            second.add(**{name: value[0] for name, value in items(1, written, 1).items()})
            assert server.pump() == n + 1
            written += n
        assert server.pump() == 0
        stats = server.stats()
        assert stats["ingested"] == written + 6
        assert stats["rings"][0] == {"written": written, "ingested": written, "owner": os.getpid()}
    batch = everything(buf)
    check_rows(batch)
    np.testing.assert_array_equal(batch["seq"][batch["writer"] == 0], np.arange(written))
    np.testing.assert_array_equal(batch["seq"][batch["writer"] == 1], [0, 3, 8, 15, 16, 24])


def test_a_batch_larger_than_the_ring_streams_through_the_ingest_thread():
    buf = ReplayBuffer.queue(1000, SPEC)
    with SharedReplayServer(buf, num_writers=1, ring_capacity=16) as server:
        server.start()
        assert server.running
        server.writer(0).extend(items(0, 0, 500), timeout=10)
        server.stop()
        assert not server.running and len(buf) == 500
    batch = everything(buf)
    np.testing.assert_array_equal(batch["seq"], np.arange(500))
    check_rows(batch)


def test_priorities_explicit_and_default_reach_the_buffer():
    buf = ReplayBuffer(100, SPEC, sampler="prioritized", alpha=1.0, epsilon=0.0, default_priority=7.0)
    with SharedReplayServer(buf, num_writers=1, ring_capacity=32) as server:
        writer = server.writer(0)
        writer.extend(items(0, 0, 4), priorities=[1.0, 2.0, 3.0, 4.0])
        writer.extend(items(0, 4, 3))  # the buffer's default priority
        writer.add(priority=0.5, **{name: value[0] for name, value in items(0, 7, 1).items()})
        writer.extend(items(0, 8, 2), priorities=[6.0, 0.0])
        assert server.pump() == 10
    expected = np.array([1.0, 2.0, 3.0, 4.0, 7.0, 7.0, 7.0, 0.5, 6.0, 0.0])
    batch = buf.sample(2000)
    np.testing.assert_allclose(batch.probabilities, expected[batch["seq"]] / expected.sum(), rtol=1e-12)
    assert set(batch["seq"].tolist()) == set(range(9))  # priority 0 (epsilon 0) is never drawn


@pytest.mark.parametrize("method", METHODS)
def test_actor_processes_deliver_every_transition_exactly_once(method):
    context = multiprocessing.get_context(method)
    per_writer = 3000
    buf = ReplayBuffer.queue(10 * per_writer, SPEC)
    with SharedReplayServer(buf, num_writers=3, ring_capacity=64) as server:
        processes = [
            context.Process(target=write_items, args=(server.writer(i), i, per_writer, i)) for i in range(3)
        ]
        for process in processes:
            start(process, method)
        server.start()
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        server.stop()
        assert [ring["written"] for ring in server.stats()["rings"]] == [per_writer] * 3
    batch = everything(buf)
    assert len(batch["seq"]) == 3 * per_writer
    check_rows(batch)
    for writer_id in range(3):
        # exactly once each, in each writer's order
        np.testing.assert_array_equal(batch["seq"][batch["writer"] == writer_id], np.arange(per_writer))


@pytest.mark.parametrize("method", METHODS)
def test_a_killed_writer_neither_hangs_nor_corrupts_and_its_ring_can_be_reused(method):
    context = multiprocessing.get_context(method)
    buf = ReplayBuffer.queue(100_000, SPEC)
    with SharedReplayServer(buf, num_writers=2, ring_capacity=32, lock_timeout=0.2) as server:
        doomed = context.Process(target=write_forever, args=(server.writer(0), 0))
        steady = context.Process(target=write_items, args=(server.writer(1), 1, 2000, 1))
        start(doomed, method)
        start(steady, method)
        server.start()
        wait_until(lambda: server.stats()["rings"][0]["ingested"] >= 500)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.join(timeout=10)
        steady.join(timeout=60)
        assert steady.exitcode == 0
        # a new process takes the dead writer's ring over
        replacement = context.Process(target=write_items, args=(server.writer(0), 2, 300, 2))
        start(replacement, method)
        replacement.join(timeout=60)
        assert replacement.exitcode == 0
        server.stop()
    batch = everything(buf)
    check_rows(batch)
    killed = batch["seq"][batch["writer"] == 0]
    assert len(killed) >= 500
    np.testing.assert_array_equal(killed, np.arange(len(killed)))  # a whole prefix, each once
    np.testing.assert_array_equal(batch["seq"][batch["writer"] == 1], np.arange(2000))
    np.testing.assert_array_equal(batch["seq"][batch["writer"] == 2], np.arange(300))


def test_a_writer_that_dies_holding_its_ring_lock_is_taken_over():
    context = multiprocessing.get_context("fork")
    buf = ReplayBuffer.queue(1000, SPEC)
    with SharedReplayServer(buf, num_writers=1, ring_capacity=32, lock_timeout=0.2) as server:
        process = context.Process(target=die_holding_the_lock, args=(server.writer(0),))
        start(process, "fork")
        # dead but not reaped (a zombie still has a pid): the learner must see it as gone
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        began = time.monotonic()
        assert server.pump() == 10
        assert time.monotonic() - began < 5
        assert server.stats()["recovered_locks"] == 1
        process.join()
        writer = server.writer(0)
        writer.extend(items(0, 10, 5))  # the ring works again, for a new owner
        assert server.pump() == 5
    batch = everything(buf)
    np.testing.assert_array_equal(batch["seq"], np.arange(15))
    check_rows(batch)


def test_one_ring_one_live_process():
    context = multiprocessing.get_context("fork")
    buf = ReplayBuffer.queue(100, SPEC)
    with SharedReplayServer(buf, num_writers=1, ring_capacity=8) as server:
        mine = server.writer(0)
        mine.extend(items(0, 0, 2))
        server.writer(0).extend(items(0, 2, 2))  # another handle in the same process shares the ring
        intruder = context.Process(target=try_the_taken_ring, args=(server.writer(0),))
        start(intruder, "fork")
        intruder.join(timeout=30)
        assert intruder.exitcode == 3
        mine.close()  # gives the ring up: now another process may take it
        taker = context.Process(target=try_the_taken_ring, args=(server.writer(0),))
        start(taker, "fork")
        taker.join(timeout=30)
        assert taker.exitcode == 0
    batch = everything(buf)
    np.testing.assert_array_equal(batch["seq"], [0, 1, 2, 3, 0])
    np.testing.assert_array_equal(batch["writer"], [0, 0, 0, 0, 9])


def test_a_full_ring_times_out_until_the_learner_drains_it():
    buf = ReplayBuffer.queue(100, SPEC)
    with SharedReplayServer(buf, num_writers=1, ring_capacity=4, writer_timeout=0.05) as server:
        writer = server.writer(0)
        writer.extend(items(0, 0, 4))
        began = time.monotonic()
        with pytest.raises(TimeoutError, match="stayed full"):
            writer.extend(items(0, 4, 2))
        assert time.monotonic() - began < 2
        with pytest.raises(TimeoutError):
            writer.extend(items(0, 4, 2), timeout=0)
        assert server.pump() == 4
        writer.extend(items(0, 4, 2))
        assert server.pump() == 2
    np.testing.assert_array_equal(everything(buf)["seq"], np.arange(6))


def test_close_drains_unlinks_and_stops_writers():
    buf = ReplayBuffer.queue(100, SPEC)
    server = SharedReplayServer(buf, num_writers=1, ring_capacity=8)
    writer = server.writer(0)
    writer.extend(items(0, 0, 3))
    name = server.name
    server.close()
    server.close()
    assert server.closed and len(buf) == 3  # what was published was drained
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=name)
    with pytest.raises(UnavailableError):
        writer.extend(items(0, 3, 1))
    with pytest.raises(UnavailableError):
        server.pump()
    with pytest.raises(UnavailableError):
        server.writer(0)


def test_bad_input_is_rejected_in_the_writer():
    buf = ReplayBuffer.queue(100, SPEC)
    with SharedReplayServer(buf, num_writers=1, ring_capacity=8) as server:
        writer = server.writer(0)
        with pytest.raises(InvalidArgumentError, match="missing"):
            writer.extend({"seq": np.arange(2)})
        with pytest.raises(InvalidArgumentError, match="obs"):
            writer.extend({**items(0, 0, 2), "obs": np.zeros((2, 4), np.float32)})
        with pytest.raises(InvalidArgumentError, match="priorities"):
            writer.extend(items(0, 0, 2), priorities=[1.0, float("nan")])
        with pytest.raises(InvalidArgumentError, match="priorities"):
            writer.extend(items(0, 0, 2), priorities=[1.0])
        with pytest.raises(InvalidArgumentError, match="timeout"):
            writer.extend(items(0, 0, 2), timeout=-1)
        with pytest.raises(OutOfRangeError):
            server.writer(1)
        assert server.pump() == 0
    with pytest.raises(InvalidArgumentError):
        SharedReplayServer(buf, num_writers=0)
    with pytest.raises(InvalidArgumentError):
        SharedReplayServer(buf, num_writers=1, ring_capacity=0)


def test_an_ingest_error_surfaces_on_stop():
    buf = ReplayBuffer.queue(100, SPEC)
    with SharedReplayServer(buf, num_writers=1, ring_capacity=8, writer_timeout=5) as server:
        server.start()
        buf.close()  # inserts now raise UnavailableError in the ingest thread
        server.writer(0).extend(items(0, 0, 2))
        wait_until(lambda: not server.running)
        with pytest.raises(UnavailableError):
            server.stop(drain=False)
        server.close(drain=False)
