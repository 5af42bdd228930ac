"""Several actor processes feeding one learner's :class:`~reactor.replay.ReplayBuffer` through shared
memory (the Ape-X pattern, on one machine).

The learner owns the buffer and a :class:`SharedReplayServer`; each actor process gets a
:class:`SharedReplayWriter` (pass it as a ``multiprocessing.Process`` argument; fork, spawn and
forkserver all work) and writes transitions into its own ring of fixed-size slots in one
``multiprocessing.shared_memory`` segment, laid out column-wise by the buffer's spec, so nothing is
pickled. The learner drains the rings (an ingest thread, or explicit :meth:`SharedReplayServer.pump`
calls) with one ``buffer.extend`` per contiguous span, straight from numpy views of the shared
memory: the engine copies the rows into its table. Every insert and drain is O(items moved).

Protocol. A ring is single-producer/single-consumer: the writer owns the write cursor, the learner
the read cursor (uint64 counters of items ever written / consumed, in the shared header). Data is
copied outside any lock; cursors are read and published under the ring's ``multiprocessing.Lock``,
which orders the data writes before the cursor store (and the learner's reads of a span before it
hands the span back). A writer that dies mid-write leaves at most unpublished, invisible rows. One
that dies *holding* its ring lock (a few microseconds per publish) is detected by the learner (the
lock is held past ``lock_timeout`` by a process that no longer runs), which takes the lock over, so
the learner never hangs and the ring stays usable; a new process may then take the ring over with
``server.writer(i)``.

    buffer = ReplayBuffer(1_000_000, spec)
    with SharedReplayServer(buffer, num_writers=8, ring_capacity=4096) as server:
        procs = [Process(target=actor, args=(server.writer(i),)) for i in range(8)]
        ...
        server.start()               # ingest thread; or server.pump() from the training loop
        batch = buffer.sample(256)

    def actor(writer):               # in the actor process
        writer.extend({"obs": obs, ...}, priorities=td)   # or writer.add(obs=..., ...)
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from multiprocessing import shared_memory
from types import TracebackType
from typing import Any

import numpy as np

from reactor.errors import (
    CorruptDataError,
    InvalidArgumentError,
    OutOfRangeError,
    TimeoutError,
    UnavailableError,
)
from reactor.replay.buffer import ReplayBuffer
from reactor.replay.spec import Field

__all__ = ["SharedReplayServer", "SharedReplayWriter"]

_MAGIC = 0x5245414354524E47  # "REACTRNG"
_VERSION = 1
_ALIGN = 64
# Segment header (one cache line): uint64 words.
_G_MAGIC, _G_VERSION, _G_CLOSED, _G_SERVER_PID, _G_RINGS, _G_CAPACITY = range(6)
_GLOBAL_WORDS = 8
# Ring header (two cache lines: the writer's words, then the learner's).
_R_WRITE, _R_OWNER, _R_HOLDER = 0, 1, 2
_R_READ = 8
_RING_WORDS = 16

# Shared-memory objects whose close() failed because a view was still alive: kept referenced so
# their __del__ does not raise later; the mapping goes when the process exits.
_UNCLOSABLE: list[shared_memory.SharedMemory] = []


def _aligned(nbytes: int) -> int:
    return (nbytes + _ALIGN - 1) // _ALIGN * _ALIGN


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, i.e. dead but not yet reaped, does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            stat = stat_file.read()
    except OSError:
        return True  # no procfs: the process exists
    end = stat.rfind(b")")
    return stat[end + 2 : end + 3] not in (b"Z", b"X")


def _close_quietly(shm: shared_memory.SharedMemory) -> None:
    try:
        shm.close()
    except BufferError:
        gc.collect()
        try:
            shm.close()
        except BufferError:
            _UNCLOSABLE.append(shm)


def _check_timeout(value: float | None, op: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise InvalidArgumentError(f"[{op}] timeout must be None (no limit) or >= 0 seconds, got {value!r}")
    return float(value)


class _Layout:
    """Byte offsets of the segment: header, ring headers, then per ring one column per field plus
    a float64 priority column (NaN: the buffer's default priority), each 64-byte aligned.
    """

    def __init__(self, fields: Sequence[Field], num_rings: int, capacity: int) -> None:
        self.fields = tuple(fields)
        self.num_rings = num_rings
        self.capacity = capacity
        offset, offsets = 0, []
        for field in self.fields:
            offsets.append(offset)
            offset += _aligned(capacity * field.nbytes)
        self.column_offsets = tuple(offsets)
        self.priority_offset = offset
        self.ring_bytes = offset + _aligned(capacity * 8)
        self.data_start = _GLOBAL_WORDS * 8 + num_rings * _RING_WORDS * 8
        self.nbytes = self.data_start + num_rings * self.ring_bytes

    def ring_header(self, buf: memoryview, ring: int) -> np.ndarray:
        offset = _GLOBAL_WORDS * 8 + ring * _RING_WORDS * 8
        return np.ndarray((_RING_WORDS,), np.uint64, buf, offset)

    def ring_columns(self, buf: memoryview, ring: int) -> tuple[list[np.ndarray], np.ndarray]:
        base = self.data_start + ring * self.ring_bytes
        columns = [
            np.ndarray((self.capacity, *f.shape), f.dtype, buf, base + off)
            for f, off in zip(self.fields, self.column_offsets, strict=True)
        ]
        return columns, np.ndarray((self.capacity,), np.float64, buf, base + self.priority_offset)


class _Ring:
    """Numpy views of one ring in an attached segment."""

    def __init__(self, layout: _Layout, buf: memoryview, index: int) -> None:
        self.header = layout.ring_header(buf, index)
        self.columns, self.priorities = layout.ring_columns(buf, index)


class _Attachment:
    """A mapping of the segment and the views into it; close() drops the views before unmapping."""

    def __init__(self, shm: shared_memory.SharedMemory, layout: _Layout, rings: Sequence[int]) -> None:
        self.shm = shm
        self.header: np.ndarray | None = np.ndarray((_GLOBAL_WORDS,), np.uint64, shm.buf, 0)
        self.rings: dict[int, _Ring] = {i: _Ring(layout, shm.buf, i) for i in rings}

    def close(self) -> None:
        self.header = None
        self.rings = {}
        _close_quietly(self.shm)

    def __del__(self) -> None:
        if self.header is not None:
            self.close()


def _release_ring_lock(lock: Any, header: np.ndarray) -> None:
    header[_R_HOLDER] = 0
    lock.release()


class _WriterState:
    """What this process knows about one ring it writes: shared by every handle on that ring here."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # serialises this process's threads on the ring
        self.pid = os.getpid()
        self.attachment: _Attachment | None = None
        self.write = 0  # items the ring has published (the write cursor; this process owns it)
        self.read = 0  # the read cursor as last seen


_STATES: dict[tuple[str, int], _WriterState] = {}
_STATES_LOCK = threading.Lock()


def _forget_writer_states() -> None:
    """In a forked child: the parent's ring ownership and locks are not the child's."""
    global _STATES_LOCK
    _STATES_LOCK = threading.Lock()
    _STATES.clear()


os.register_at_fork(after_in_child=_forget_writer_states)


class SharedReplayWriter:
    """An actor's handle on its ring (from :meth:`SharedReplayServer.writer`).

    Pass it to a ``multiprocessing.Process`` as an argument (it holds ``multiprocessing`` locks, so
    it travels by process creation, not through queues or pools). One process writes a ring at a
    time: a second live process using the same index raises UnavailableError; after the owner died
    or called :meth:`close`, another process may take the ring over. Within a process, any number
    of threads and handles on the ring may write (calls are serialised).

    ``timeout``: how long :meth:`extend` and :meth:`add` wait for ring space by default (None: as
    long as the learner runs); then TimeoutError. UnavailableError once the server is closed or its
    process is gone.
    """

    def __init__(
        self,
        name: str,
        layout: _Layout,
        index: int,
        lock: Any,
        doorbell: Any,
        server_pid: int,
        timeout: float | None,
    ) -> None:
        self._name = name
        self._layout = layout
        self.index = index
        self._lock = lock
        self._doorbell = doorbell
        self._server_pid = server_pid
        self.timeout = _check_timeout(timeout, "replay.shared.writer")

    @property
    def fields(self) -> list[Field]:
        """The schema (the buffer's), in order."""
        return list(self._layout.fields)

    @property
    def capacity(self) -> int:
        """Slots in the ring."""
        return self._layout.capacity

    def __repr__(self) -> str:
        return f"SharedReplayWriter(ring {self.index} of {self._name!r}, capacity {self.capacity})"

    # ------------------------------------------------------------------------ attaching
    def _state(self) -> _WriterState:
        key = (self._name, self.index)
        with _STATES_LOCK:
            state = _STATES.get(key)
            if state is None:
                state = _STATES[key] = _WriterState()
        return state

    def _give_up(self, state: _WriterState) -> None:
        attachment = state.attachment
        if attachment is not None and attachment.header is not None and attachment.header[_G_CLOSED]:
            raise UnavailableError(f"[replay.shared.writer] the server of ring {self.index} is closed")
        if not _process_alive(self._server_pid):
            raise UnavailableError(
                f"[replay.shared.writer] the learner process {self._server_pid} of ring {self.index} is gone"
            )

    def _acquire(self, state: _WriterState, header: np.ndarray, deadline: float | None, op: str) -> None:
        """Take the ring lock, waiting up to ``deadline``; raises when the server is gone."""
        while True:
            wait = 0.1 if deadline is None else min(0.1, max(0.0, deadline - time.monotonic()))
            if self._lock.acquire(timeout=wait):
                header[_R_HOLDER] = state.pid
                return
            self._give_up(state)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"[{op}] ring {self.index}'s lock was not free in time")

    def _ring(self, state: _WriterState, deadline: float | None) -> _Ring:
        """The ring's views in this process: attaches and takes the ring over on first use."""
        if state.attachment is not None:
            return state.attachment.rings[self.index]
        try:
            shm = shared_memory.SharedMemory(name=self._name)
        except FileNotFoundError as error:
            raise UnavailableError(
                f"[replay.shared.writer] the shared segment {self._name!r} is gone (server closed)"
            ) from error
        attachment = state.attachment = _Attachment(shm, self._layout, [self.index])
        try:
            header = attachment.header
            assert header is not None
            if (int(header[_G_MAGIC]), int(header[_G_VERSION]), int(header[_G_CAPACITY])) != (
                _MAGIC,
                _VERSION,
                self._layout.capacity,
            ):
                raise CorruptDataError(
                    f"[replay.shared.writer] {self._name!r} is not a replay segment of this layout"
                )
            del header
            self._claim(state, attachment.rings[self.index], deadline)
        except BaseException as error:
            traceback.clear_frames(error.__traceback__)  # they hold views of the segment
            state.attachment = None
            attachment.close()
            raise
        return attachment.rings[self.index]

    def _claim(self, state: _WriterState, ring: _Ring, deadline: float | None) -> None:
        self._give_up(state)
        self._acquire(state, ring.header, deadline, "replay.shared.writer")
        try:
            owner = int(ring.header[_R_OWNER])
            if owner not in (0, state.pid) and _process_alive(owner):
                raise UnavailableError(
                    f"[replay.shared.writer] ring {self.index} is written by live process {owner}; "
                    "give each process its own writer index"
                )
            ring.header[_R_OWNER] = state.pid
            state.write, state.read = int(ring.header[_R_WRITE]), int(ring.header[_R_READ])
        finally:
            _release_ring_lock(self._lock, ring.header)

    def close(self) -> None:
        """Give the ring up in this process (another process may then write it) and unmap the
        segment; a later write takes the ring again.
        """
        with _STATES_LOCK:
            state = _STATES.pop((self._name, self.index), None)
        if state is None:
            return
        with state.lock:
            attachment, state.attachment = state.attachment, None
            if attachment is None:
                return
            header = attachment.rings[self.index].header
            if self._lock.acquire(timeout=1.0):
                header[_R_HOLDER] = state.pid
                if int(header[_R_OWNER]) == state.pid:
                    header[_R_OWNER] = 0
                _release_ring_lock(self._lock, header)
            del header
            attachment.close()

    def __enter__(self) -> SharedReplayWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---------------------------------------------------------------------------- writes
    def extend(
        self, batch: Mapping[str, Any], priorities: Any = None, *, timeout: float | str | None = "default"
    ) -> int:
        """Write the items of ``batch`` (name -> array whose first axis is the items) with optional
        per-item ``priorities`` (finite, >= 0; None: the buffer's default priority); returns the
        number written. Waits while the ring is full (the learner has not drained it) up to
        ``timeout`` seconds ("default": the handle's); on timeout the items written so far stay
        written and TimeoutError is raised.
        """
        op = "replay.shared.extend"
        columns, prio, n = self._validate(batch, priorities, op)
        wait = self.timeout if timeout == "default" else _check_timeout(timeout, op)  # type: ignore[arg-type]
        deadline = None if wait is None else time.monotonic() + wait
        state = self._state()
        with state.lock:
            ring = self._ring(state, deadline)
            capacity = self._layout.capacity
            done, backoff = 0, 5e-5
            while done < n:
                free = capacity - (state.write - state.read)
                if free <= 0:
                    self._refresh_read(state, ring, deadline)
                    if capacity - (state.write - state.read) > 0:
                        backoff = 5e-5
                        continue
                    self._give_up(state)
                    if deadline is not None and time.monotonic() >= deadline:
                        raise TimeoutError(
                            f"[{op}] ring {self.index} stayed full ({capacity} items) for {wait} s: "
                            f"{done} of {n} items written; is the learner draining it?"
                        )
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 5e-3)
                    continue
                count = min(free, n - done)
                self._copy(state, ring, columns, prio, done, count)
                self._publish(state, ring, count, deadline)
                done += count
        return n

    def add(self, priority: float | None = None, **fields: Any) -> None:
        """Write one item given as keyword arguments (one per field), with an optional priority."""
        batch = {name: np.asarray(value)[None] for name, value in fields.items()}
        self.extend(batch, None if priority is None else [priority])

    def _validate(
        self, batch: Mapping[str, Any], priorities: Any, op: str
    ) -> tuple[list[np.ndarray], np.ndarray | None, int]:
        if not isinstance(batch, Mapping):
            raise InvalidArgumentError(
                f"[{op}] batch must be a mapping of field name -> array, got {type(batch).__name__}"
            )
        fields = self._layout.fields
        names = [f.name for f in fields]
        if set(batch) != set(names):
            missing, unknown = sorted(set(names) - set(batch)), sorted(set(batch) - set(names))
            raise InvalidArgumentError(f"[{op}] fields missing: {missing}, unknown: {unknown}")
        first = np.asarray(batch[names[0]])
        if first.ndim <= len(fields[0].shape):
            raise InvalidArgumentError(
                f"[{op}] field {names[0]!r}: expected a leading item axis, got shape {first.shape}"
            )
        n = int(first.shape[0])
        columns = [f.as_array(batch[f.name], (n,), op) for f in fields]
        prio = None
        if priorities is not None:
            prio = np.asarray(priorities, dtype=np.float64)
            if prio.shape != (n,):
                raise InvalidArgumentError(f"[{op}] priorities: expected shape ({n},), got {prio.shape}")
            bad = ~(np.isfinite(prio) & (prio >= 0))
            if bad.any():
                index = int(np.flatnonzero(bad)[0])
                raise InvalidArgumentError(
                    f"[{op}] priorities[{index}] must be finite and >= 0, got {prio[index]}"
                )
        return columns, prio, n

    def _copy(
        self,
        state: _WriterState,
        ring: _Ring,
        columns: list[np.ndarray],
        prio: np.ndarray | None,
        start: int,
        count: int,
    ) -> None:
        capacity = self._layout.capacity
        pos = state.write % capacity
        head = min(count, capacity - pos)
        pieces = [(pos, start, head)]
        if count > head:
            pieces.append((0, start + head, count - head))
        for slot, row, length in pieces:
            for target, source in zip(ring.columns, columns, strict=True):
                target[slot : slot + length] = source[row : row + length]
            ring.priorities[slot : slot + length] = np.nan if prio is None else prio[row : row + length]

    def _publish(self, state: _WriterState, ring: _Ring, count: int, deadline: float | None) -> None:
        self._acquire(state, ring.header, deadline, "replay.shared.extend")
        try:
            self._give_up(state)  # a closed server ingests nothing more: say so instead of dropping rows
            owner = int(ring.header[_R_OWNER])
            if owner != state.pid:
                raise UnavailableError(
                    f"[replay.shared.extend] ring {self.index} was taken over by process {owner}"
                )
            state.read = int(ring.header[_R_READ])
            was_empty = state.read == state.write
            state.write += count
            ring.header[_R_WRITE] = state.write
        finally:
            _release_ring_lock(self._lock, ring.header)
        if was_empty:
            self._doorbell.release()  # the learner may be asleep on an empty set of rings

    def _refresh_read(self, state: _WriterState, ring: _Ring, deadline: float | None) -> None:
        self._acquire(state, ring.header, deadline, "replay.shared.extend")
        try:
            state.read = int(ring.header[_R_READ])
        finally:
            _release_ring_lock(self._lock, ring.header)


