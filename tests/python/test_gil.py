"""Long engine calls release the GIL, so other Python threads keep running."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

from reactor import engine


def _share_of_normal_progress(call) -> tuple[float, float]:
    """Run ``call`` while a Python thread counts; return (its rate during the call relative to its
    rate when alone, call duration). With the GIL held the thread would only get the few
    switch interval (set to 0.5 ms here), a small share of the call."""
    stop = threading.Event()
    ticks = [0]

    def spin():
        while not stop.is_set():
            ticks[0] += 1

    previous_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    thread = threading.Thread(target=spin)
    thread.start()
    try:
        start_alone, before_alone = time.perf_counter(), ticks[0]
        time.sleep(0.2)  # sleeping releases the GIL: the spinner runs alone
        rate_alone = (ticks[0] - before_alone) / (time.perf_counter() - start_alone)
        before = ticks[0]
        start = time.perf_counter()
        call()
        elapsed = time.perf_counter() - start
        during = ticks[0] - before
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous_interval)
    return during / (rate_alone * elapsed), elapsed


def test_python_thread_progresses_during_random_generation():
    with engine.threads(1):  # leave the second core to the Python thread
        share, elapsed = _share_of_normal_progress(
            lambda: engine.normal(30_000_000, seed=1, dtype=np.float32)
        )
    assert elapsed > 0.15, "the call was too short to tell"
    assert share > 0.3, f"the Python thread ran at {share:.0%} of its speed during a {elapsed:.2f}s call"


def test_python_thread_progresses_during_reduction():
    data = np.ones(100_000_000, dtype=np.float32)
    with engine.threads(1):
        share, elapsed = _share_of_normal_progress(lambda: engine.reduce_sum(data))
    assert elapsed > 0.005
    assert share > 0.3, f"the Python thread ran at {share:.0%} of its speed during a {elapsed:.2f}s call"
