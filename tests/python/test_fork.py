"""A process forked after the engine has started threads (multiprocessing's default on Linux)
can use the engine: it gets a fresh pool instead of waiting on the parent's workers."""

from __future__ import annotations

import os
import warnings

import numpy as np

from reactor import engine


def test_forked_child_uses_the_engine():
    engine.set_num_threads(2)
    expected = engine.normal(100_000, seed=5)  # the parent's pool is running now
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python >= 3.12 warns on fork with threads
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            engine.set_num_threads(2)
            ok = np.array_equal(engine.normal(100_000, seed=5), expected) and engine.num_threads() == 2
            code = 0 if ok else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