class SharedReplayServer:
    """The learner side: shared-memory rings for ``num_writers`` actor processes, drained into
    ``buffer``.

    ``ring_capacity``: slots per ring (a full ring makes its writer wait). ``max_chunk``: most items
    taken from one ring per drain (default: the ring capacity; lower it when the buffer's rate
    limiter window is smaller). ``lock_timeout``: how long a ring lock may be held before the
    learner checks whether its holder died. ``poll_interval``: how often the idle ingest thread
    checks for shutdown. ``mp_context``: the ``multiprocessing`` context whose locks are used (default
    spawn, whose locks work with fork, spawn and forkserver children alike). ``writer_timeout``: the
    writers' default wait for ring space (None: as long as the learner runs).

    Drive it with :meth:`start`/:meth:`stop` (a background ingest thread) or by calling
    :meth:`pump`. :meth:`close` (or leaving the ``with`` block) stops the thread, drains what was
    published, marks the segment closed (writers then raise UnavailableError) and unlinks it.
    """

    def __init__(
        self,
        buffer: ReplayBuffer,
        num_writers: int,
        ring_capacity: int = 4096,
        *,
        max_chunk: int | None = None,
        lock_timeout: float = 1.0,
        poll_interval: float = 0.05,
        mp_context: Any = None,
        writer_timeout: float | None = None,
    ) -> None:
        op = "replay.shared.server"
        for name, value in (("num_writers", num_writers), ("ring_capacity", ring_capacity)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InvalidArgumentError(f"[{op}] {name} must be a positive integer, got {value!r}")
        if max_chunk is not None and (
            isinstance(max_chunk, bool) or not isinstance(max_chunk, int | np.integer) or max_chunk < 1
        ):
            raise InvalidArgumentError(
                f"[{op}] max_chunk must be None or a positive integer, got {max_chunk!r}"
            )
        for name, value in (("lock_timeout", lock_timeout), ("poll_interval", poll_interval)):
            if not (isinstance(value, int | float) and not isinstance(value, bool) and value > 0):
                raise InvalidArgumentError(f"[{op}] {name} must be > 0 seconds, got {value!r}")
        self.buffer = buffer
        self._layout = _Layout(buffer.fields, int(num_writers), int(ring_capacity))
        self._max_chunk = int(max_chunk) if max_chunk is not None else int(ring_capacity)
        self._lock_timeout = float(lock_timeout)
        self._poll_interval = float(poll_interval)
        self._writer_timeout = _check_timeout(writer_timeout, op)
        context = mp_context if mp_context is not None else multiprocessing.get_context("spawn")
        self._locks = [context.Lock() for _ in range(num_writers)]
        self._doorbell = context.Semaphore(0)
        self._pid = os.getpid()
        shm = shared_memory.SharedMemory(create=True, size=self._layout.nbytes)
        self._attachment: _Attachment | None = _Attachment(shm, self._layout, range(num_writers))
        header = self._attachment.header
        assert header is not None
        header[:] = 0
        for ring in self._attachment.rings.values():
            ring.header[:] = 0
        for word, value in (
            (_G_VERSION, _VERSION),
            (_G_SERVER_PID, self._pid),
            (_G_RINGS, num_writers),
            (_G_CAPACITY, ring_capacity),
            (_G_MAGIC, _MAGIC),
        ):
            header[word] = value
        self.name = shm.name
        self._pump_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._error: BaseException | None = None
        self._ingested = 0
        self._recovered_locks = 0

    # ------------------------------------------------------------------------ handles
    @property
    def num_writers(self) -> int:
        """Number of rings (one per writer)."""
        return self._layout.num_rings

    @property
    def ring_capacity(self) -> int:
        """Slots per ring."""
        return self._layout.capacity

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._attachment is None

    def writer(self, index: int) -> SharedReplayWriter:
        """The handle for ring ``index`` (give it to one actor process)."""
        if self._attachment is None:
            raise UnavailableError("[replay.shared.server] the server is closed")
        if (
            isinstance(index, bool)
            or not isinstance(index, int | np.integer)
            or not 0 <= index < self.num_writers
        ):
            raise OutOfRangeError(
                f"[replay.shared.server] writer index must be in [0, {self.num_writers}), got {index!r}"
            )
        return SharedReplayWriter(
            self.name,
            self._layout,
            int(index),
            self._locks[index],
            self._doorbell,
            self._pid,
            self._writer_timeout,
        )

    def writers(self) -> list[SharedReplayWriter]:
        """One handle per ring."""
        return [self.writer(i) for i in range(self.num_writers)]

    # ------------------------------------------------------------------------ draining
    def _enter(self, index: int, header: np.ndarray) -> bool:
        """Take ring ``index``'s lock; False when a live process holds it past ``lock_timeout``. A
        lock whose holder died inside its critical section is taken over.
        """
        lock = self._locks[index]
        if lock.acquire(timeout=self._lock_timeout):
            header[_R_HOLDER] = self._pid
            return True
        holder = int(header[_R_HOLDER]) or int(header[_R_OWNER])
        if holder == 0 or _process_alive(holder):
            return False
        if lock.acquire(block=False):  # released in the meantime after all
            header[_R_HOLDER] = self._pid
            return True
        # Every store a process makes under the lock is a single aligned word (a cursor, its pid), so
        # the ring is consistent whichever of them the dead holder got to; the data of a span is
        # written before its cursor is published.
        header[_R_HOLDER] = self._pid
        self._recovered_locks += 1
        return True

    def _spans(self, ring: _Ring, read: int, count: int) -> Iterator[tuple[int, int, bool]]:
        """``(slot, length, has_priorities)`` runs covering ``count`` items from cursor ``read``:
        split where the ring wraps and where explicit priorities give way to default ones.
        """
        capacity = self._layout.capacity
        pos = read % capacity
        head = min(count, capacity - pos)
        for start, length in ((pos, head), (0, count - head)):
            if length == 0:
                continue
            default = np.isnan(ring.priorities[start : start + length])
            cuts = [0, *(np.flatnonzero(default[1:] != default[:-1]) + 1).tolist(), length]
            for begin, end in itertools.pairwise(cuts):
                yield start + begin, end - begin, not bool(default[begin])

    def _extend_span(
        self, ring: _Ring, slot: int, length: int, has_priorities: bool, timeout: float | str | None
    ) -> None:
        batch = {
            f.name: column[slot : slot + length]
            for f, column in zip(self._layout.fields, ring.columns, strict=True)
        }
        priorities = ring.priorities[slot : slot + length] if has_priorities else None
        self.buffer.extend(batch, priorities, timeout=timeout)

    def _drain(self, index: int, ring: _Ring, timeout: float | str | None) -> int:
        header = ring.header
        if not self._enter(index, header):
            return 0
        try:
            write, read = int(header[_R_WRITE]), int(header[_R_READ])
        finally:
            _release_ring_lock(self._locks[index], header)
        pending = write - read
        if not 0 <= pending <= self._layout.capacity:
            raise CorruptDataError(
                f"[replay.shared.pump] ring {index}: write cursor {write} and read cursor {read} are "
                f"inconsistent for capacity {self._layout.capacity}"
            )
        count = min(pending, self._max_chunk)
        consumed = 0
        try:
            for slot, length, has_priorities in self._spans(ring, read, count):
                self._extend_span(ring, slot, length, has_priorities, timeout)
                consumed += length
        finally:
            if consumed:
                # Hand the slots back only after the engine copied them out.
                while not self._enter(index, header):
                    pass
                try:
                    header[_R_READ] = read + consumed
                finally:
                    _release_ring_lock(self._locks[index], header)
                self._ingested += consumed
        return consumed

    def pump(self, *, timeout: float | str | None = "default") -> int:
        """Drain every ring once (up to ``max_chunk`` items each) into the buffer; returns the
        number of items inserted. ``timeout`` is passed to ``buffer.extend`` (its rate limiter's
        wait); a TimeoutError leaves the items not yet inserted in their rings.
        """
        if self._attachment is None:
            raise UnavailableError("[replay.shared.pump] the server is closed")
        total = 0
        with self._pump_lock:
            try:
                for index in range(self.num_writers):
                    total += self._drain(index, self._attachment.rings[index], timeout)
            except BaseException as error:
                # The frames of the failed call hold views of the segment: drop them so it can be unmapped.
                traceback.clear_frames(error.__traceback__)
                raise
        return total

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                moved = self.pump(timeout=self._poll_interval)
            except TimeoutError:
                continue  # the buffer's rate limiter holds inserts back: retry
            except BaseException as error:
                traceback.clear_frames(error.__traceback__)
                self._error = error
                return
            if moved == 0:
                self._doorbell.acquire(timeout=self._poll_interval)

    def start(self) -> SharedReplayServer:
        """Start the ingest thread (a daemon that drains the rings as items arrive)."""
        if self._attachment is None:
            raise UnavailableError("[replay.shared.server] the server is closed")
        if self._thread is None:
            self._stopping.clear()
            self._error = None
            self._thread = threading.Thread(target=self._run, name="reactor-replay-ingest", daemon=True)
            self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Whether the ingest thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, *, drain: bool = True) -> None:
        """Stop the ingest thread; with ``drain``, then insert everything published so far. An error
        that stopped the ingest thread is raised here.
        """
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            self._doorbell.release()
            thread.join()
        error, self._error = self._error, None
        if error is not None:
            raise error
        if drain and self._attachment is not None:
            while self.pump():
                pass

    def stats(self) -> dict[str, Any]:
        """``ingested`` (items inserted into the buffer), ``recovered_locks`` (ring locks taken over
        from dead processes) and per ring ``written``, ``ingested`` and ``owner`` (pid, 0: none).
        """
        rings = []
        if self._attachment is not None:
            for ring in self._attachment.rings.values():
                header = ring.header
                rings.append(
                    {
                        "written": int(header[_R_WRITE]),
                        "ingested": int(header[_R_READ]),
                        "owner": int(header[_R_OWNER]),
                    }
                )
        return {"ingested": self._ingested, "recovered_locks": self._recovered_locks, "rings": rings}

    # ------------------------------------------------------------------------ lifecycle
    def close(self, *, drain: bool = True) -> None:
        """Stop ingesting (draining what was published, with ``drain``), tell writers the server is
        gone and unlink the shared memory. Safe to call twice.
        """
        if self._attachment is None:
            return
        try:
            self.stop(drain=drain)
        finally:
            attachment, self._attachment = self._attachment, None
            if attachment.header is not None:
                attachment.header[_G_CLOSED] = 1
            with _STATES_LOCK:  # writers of this server used in this process
                states = [_STATES.pop(key) for key in list(_STATES) if key[0] == self.name]
            for state in states:
                with state.lock:
                    if state.attachment is not None:
                        state.attachment.close()
                        state.attachment = None
            shm = attachment.shm
            attachment.close()
            with contextlib.suppress(FileNotFoundError):
                shm.unlink()

    def __enter__(self) -> SharedReplayServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(drain=exc_type is None)

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("running" if self.running else "idle")
        return (
            f"SharedReplayServer({self.num_writers} rings of {self.ring_capacity}, {state}, "
            f"ingested {self._ingested})"
        )
