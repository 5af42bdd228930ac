"""Prioritized replay: ``reactor.replay.ReplayBuffer`` against cpprb and TorchRL, side by side, in one run.

    .venv/bin/python benchmarks/python/replay_bench.py                    # full run, markdown table
    .venv/bin/python benchmarks/python/replay_bench.py --quick            # CI smoke run (noisy figures)
    .venv/bin/python benchmarks/python/replay_bench.py --json replay.json # also write the results

Peers (benchmark-only, never dependencies): cpprb ``PrioritizedReplayBuffer`` and TorchRL
``PrioritizedReplayBuffer`` over ``LazyTensorStorage``. A peer that is not installed, or does not
work, is reported as unavailable with its exact error and the other columns still run.

Workload (docs: /work/shared/anchors/replay.md section 6): capacity 1,000,000 transitions of
(obs float32[8], action int64, reward float32, next_obs float32[8], done bool), proportional
prioritized sampling with alpha 0.6 and beta 0.4, batch 256.

- (a) insert: fill an empty buffer with 1,000 batches of 1,000 transitions -> transitions/s.
- After the fill, every item gets a random priority (untimed), so (b)-(d) run on a non-uniform tree.
- (b) sample: ``B=256`` draws returning data + importance weights + indices/keys -> samples/s.
- (c) priority update: 256 indices/keys per call with random priorities -> index-updates/s. Each call
  uses a different batch of uniformly random items from a pool of ``--update-pool`` batches (the
  default pool covers ~1M positions), so the trees are not cache-hot.
- (d) interleaved: add 1 transition, then sample 256 -> iterations/s.
- (a2) steady-state insert: ``capacity/5000`` batches of 1,000 into the full buffer (each evicts the
  oldest items), after (b)-(d) -> transitions/s.
- Memory: reactor's ``nbytes_per_item`` and, for every library, the RSS growth of building and
  filling the full buffer, each in its own subprocess so the libraries never share a heap.
- Checkpoint (reactor): ``buf.save(path)`` and ``ReplayBuffer.load(path)`` of the full buffer.

Method: each library gets ``--runs`` fresh buffers (median reported), interleaved across libraries
with the order rotated each run; (b)-(d) loop for at least ``--min-time`` seconds. Each library is
fed its own native input types (numpy for reactor and cpprb, torch/TensorDict for TorchRL) built
before timing. ``torch.set_num_threads(1)`` is set for TorchRL: on a small contended VM torch's
intra-op threads collapse its throughput (see the anchor notes). Rates are also taken per CPU-second
of this process (``time.process_time``), which other load moves much less than wall-clock rates
(it still moves them through shared caches and memory bandwidth).

TorchRL's prebuilt C++ extension (``torchrl._torchrl``) is ABI-locked to the torch it was built
against; TorchRL 0.14.1's wheel fails to load on torch 2.13.0 (undefined ``torch::autograd``
symbol), and then ``PrioritizedSampler`` cannot be built. ``--torchrl-ext PATH`` (or
``$REACTOR_BENCH_TORCHRL_EXT``) loads a rebuilt ``_torchrl`` in its place: compile pytorch/rl's
``torchrl/csrc/{pybind.cpp,segment_tree.h,numpy_utils.h,torch_utils.h}`` against the installed
torch, e.g. ``torch.utils.cpp_extension.load(name="_torchrl", sources=["pybind.cpp"],
extra_cflags=["-O3", "-DNDEBUG"], build_directory=OUT)``; the Python side stays the installed one.
"""

from __future__ import annotations

import abc
import argparse
import gc
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchkit import fmt, machine, reset_peak, status_bytes, versions

ALPHA, BETA, BATCH = 0.6, 0.4, 256
FILL_BATCH = 1_000
OBS_DIM = 8
SPEC = {
    "obs": ("float32", (OBS_DIM,)),
    "action": ("int64", ()),
    "reward": ("float32", ()),
    "next_obs": ("float32", (OBS_DIM,)),
    "done": ("bool", ()),
}
PAYLOAD_BYTES = 4 * OBS_DIM + 8 + 4 + 4 * OBS_DIM + 1  # 77 bytes of fields per transition
LIBRARIES = ("reactor", "cpprb", "torchrl")
VERSION_DISTS = ("reactor", "numpy", "cpprb", "torch", "torchrl", "tensordict")  # recorded with each run
LABELS = {
    "reactor": "reactor `ReplayBuffer`",
    "cpprb": "cpprb `PrioritizedReplayBuffer`",
    "torchrl": "TorchRL `PrioritizedReplayBuffer` + `LazyTensorStorage`",
}


@dataclass
class Config:
    capacity: int
    fill_batches: int
    min_time: float
    runs: int
    update_pool: int
    warmup: int


def full_config() -> Config:
    return Config(capacity=1_000_000, fill_batches=1_000, min_time=2.0, runs=3, update_pool=4_096, warmup=20)


def quick_config() -> Config:
    return Config(capacity=100_000, fill_batches=100, min_time=0.15, runs=1, update_pool=1_024, warmup=3)


# --------------------------------------------------------------------------------------- inputs
def numpy_batch(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` random transitions as a dict of numpy columns (first axis = items)."""
    return {
        "obs": rng.standard_normal((n, OBS_DIM), dtype=np.float32),
        "action": rng.integers(0, 4, n, dtype=np.int64),
        "reward": rng.standard_normal(n, dtype=np.float32),
        "next_obs": rng.standard_normal((n, OBS_DIM), dtype=np.float32),
        "done": rng.random(n) < 0.01,
    }


def random_priorities(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.01, 2.0, n)


# ------------------------------------------------------------------------------------- TorchRL
_TORCHRL: dict[str, Any] = {}


def load_torchrl(ext_path: str | None) -> str | None:
    """Import TorchRL (with a rebuilt ``_torchrl`` when given); None when it works, else the error."""
    if _TORCHRL:
        return _TORCHRL.get("error")
    try:
        import torch

        torch.set_num_threads(1)
        if ext_path:
            spec = importlib.util.spec_from_file_location("torchrl._torchrl", ext_path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load a module from {ext_path!r}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules["torchrl._torchrl"] = module
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import tensordict
            from torchrl.data import LazyTensorStorage, PrioritizedReplayBuffer
            from torchrl.data.replay_buffers.samplers import PrioritizedSampler
        logging.getLogger("torchrl").setLevel(logging.WARNING)
        try:
            PrioritizedSampler(16, ALPHA, BETA)
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            try:
                import torchrl._torchrl  # noqa: F401  (the root cause, usually an ABI mismatch)
            except ImportError as cause:
                detail += f" (import torchrl._torchrl: {cause})"
            raise RuntimeError(detail) from exc
    except Exception as exc:
        _TORCHRL["error"] = str(exc) if isinstance(exc, RuntimeError) else f"{type(exc).__name__}: {exc}"
        return _TORCHRL["error"]
    _TORCHRL.update(
        torch=torch,
        TensorDict=tensordict.TensorDict,
        PrioritizedReplayBuffer=PrioritizedReplayBuffer,
        LazyTensorStorage=LazyTensorStorage,
        ext=ext_path or "prebuilt",
    )
    return None


def load_cpprb() -> str | None:
    try:
        import cpprb  # noqa: F401
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


# ------------------------------------------------------------------------------------ adapters
class Adapter(abc.ABC):
    """One library's buffer behind the same few calls; native inputs are prepared up front."""

    name = ""

    @abc.abstractmethod
    def build(self, capacity: int) -> None: ...

    def native(self, batch: dict[str, np.ndarray]) -> Any:
        return batch

    @abc.abstractmethod
    def extend(self, batch: Any) -> Any: ...

    @abc.abstractmethod
    def handles(self, returned: list[Any], size: int) -> np.ndarray:
        """Indices/keys of every item after the fill, in insertion order (numpy)."""

    def native_update(self, handles: np.ndarray, priorities: np.ndarray) -> tuple[Any, Any]:
        return handles, priorities

    @abc.abstractmethod
    def update(self, handles: Any, priorities: Any) -> None: ...

    @abc.abstractmethod
    def sample(self, n: int) -> Any: ...

    def add_one(self, one: Any) -> None:
        self.extend(one)

    def close(self) -> None:
        self.buf = None
        gc.collect()


class ReactorAdapter(Adapter):
    name = "reactor"

    def build(self, capacity: int) -> None:
        from reactor.replay import ReplayBuffer

        self.buf = ReplayBuffer(capacity, SPEC, sampler="prioritized", alpha=ALPHA, beta=BETA, seed=0)

    def extend(self, batch: Any) -> Any:
        return self.buf.extend(batch)

    def handles(self, returned: list[Any], size: int) -> np.ndarray:
        return np.concatenate(returned)[-size:]

    def native_update(self, handles: np.ndarray, priorities: np.ndarray) -> tuple[Any, Any]:
        return np.ascontiguousarray(handles, dtype=np.uint64), np.ascontiguousarray(priorities, np.float64)

    def update(self, handles: Any, priorities: Any) -> None:
        self.buf.update_priorities(handles, priorities)

    def sample(self, n: int) -> Any:
        b = self.buf.sample(n)
        return b["obs"], b.weights, b.keys


class CpprbAdapter(Adapter):
    name = "cpprb"

    def build(self, capacity: int) -> None:
        from cpprb import PrioritizedReplayBuffer

        env = {
            "obs": {"shape": OBS_DIM, "dtype": np.float32},
            "action": {"dtype": np.int64},
            "reward": {"dtype": np.float32},
            "next_obs": {"shape": OBS_DIM, "dtype": np.float32},
            "done": {"dtype": np.bool_},
        }
        self.buf = PrioritizedReplayBuffer(capacity, env, alpha=ALPHA)

    def extend(self, batch: Any) -> Any:
        return self.buf.add(**batch)

    def handles(self, returned: list[Any], size: int) -> np.ndarray:
        return np.arange(size, dtype=np.uint64)

    def native_update(self, handles: np.ndarray, priorities: np.ndarray) -> tuple[Any, Any]:
        # what cpprb's own sample() returns: uint64 indexes; its trees hold float32
        return np.ascontiguousarray(handles, dtype=np.uint64), np.ascontiguousarray(priorities, np.float32)

    def update(self, handles: Any, priorities: Any) -> None:
        self.buf.update_priorities(handles, priorities)

    def sample(self, n: int) -> Any:
        s = self.buf.sample(n, beta=BETA)
        return s["obs"], s["weights"], s["indexes"]


class TorchRLAdapter(Adapter):
    name = "torchrl"

    def build(self, capacity: int) -> None:
        t = _TORCHRL
        self.torch = t["torch"]
        self.buf = t["PrioritizedReplayBuffer"](
            alpha=ALPHA, beta=BETA, storage=t["LazyTensorStorage"](capacity), batch_size=BATCH
        )

    def native(self, batch: dict[str, np.ndarray]) -> Any:
        torch = _TORCHRL["torch"]
        n = len(batch["reward"])
        columns = {k: torch.from_numpy(v.copy()) for k, v in batch.items()}
        return _TORCHRL["TensorDict"](columns, batch_size=[n])

    def extend(self, batch: Any) -> Any:
        return self.buf.extend(batch)

    def handles(self, returned: list[Any], size: int) -> np.ndarray:
        return self.torch.cat(returned)[-size:].numpy()

    def native_update(self, handles: np.ndarray, priorities: np.ndarray) -> tuple[Any, Any]:
        torch = self.torch
        return torch.from_numpy(handles.astype(np.int64)), torch.from_numpy(priorities.astype(np.float32))

    def update(self, handles: Any, priorities: Any) -> None:
        self.buf.update_priority(handles, priorities)

    def sample(self, n: int) -> Any:
        data, info = self.buf.sample(n, return_info=True)
        return data["obs"], info["priority_weight"], info["index"]


ADAPTERS: dict[str, type[Adapter]] = {
    "reactor": ReactorAdapter,
    "cpprb": CpprbAdapter,
    "torchrl": TorchRLAdapter,
}


# -------------------------------------------------------------------------------------- timing
def timed_loop(fn: Callable[[int], Any], min_time: float, warmup: int) -> tuple[float, float, int]:
    """Call ``fn(i)`` until ``min_time`` seconds pass; returns (calls/s, calls per CPU-second, calls)."""
    for i in range(warmup):
        fn(i)
    gc.collect()
    calls = 0
    c0, t0 = time.process_time(), time.perf_counter()
    while True:
        for _ in range(8):
            fn(calls)
            calls += 1
        wall = time.perf_counter() - t0
        if wall >= min_time:
            break
    cpu = max(time.process_time() - c0, 1e-9)
    return calls / wall, calls / cpu, calls


def run_library(name: str, cfg: Config, seed: int) -> dict[str, float]:
    """One fresh buffer of one library through (a)-(d) (+ reactor's checkpoint); returns its figures."""
    rng = np.random.default_rng(seed)
    ad = ADAPTERS[name]()
    source = [ad.native(numpy_batch(FILL_BATCH, rng)) for _ in range(4)]
    one = ad.native(numpy_batch(1, rng))
    out: dict[str, float] = {}

    gc.collect()
    t0 = time.perf_counter()
    ad.build(cfg.capacity)
    out["construct_s"] = time.perf_counter() - t0

    # (a) fill
    extend = ad.extend
    returned = []
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(cfg.fill_batches):
        returned.append(extend(source[i & 3]))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n_items = cfg.fill_batches * FILL_BATCH
    out["insert_per_s"] = n_items / wall
    out["insert_per_cpu_s"] = n_items / max(cpu, 1e-9)
    size = min(n_items, cfg.capacity)
    handles = ad.handles(returned, size)
    del returned

    # random priority for every item (untimed), so sampling walks a non-uniform tree
    for lo in range(0, size, 100_000):
        h, p = ad.native_update(
            handles[lo : lo + 100_000], random_priorities(len(handles[lo : lo + 100_000]), rng)
        )
        ad.update(h, p)

    # (b) sample
    sample = ad.sample
    rate, cpu_rate, _ = timed_loop(lambda _i: sample(BATCH), cfg.min_time, cfg.warmup)
    out["sample_batches_per_s"], out["sample_batches_per_cpu_s"] = rate, cpu_rate
    out["samples_per_s"], out["samples_per_cpu_s"] = rate * BATCH, cpu_rate * BATCH

    # (c) priority update: a different random batch of items each call
    pool = [
        ad.native_update(handles[rng.integers(0, size, BATCH)], random_priorities(BATCH, rng))
        for _ in range(cfg.update_pool)
    ]
    update, n_pool = ad.update, len(pool)

    def update_call(i: int) -> None:
        h, p = pool[i % n_pool]
        update(h, p)

    rate, cpu_rate, _ = timed_loop(update_call, cfg.min_time, cfg.warmup)
    out["update_calls_per_s"], out["update_calls_per_cpu_s"] = rate, cpu_rate
    out["updates_per_s"], out["updates_per_cpu_s"] = rate * BATCH, cpu_rate * BATCH
    pool.clear()

    # (d) add 1 + sample 256
    add_one = ad.add_one

    def interleaved(_i: int) -> None:
        add_one(one)
        sample(BATCH)

    rate, cpu_rate, _ = timed_loop(interleaved, cfg.min_time, cfg.warmup)
    out["interleaved_per_s"], out["interleaved_per_cpu_s"] = rate, cpu_rate

    # (a2) steady state: batches of 1,000 into the full buffer, each evicting the oldest items
    n_evict = max(1, cfg.fill_batches // 5)
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(n_evict):
        extend(source[i & 3])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out["evict_insert_per_s"] = n_evict * FILL_BATCH / wall
    out["evict_insert_per_cpu_s"] = n_evict * FILL_BATCH / max(cpu, 1e-9)

    if name == "reactor":
        out.update(reactor_checkpoint(ad.buf))
        out["nbytes_per_item"] = float(ad.buf.nbytes_per_item)
    ad.close()
    return out


def reactor_checkpoint(buf: Any) -> dict[str, float]:
    from reactor.replay import ReplayBuffer

    with tempfile.TemporaryDirectory(prefix="replay_bench_") as tmp:
        path = Path(tmp) / "buffer.ckpt"
        t0 = time.perf_counter()
        buf.save(path)
        save_s = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in ([path] if path.is_file() else path.rglob("*")) if f.is_file())
        t0 = time.perf_counter()
        restored = ReplayBuffer.load(path)
        load_s = time.perf_counter() - t0
        if len(restored) != len(buf):
            raise AssertionError(f"restored {len(restored)} items, saved {len(buf)}")
        restored.sample(BATCH)
        del restored
    return {"save_s": save_s, "load_s": load_s, "checkpoint_bytes": float(size)}


# -------------------------------------------------------------------------------------- memory
def rss_child(name: str, capacity: int, fill_batches: int, ext: str | None) -> dict[str, float]:
    """(In a fresh process.) RSS growth of building and filling one library's buffer."""
    if name == "torchrl" and (err := load_torchrl(ext)):
        raise RuntimeError(err)
    ad = ADAPTERS[name]()
    source = [ad.native(numpy_batch(FILL_BATCH, np.random.default_rng(0))) for _ in range(4)]
    if name == "reactor":
        from reactor.replay import ReplayBuffer  # noqa: F401  (import cost outside the measurement)
    elif name == "cpprb":
        import cpprb  # noqa: F401
    gc.collect()
    before = status_bytes("VmRSS")
    peak_reset = reset_peak()
    ad.build(capacity)
    returned = [ad.extend(source[i & 3]) for i in range(fill_batches)]
    del returned
    gc.collect()
    after = status_bytes("VmRSS")
    peak = status_bytes("VmHWM")
    items = min(capacity, fill_batches * FILL_BATCH)
    out = {"rss_growth_bytes": float(after - before), "rss_bytes_per_item": (after - before) / items}
    if peak_reset:
        out["peak_growth_bytes_per_item"] = (peak - before) / items
    return out


def measure_rss(name: str, cfg: Config, ext: str | None) -> dict[str, float] | str:
    cmd = [sys.executable, __file__, "--_rss", name, "--_capacity", str(cfg.capacity)]
    cmd += ["--_fill-batches", str(cfg.fill_batches)]
    if ext:
        cmd += ["--torchrl-ext", ext]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return f"subprocess failed ({proc.returncode}): {proc.stderr.strip()[-500:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------- reports
def summarize(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = runs[0].keys() if runs else []
    out = {}
    for k in keys:
        vals = [r[k] for r in runs]
        med = statistics.median(vals)
        out[k] = {
            "median": med,
            "min": min(vals),
            "max": max(vals),
            "spread": (max(vals) - min(vals)) / med if med else 0,
        }
    return out


ROWS: list[tuple[str, str, str | None, bool]] = [
    # (label, metric, secondary metric shown in parentheses, higher is better)
    ("(a) insert into the empty buffer, transitions/s", "insert_per_s", None, True),
    ("(a2) insert into the full buffer (evicts oldest), transitions/s", "evict_insert_per_s", None, True),
    ("(b) sample B=256, samples/s (batches/s)", "samples_per_s", "sample_batches_per_s", True),
    ("(c) priority update, index-updates/s (calls/s)", "updates_per_s", "update_calls_per_s", True),
    ("(d) add 1 + sample 256, iterations/s", "interleaved_per_s", None, True),
    ("construct empty buffer, s", "construct_s", None, False),
]
CPU_ROWS: list[tuple[str, str]] = [
    ("(a) insert into the empty buffer, transitions per CPU-s", "insert_per_cpu_s"),
    ("(a2) insert into the full buffer, transitions per CPU-s", "evict_insert_per_cpu_s"),
    ("(b) sample, samples per CPU-s", "samples_per_cpu_s"),
    ("(c) update, index-updates per CPU-s", "updates_per_cpu_s"),
    ("(d) add 1 + sample 256, iterations per CPU-s", "interleaved_per_cpu_s"),
]


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "n/a"


def markdown(result: dict[str, Any]) -> str:
    libs: list[str] = [lib for lib in result["libraries"] if lib in result["summary"]]
    peers = [lib for lib in libs if lib != "reactor"]
    summ, cfg = result["summary"], result["config"]

    def med(lib: str, metric: str) -> float | None:
        cell = summ.get(lib, {}).get(metric)
        return None if cell is None else cell["median"]

    def cell(lib: str, metric: str, extra: str | None) -> str:
        v = med(lib, metric)
        if v is None:
            return "n/a"
        text = fmt(v)
        if extra and med(lib, extra) is not None:
            text += f" ({fmt(med(lib, extra))})"
        spread = summ[lib][metric]["spread"]
        return text + (f" ±{spread * 50:.0f}%" if cfg["runs"] > 1 else "")

    head = ["Metric", *(LABELS[lib] for lib in libs), *(f"reactor / {lib}" for lib in peers)]
    lines = [
        f"## Prioritized replay: reactor vs peers ({'QUICK smoke run, ' if result['quick'] else ''}"
        f"capacity {cfg['capacity']:,}, alpha {ALPHA}, beta {BETA}, B={BATCH})",
        "",
        f"Machine: {result['machine']['cpu']}, {result['machine']['cpus']} CPUs, load average at start "
        f"{', '.join(f'{x:.2f}' for x in result['machine']['loadavg_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in result['machine']['loadavg_end'])}.",
        "**This machine is shared and noisy**: absolute figures move with other load;"
        " the reactor/peer **ratios** are what matters.",
        f"Median of {cfg['runs']} fresh-buffer run(s) per library, interleaved;"
        " ±x% is half the min-max range.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()) + ".",
    ]
    if "torchrl" in libs:
        lines.append(f"TorchRL: `torch.set_num_threads(1)`, C++ extension: {result['torchrl_extension']}.")
    for lib, err in result["unavailable"].items():
        lines.append(f"**{LABELS[lib]} unavailable**: `{err}`")
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, metric, extra, higher in ROWS:
        row = [label + (" (lower is better)" if not higher else "")]
        row += [cell(lib, metric, extra) for lib in libs]
        row += [ratio(med("reactor", metric), med(lib, metric)) for lib in peers]
        lines.append("| " + " | ".join(row) + " |")
    mem = result["memory"]

    def mem_val(lib: str, key: str) -> float | None:
        m = mem.get(lib)
        return m.get(key) if isinstance(m, dict) else None

    def mem_cell(lib: str, key: str) -> str:
        v = mem_val(lib, key)
        return "n/a" if v is None else f"{v:.1f}"

    for label, key in (
        ("RSS growth of the filled buffer, bytes/transition (lower is better)", "rss_bytes_per_item"),
        ("peak RSS growth while filling, bytes/transition (lower is better)", "peak_growth_bytes_per_item"),
    ):
        row = [label, *(mem_cell(lib, key) for lib in libs)]
        row += [ratio(mem_val("reactor", key), mem_val(lib, key)) for lib in peers]
        lines.append("| " + " | ".join(row) + " |")
    blanks = [""] * (len(head) - 2)
    r = summ.get("reactor", {})
    if r:
        lines.append(
            "| reactor `nbytes_per_item` (fields "
            + str(PAYLOAD_BYTES)
            + " B + key, priority, count) | "
            + " | ".join([f"{r['nbytes_per_item']['median']:.0f}", *blanks])
            + " |"
        )
        ck = f"{r['checkpoint_bytes']['median'] / 2**20:.1f} MiB"
        for label, metric in (
            ("reactor checkpoint `save`, s", "save_s"),
            ("reactor restore `load`, s", "load_s"),
        ):
            lines.append(
                f"| {label} ({ck} file) | " + " | ".join([cell("reactor", metric, None), *blanks]) + " |"
            )
    if peers:
        lines += [
            "",
            "Per CPU-second of the benchmark process (far less sensitive to other load than wall-clock):",
            "",
        ]
        head2 = ["Metric", *(LABELS[lib] for lib in libs), *(f"reactor / {lib}" for lib in peers)]
        lines += ["| " + " | ".join(head2) + " |", "|" + "---|" * len(head2)]
        for label, metric in CPU_ROWS:
            row = [label, *(cell(lib, metric, None) for lib in libs)]
            row += [ratio(med("reactor", metric), med(lib, metric)) for lib in peers]
            lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Ratios: reactor/peer; above 1x reactor is faster for rates, below 1x it is smaller/faster for",
        "bytes and seconds. (c) draws each call's 256 items uniformly from the whole buffer (a pool of "
        f"{cfg['update_pool']:,} batches), so it is not cache-hot.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="capacity 100k, short loops: a CI smoke run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--runs", type=int, help="fresh-buffer runs per library (default 3; quick 1)")
    parser.add_argument("--min-time", type=float, help="seconds per timed loop (default 2; quick 0.15)")
    parser.add_argument("--update-pool", type=int, help="distinct random batches for (c) (default 4096)")
    parser.add_argument(
        "--capacity", type=int, help="capacity, filled by capacity/1000 batches (default 1M; quick 100k)"
    )
    parser.add_argument("--libraries", default=",".join(LIBRARIES), help="comma list (default: all)")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-library RSS subprocesses")
    parser.add_argument(
        "--torchrl-ext",
        default=os.environ.get("REACTOR_BENCH_TORCHRL_EXT") or None,
        help="a rebuilt torchrl/_torchrl*.so to use instead of the wheel's (see the module docstring)",
    )
    parser.add_argument("--_rss", help=argparse.SUPPRESS)
    parser.add_argument("--_capacity", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--_fill-batches", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args._rss:
        print(json.dumps(rss_child(args._rss, args._capacity, args._fill_batches, args.torchrl_ext)))
        return

    cfg = quick_config() if args.quick else full_config()
    if args.runs:
        cfg.runs = args.runs
    if args.min_time:
        cfg.min_time = args.min_time
    if args.capacity:
        if args.capacity < FILL_BATCH or args.capacity % FILL_BATCH:
            parser.error(f"--capacity must be a positive multiple of {FILL_BATCH}")
        cfg.capacity, cfg.fill_batches = args.capacity, args.capacity // FILL_BATCH
    if args.update_pool:
        cfg.update_pool = args.update_pool
    wanted = [lib.strip() for lib in args.libraries.split(",") if lib.strip()]
    unknown = set(wanted) - set(LIBRARIES)
    if unknown or "reactor" not in wanted:
        parser.error(f"--libraries: choose from {LIBRARIES}, reactor included (got {wanted})")

    unavailable: dict[str, str] = {}
    libs = ["reactor"]
    for lib in [w for w in wanted if w != "reactor"]:
        err = load_cpprb() if lib == "cpprb" else load_torchrl(args.torchrl_ext)
        if err:
            unavailable[lib] = err
            print(f"[replay_bench] {lib} unavailable: {err}", file=sys.stderr)
        else:
            libs.append(lib)

    # Everything imported so far is long-lived: keep the collector from rescanning it (a full
    # collection over torch's heap takes ~0.3 s), so each library's loop only pays for its own garbage.
    gc.collect()
    gc.freeze()
    mach = machine()
    print(
        f"[replay_bench] capacity {cfg.capacity:,}, {cfg.runs} run(s) x {libs}; shared/noisy machine "
        f"(load {mach['loadavg_start'][0]:.2f}): compare the ratios, not the absolute figures",
        file=sys.stderr,
    )
    raw: dict[str, list[dict[str, float]]] = {lib: [] for lib in libs}
    t_start = time.perf_counter()
    for run in range(cfg.runs):
        order = libs[run % len(libs) :] + libs[: run % len(libs)]
        for lib in order:
            t0 = time.perf_counter()
            raw[lib].append(run_library(lib, cfg, seed=1000 + run))
            print(
                f"[replay_bench] run {run + 1}/{cfg.runs} {lib}: {time.perf_counter() - t0:.1f}s",
                file=sys.stderr,
            )

    memory: dict[str, Any] = {}
    if not args.no_memory:
        for lib in libs:
            if args.quick and lib == "torchrl":  # importing TorchRL alone takes seconds
                memory[lib] = "not measured in --quick"
                continue
            memory[lib] = measure_rss(lib, cfg, args.torchrl_ext)
            if isinstance(memory[lib], str):
                print(f"[replay_bench] memory {lib}: {memory[lib]}", file=sys.stderr)
    mach["loadavg_end"] = list(os.getloadavg())

    result = {
        "benchmark": "replay",
        "quick": args.quick,
        "config": asdict(cfg),
        "workload": {"alpha": ALPHA, "beta": BETA, "batch": BATCH, "fill_batch": FILL_BATCH, "spec": SPEC},
        "machine": mach,
        "versions": versions(*VERSION_DISTS),
        "torchrl_extension": _TORCHRL.get("ext", "n/a"),
        "libraries": libs,
        "unavailable": unavailable,
        "runs": raw,
        "summary": {lib: summarize(runs) for lib, runs in raw.items()},
        "memory": memory,
        "elapsed_s": time.perf_counter() - t_start,
    }
    print(markdown(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"[replay_bench] wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
