"""Federated aggregation: ``reactor.federated.aggregate`` (MLForge engine) against Flower's aggregate
functions, side by side, in one run.

    .venv/bin/python benchmarks/python/federated_bench.py                 # full run (~10 min)
    .venv/bin/python benchmarks/python/federated_bench.py --quick         # CI smoke run (< 60 s)
    .venv/bin/python benchmarks/python/federated_bench.py --json fl.json  # also write the results

Workload (docs: /work/shared/anchors/federated.md section 6): K = 100 clients x D = 1,000,000
float32 parameters split over 4 layers (1000x512, 512x512, 225x1000, 856), f = 10 Byzantine
clients (100x larger noise around the same centre), weights = random sample counts. ``--quick``:
K = 30, D = 100,000, f = 3.

Peers (benchmark-only, never dependencies): ``flwr.server.strategy.aggregate``'s ``aggregate``
(FedAvg), ``aggregate_median``, ``aggregate_trimmed_avg(0.2)``, ``aggregate_krum(f, 0)`` (Krum),
``aggregate_krum(f, m)`` (Multi-Krum, m = K - f) and ``aggregate_bulyan(f, aggregate_krum)``. They
get the per-client lists of layer arrays Flower strategies hold; reactor gets the same bytes as
one (K, D) float32 array (each client's layers are views into its row), so both read identical
inputs. Extra rows: the strategies' ``aggregate_fit`` end to end from Flower ``Parameters``
(reactor ``flower.FedAvg`` vs Flower ``FedAvg(inplace=True)``).

Method: every (system, rule) runs in its own fresh subprocess, which builds the inputs from the
seed, then (1) memory: reads ``VmRSS`` with the inputs resident, resets the kernel's RSS high-water
mark (``/proc/self/clear_refs``), makes one call and reports ``VmHWM - VmRSS`` (peak extra
resident memory of the call: numpy temporaries and engine buffers alike); (2) time: ``--runs``
calls (the memory call included), median wall (``perf_counter``) and CPU time of the process
(``process_time``, all threads: the engine uses ``REACTOR_NUM_THREADS``, default all cores). The
outputs are saved and, before any figure is reported, compared in the parent with float64 numpy
references of the papers' definitions (chunked: centred Gram matrix for the distances, recursive
Krum for Bulyan's set): same Krum / Multi-Krum picks, values within 1e-5 relative. Flower's legacy
Bulyan recomputes all distances theta times (~17 min at full size on this machine); it runs under
``--flower-timeout`` seconds and, when it is cut off, its time is reported as a lower bound (so the
ratio is a lower bound too).

Memory bandwidth: a STREAM-like read of the very (K, D) input array, measured in the same run:
``np.dot(x, x)`` (BLAS) and ``np.sum`` over all K*D floats, best of 5; the read bound is
``4 K D bytes / best bandwidth``.

**The machine is shared and loaded** (2 vCPUs; other jobs run): wall time moves with other load,
CPU time much less; both are reported, with the load average. The targets are judged on wall time.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchkit import machine, versions
from benchkit import reset_peak as _reset_peak
from benchkit import status_bytes as _status_bytes

SEED = 2026
RULES = ("fedavg", "median", "trimmed_mean", "krum", "multi_krum", "bulyan")
BETA = 0.2
SPEED_TARGET = {
    "fedavg": 10.0,
    "median": 15.0,
    "trimmed_mean": 15.0,
    "krum": 30.0,
    "multi_krum": 30.0,
    "bulyan": 30.0,
}
MEM_TARGET_MB = {
    "fedavg": 10.0,
    "median": 50.0,
    "trimmed_mean": 50.0,
    "krum": 50.0,
    "multi_krum": 50.0,
    "bulyan": 50.0,
}


@dataclass
class Config:
    clients: int
    layers: list[tuple[int, ...]]
    f: int
    runs: int
    flower_runs: int
    flower_timeout: float

    @property
    def dim(self) -> int:
        return sum(math.prod(s) for s in self.layers)

    @property
    def m(self) -> int:
        return self.clients - self.f


def full_config() -> Config:
    return Config(100, [(1000, 512), (512, 512), (225, 1000), (856,)], 10, 3, 1, 300.0)


def quick_config() -> Config:
    return Config(30, [(100, 500), (200, 200), (100, 99), (100,)], 3, 2, 1, 20.0)


# ------------------------------------------------------------------------------------ inputs
def make_inputs(cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, D) float32 updates (honest: centre + 0.1 z; f Byzantine: centre + 10 z), weights, Byzantine ids."""
    rng = np.random.default_rng(SEED)
    center = rng.standard_normal(cfg.dim, dtype=np.float32)
    byzantine = np.sort(rng.choice(cfg.clients, cfg.f, replace=False))
    rows = np.empty((cfg.clients, cfg.dim), dtype=np.float32)
    for k in range(cfg.clients):
        rng.standard_normal(cfg.dim, dtype=np.float32, out=rows[k])
        rows[k] *= 10.0 if k in byzantine else 0.1
        rows[k] += center
    weights = rng.integers(50, 5000, cfg.clients).astype(np.float64)
    return rows, weights, byzantine


def layer_views(row: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(row[start : start + size].reshape(shape))
        start += size
    return out


# ------------------------------------------------------------------------------- the calls
def build_call(system: str, rule: str, cfg: Config, rows: np.ndarray, weights: np.ndarray) -> Any:
    """A no-argument callable making one aggregation call on prepared inputs, and what it returns."""
    f, m = cfg.f, cfg.m
    if system == "reactor":
        from reactor.federated import aggregate

        params = {
            "trimmed_mean": {"beta": BETA},
            "krum": {"f": f},
            "multi_krum": {"f": f, "m": m},
            "bulyan": {"f": f},
        }
        kw = params.get(rule, {})
        return lambda: aggregate(rows, weights, rule, **kw)
    if system == "reactor_kernel":  # the engine kernel alone, without aggregate()'s NaN-check pass
        from reactor import engine

        w = weights / weights.sum()
        return lambda: engine.weighted_sum(rows, w)
    if system == "flower":
        from flwr.server.strategy import aggregate as fa

        results = [(layer_views(rows[k], cfg.layers), int(weights[k])) for k in range(cfg.clients)]
        calls = {
            "fedavg": lambda: fa.aggregate(results),
            "median": lambda: fa.aggregate_median(results),
            "trimmed_mean": lambda: fa.aggregate_trimmed_avg(results, BETA),
            "krum": lambda: fa.aggregate_krum(results, f, 0),
            "multi_krum": lambda: fa.aggregate_krum(results, f, m),
            # aggregate_bulyan pops from the list it is given: hand it a fresh shallow copy.
            "bulyan": lambda: fa.aggregate_bulyan(list(results), f, fa.aggregate_krum, to_keep=0),
        }
        return calls[rule]
    if system in ("reactor_strategy", "flower_strategy"):
        from flwr.common import Code, FitRes, Status, ndarrays_to_parameters

        class Proxy:
            def __init__(self, cid: str) -> None:
                self.cid = cid

        replies = [
            (
                Proxy(str(k)),
                FitRes(
                    Status(Code.OK, ""),
                    ndarrays_to_parameters(layer_views(rows[k], cfg.layers)),
                    int(weights[k]),
                    {},
                ),
            )
            for k in range(cfg.clients)
        ]
        if system == "reactor_strategy":
            from reactor.federated.flower import FedAvg
        else:
            from flwr.server.strategy import FedAvg
        strategy = FedAvg()
        return lambda: strategy.aggregate_fit(1, replies, [])
    raise ValueError(f"unknown system {system!r}")


def flatten_output(out: Any) -> np.ndarray:
    """Flat float32 of whatever the call returned (reactor array, Flower NDArrays or Parameters)."""
    if isinstance(out, tuple):  # aggregate_fit -> (Parameters, metrics)
        from flwr.common import parameters_to_ndarrays

        out = parameters_to_ndarrays(out[0])
    if isinstance(out, list):
        return np.concatenate([np.asarray(a, dtype=np.float32).reshape(-1) for a in out])
    return np.asarray(out, dtype=np.float32).reshape(-1)


def child(system: str, rule: str, cfg: Config, out_path: str) -> dict[str, Any]:
    """(In a fresh process.) Memory of one call, then timed calls; the output goes to ``out_path``."""
    rows, weights, _ = make_inputs(cfg)
    call = build_call(system, rule, cfg, rows, weights)
    if system == "flower_strategy":  # the Parameters are the inputs: drop the ndarray copy
        del rows
    gc.collect()
    before = _status_bytes("VmRSS")
    peak_ok = _reset_peak()
    walls, cpus = [], []
    out = None
    for i in range(cfg.flower_runs if system.startswith("flower") else cfg.runs):
        del out
        t0, c0 = time.perf_counter(), time.process_time()
        out = call()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if i == 0:
            peak = _status_bytes("VmHWM")
    np.save(out_path, flatten_output(out))
    return {
        "wall_s": walls,
        "cpu_s": cpus,
        "extra_peak_bytes": float(peak - before) if peak_ok else None,
        "inputs_rss_bytes": float(before),
    }


def run_child(system: str, rule: str, cfg: Config, args: argparse.Namespace, out_path: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--_child", system, "--_rule", rule, "--_out", out_path]
    cmd += ["--_cfg", json.dumps(asdict(cfg))]
    timeout = cfg.flower_timeout if system == "flower" and rule == "bulyan" else None
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout_s": timeout, "elapsed_s": time.perf_counter() - t0}
    if proc.returncode != 0:
        return {"error": f"subprocess failed ({proc.returncode}): {proc.stderr.strip()[-800:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ references
def centred_gram_distances(rows: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """(K, K) float64 squared distances from a blocked, centred Gram matrix (float64 accumulation)."""
    k = rows.shape[0]
    gram = np.zeros((k, k))
    for start in range(0, rows.shape[1], chunk):
        block = rows[:, start : start + chunk].astype(np.float64)
        block -= block.mean(axis=0)
        gram += block @ block.T
    sq = np.diag(gram)
    return np.maximum(sq[:, None] + sq[None, :] - 2 * gram, 0.0)


def krum_scores(d2: np.ndarray, f: int) -> np.ndarray:
    n = d2.shape[0]
    closest = max(n - f - 2, 1)
    return np.array([np.sort(np.delete(d2[i], i))[:closest].sum() for i in range(n)])


def bulyan_set(d2: np.ndarray, f: int) -> list[int]:
    """Recursive Krum (El Mhamdi et al. 2018): theta = n - 2f picks, scores recomputed each time."""
    remaining, chosen = list(range(d2.shape[0])), []
    for _ in range(d2.shape[0] - 2 * f):
        scores = krum_scores(d2[np.ix_(remaining, remaining)], f)
        chosen.append(remaining.pop(int(np.argmin(scores))))
    return chosen


def references(cfg: Config, rows: np.ndarray, weights: np.ndarray, chunk: int = 65536) -> dict[str, Any]:
    """float64 numpy references of each rule's definition (plus the selections)."""
    k, d = rows.shape
    d2 = centred_gram_distances(rows)
    scores = krum_scores(d2, cfg.f)
    order = np.argsort(scores, kind="stable")
    krum_pick = int(order[0])
    mk = np.sort(order[: cfg.m])
    bset = bulyan_set(d2, cfg.f)
    beta_b = len(bset) - 2 * cfg.f
    cut = int(BETA * k)
    ref: dict[str, np.ndarray] = {name: np.empty(d) for name in (*RULES, "multi_krum_weighted")}
    w = weights / weights.sum()
    for s in range(0, d, chunk):
        block = rows[:, s : s + chunk].astype(np.float64)
        ref["fedavg"][s : s + chunk] = w @ block
        srt = np.sort(block, axis=0)
        ref["median"][s : s + chunk] = np.median(block, axis=0)
        ref["trimmed_mean"][s : s + chunk] = srt[cut : k - cut].mean(axis=0)
        ref["krum"][s : s + chunk] = block[krum_pick]
        ref["multi_krum"][s : s + chunk] = block[mk].mean(axis=0)
        ref["multi_krum_weighted"][s : s + chunk] = (weights[mk] @ block[mk]) / weights[mk].sum()
        sel = block[bset]
        med = np.median(sel, axis=0)
        closest = np.argsort(np.abs(sel - med), axis=0, kind="stable")[:beta_b]
        ref["bulyan"][s : s + chunk] = np.take_along_axis(sel, closest, axis=0).mean(axis=0)
    return {"values": ref, "krum_pick": krum_pick, "multi_krum_set": mk.tolist(), "bulyan_set": sorted(bset)}


def compare(ours: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Max relative error (floor 1e-6 of the largest |value| so tiny values do not dominate)."""
    err = np.abs(ours.astype(np.float64) - ref)
    scale = np.abs(ref) + 1e-6 * np.max(np.abs(ref))
    rel = err / scale
    return {"max_rel_err": float(rel.max()), "coords_over_1e-5": int((rel > 1e-5).sum())}


# ---------------------------------------------------------------------------------- bandwidth
def read_bandwidth(rows: np.ndarray, repeats: int = 5) -> dict[str, float]:
    flat = rows.reshape(-1)
    nbytes = flat.nbytes
    best: dict[str, float] = {}
    for name, fn in (("np.dot(x, x)", lambda: np.dot(flat, flat)), ("np.sum(x)", lambda: np.sum(flat))):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        best[name] = nbytes / min(times) / 1e9
    return best


# ------------------------------------------------------------------------------------ report
def med(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def ratio(v: float | None, lower_bound: bool) -> str:
    return "n/a" if v is None else (">= " if lower_bound else "") + f"{v:.1f}x"


def mb(v: float | None, digits: int) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def fmt_s(v: float | None, lower_bound: bool = False) -> str:
    if v is None:
        return "n/a"
    return (">= " if lower_bound else "") + (f"{v:.3f}" if v < 10 else f"{v:.1f}")


def summarize(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for rule in RULES:
        ours, peer = result["runs"]["reactor"][rule], result["runs"]["flower"][rule]
        timed_out = "timeout_s" in peer
        pw = peer["timeout_s"] if timed_out else med(peer.get("wall_s"))
        pc = peer["timeout_s"] if timed_out else med(peer.get("cpu_s"))  # CPU <= wall: a bound too
        ow, oc = med(ours.get("wall_s")), med(ours.get("cpu_s"))
        wall_ratio = pw / ow if pw and ow else None
        cpu_ratio = pc / oc if pc and oc else None
        mem = ours.get("extra_peak_bytes")
        check = result["checks"].get(rule, {})
        row = {
            "rule": rule,
            "reactor_wall_s": ow,
            "reactor_cpu_s": oc,
            "flower_wall_s": pw,
            "flower_cpu_s": pc,
            "flower_lower_bound": timed_out,
            "wall_ratio": wall_ratio,
            "cpu_ratio": cpu_ratio,
            "speed_target": SPEED_TARGET[rule],
            "speed_pass": bool(wall_ratio and wall_ratio >= SPEED_TARGET[rule]),
            "reactor_extra_mb": None if mem is None else mem / 1e6,
            "flower_extra_mb": None
            if peer.get("extra_peak_bytes") is None
            else peer["extra_peak_bytes"] / 1e6,
            "mem_target_mb": MEM_TARGET_MB[rule],
            "mem_pass": mem is not None and mem / 1e6 < MEM_TARGET_MB[rule],
            "correct": bool(check.get("pass")),
        }
        rows.append(row)
    return rows


def markdown(result: dict[str, Any]) -> str:
    cfg, m = result["config"], result["machine"]
    lines = [
        f"## Federated aggregation: reactor (MLForge engine) vs Flower {result['versions']['flwr']}"
        f" ({'QUICK smoke run, ' if result['quick'] else ''}K={cfg['clients']} clients x "
        f"D={result['dim']:,} float32 in {len(cfg['layers'])} layers, f={cfg['f']}, "
        f"Multi-Krum m={result['m']})",
        "",
        *(
            ["**Quick run**: the targets are the full-size (100 x 1M) ones; fixed costs dominate here."]
            if result["quick"]
            else []
        ),
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg_end'])}; env {m['env'] or '{}'}.",
        "Speed targets are judged on wall time, what a user waits for (the engine uses every core, as"
        " designed; Flower's numpy code uses one). CPU time (all threads of the process) is reported"
        " beside it: the speed-up per CPU-second, which a loaded machine disturbs less.",
        f"Median of {cfg['runs']} call(s) for reactor, {cfg['flower_runs']} for Flower, each system/rule in"
        " a fresh subprocess. Extra memory = peak RSS (VmHWM after a reset) minus RSS with the inputs"
        " resident,"
        " for the first call.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()) + ".",
        "",
        "| rule | reactor wall s | reactor CPU s | Flower wall s | Flower CPU s | speed-up wall"
        " | speed-up CPU"
        " | target | reactor extra MB | Flower extra MB | mem target | output check | pass |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["summary"]:
        lb = r["flower_lower_bound"]
        ok = r["speed_pass"] and r["mem_pass"] and r["correct"]
        lines.append(
            f"| {r['rule']} | {fmt_s(r['reactor_wall_s'])} | {fmt_s(r['reactor_cpu_s'])} | "
            f"{fmt_s(r['flower_wall_s'], lb)} | {fmt_s(r['flower_cpu_s'], lb)} | "
            f"{ratio(r['wall_ratio'], lb)} | "
            f"{ratio(r['cpu_ratio'], lb)} | >= {r['speed_target']:.0f}x "
            f"{'PASS' if r['speed_pass'] else 'FAIL'} | "
            f"{mb(r['reactor_extra_mb'], 1)} | {mb(r['flower_extra_mb'], 0)} | "
            f"< {r['mem_target_mb']:.0f} {'PASS' if r['mem_pass'] else 'FAIL'} | "
            f"{'ok' if r['correct'] else 'MISMATCH'} | {'PASS' if ok else 'FAIL'} |"
        )
    bw = result["bandwidth"]
    bound = result["read_bound_s"]
    lines += [
        "",
        f"Read bound: {result['input_bytes'] / 1e6:.0f} MB of inputs at the best measured read bandwidth "
        f"({', '.join(f'{k} {v:.1f} GB/s' for k, v in bw.items())}) = {bound * 1e3:.1f} ms.",
        "",
        "| FedAvg vs the read bound | wall s | CPU s | x read bound (wall) | target | extra MB |",
        "|---|---|---|---|---|---|",
    ]
    for label, key in (
        ("`reactor.federated.aggregate` (weighted sum; NaN search only on a non-finite result)", "reactor"),
        ("`engine.weighted_sum` alone", "reactor_kernel"),
    ):
        run = result["fedavg_bound"][key]
        w = med(run.get("wall_s"))
        x = w / bound if w else None
        passed = x is not None and x <= 2.0
        mem = run.get("extra_peak_bytes")
        lines.append(
            f"| {label} | {fmt_s(w)} | {fmt_s(med(run.get('cpu_s')))} | "
            f"{'n/a' if x is None else f'{x:.2f}x'} | <= 2x {'PASS' if passed else 'FAIL'} | "
            f"{'n/a' if mem is None else f'{mem / 1e6:.1f}'} |"
        )
    strat = result.get("strategy", {})
    if strat:
        lines += [
            "",
            "| FedAvg `aggregate_fit` from Flower `Parameters` (end to end) | wall s | CPU s | extra MB |",
            "|---|---|---|---|",
        ]
        for key, label in (
            ("reactor_strategy", "reactor `federated.flower.FedAvg`"),
            ("flower_strategy", "Flower `FedAvg(inplace=True)`"),
        ):
            run = strat[key]
            mem = run.get("extra_peak_bytes")
            lines.append(
                f"| {label} | {fmt_s(med(run.get('wall_s')))} | {fmt_s(med(run.get('cpu_s')))} | "
                f"{'n/a' if mem is None else f'{mem / 1e6:.1f}'} |"
            )
    lines += ["", "Output checks (float64 numpy reference of each paper's definition):", ""]
    for rule, check in result["checks"].items():
        lines.append(f"- {rule}: {check['detail']}")
    return "\n".join(lines)


def check_outputs(
    cfg: Config, outdir: Path, result: dict[str, Any], rows: np.ndarray, weights: np.ndarray
) -> None:
    ref = references(cfg, rows, weights)
    vals = ref["values"]
    checks: dict[str, Any] = {}
    for rule in RULES:
        details, ok = [], True
        for system in ("reactor", "flower"):
            path = outdir / f"{system}-{rule}.npy"
            if not path.exists():
                details.append(
                    f"{system}: no output "
                    f"({'timed out' if 'timeout_s' in result['runs'][system][rule] else 'failed'})"
                )
                ok = ok and system != "reactor"
                continue
            out = np.load(path)
            target = (
                vals["multi_krum_weighted"] if (system == "flower" and rule == "multi_krum") else vals[rule]
            )
            c = compare(out, target)
            good = c["coords_over_1e-5"] == 0
            if rule == "krum":
                pick = [k for k in range(cfg.clients) if np.array_equal(rows[k], out)]
                c["pick"] = pick
                good = good and pick == [ref["krum_pick"]]
            details.append(
                f"{system}: max rel err {c['max_rel_err']:.2e}, {c['coords_over_1e-5']} coords > 1e-5"
                + (f", pick {c.get('pick')}" if rule == "krum" else "")
            )
            if system == "reactor":
                ok = ok and good
        extra = ""
        if rule == "krum":
            extra = f" (reference pick {ref['krum_pick']})"
        elif rule == "multi_krum":
            extra = (
                " (Flower's Multi-Krum: num_examples-weighted mean of its picks; reactor's: the plain mean)"
            )
        elif rule == "bulyan":
            extra = f" (reference Bulyan set of {len(ref['bulyan_set'])})"
        checks[rule] = {"pass": ok, "detail": "; ".join(details) + extra}
    result["checks"] = checks
    result["selections"] = {k: ref[k] for k in ("krum_pick", "multi_krum_set", "bulyan_set")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="K=30, D=100k, f=3: a CI smoke run (< 60 s)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--runs", type=int, help="timed reactor calls per rule (default 3; quick 2)")
    parser.add_argument("--flower-runs", type=int, help="timed Flower calls per rule (default 1)")
    parser.add_argument(
        "--flower-timeout", type=float, help="seconds for Flower's legacy Bulyan (default 300; quick 20)"
    )
    parser.add_argument("--rules", default=",".join(RULES), help="comma list (default: all)")
    parser.add_argument("--no-strategy", action="store_true", help="skip the aggregate_fit end-to-end rows")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_rule", help=argparse.SUPPRESS)
    parser.add_argument("--_out", help=argparse.SUPPRESS)
    parser.add_argument("--_cfg", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        cfg = Config(**json.loads(args._cfg))
        cfg.layers = [tuple(s) for s in cfg.layers]
        print(json.dumps(child(args._child, args._rule, cfg, args._out)))
        return

    cfg = quick_config() if args.quick else full_config()
    cfg.runs = args.runs or cfg.runs
    cfg.flower_runs = args.flower_runs or cfg.flower_runs
    cfg.flower_timeout = args.flower_timeout or cfg.flower_timeout
    rules = [r for r in args.rules.split(",") if r]
    bad = sorted(set(rules) - set(RULES))
    if bad:
        parser.error(f"unknown rules {bad}; choose from {list(RULES)}")
    result: dict[str, Any] = {
        "quick": args.quick,
        "config": asdict(cfg),
        "dim": cfg.dim,
        "m": cfg.m,
        "input_bytes": 4 * cfg.clients * cfg.dim,
        "versions": versions("reactor", "numpy", "flwr"),
        "machine": machine(env_prefixes=("OPENBLAS", "OMP_", "MKL_", "REACTOR_NUM")),
        "runs": {"reactor": {}, "flower": {}},
    }
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="federated_bench-") as tmp:
        outdir = Path(tmp)
        for rule in rules:
            for system in ("reactor", "flower"):
                print(f"[federated_bench] {system} {rule} ...", file=sys.stderr, flush=True)
                result["runs"][system][rule] = run_child(
                    system, rule, cfg, args, str(outdir / f"{system}-{rule}.npy")
                )
        result["fedavg_bound"] = {
            "reactor": result["runs"]["reactor"].get("fedavg", {}),
            "reactor_kernel": run_child("reactor_kernel", "fedavg", cfg, args, str(outdir / "kernel.npy")),
        }
        if not args.no_strategy:
            result["strategy"] = {
                s: run_child(s, "fedavg", cfg, args, str(outdir / f"{s}.npy"))
                for s in ("reactor_strategy", "flower_strategy")
            }
        print("[federated_bench] references and bandwidth ...", file=sys.stderr, flush=True)
        rows, weights, byzantine = make_inputs(cfg)
        result["byzantine"] = byzantine.tolist()
        result["bandwidth"] = read_bandwidth(rows)
        result["read_bound_s"] = result["input_bytes"] / (max(result["bandwidth"].values()) * 1e9)
        for rule in RULES:
            result["runs"]["reactor"].setdefault(rule, {"error": "not run"})
            result["runs"]["flower"].setdefault(rule, {"error": "not run"})
        check_outputs(cfg, outdir, result, rows, weights)
        if "strategy" in result:
            for s in ("reactor_strategy", "flower_strategy"):
                path = outdir / f"{s}.npy"
                if path.exists():
                    result["strategy"][s]["check"] = compare(np.load(path), references_fedavg(rows, weights))
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    result["total_s"] = time.perf_counter() - t_start
    result["summary"] = summarize(result)
    print(markdown(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"[federated_bench] wrote {args.json}", file=sys.stderr)


def references_fedavg(rows: np.ndarray, weights: np.ndarray, chunk: int = 65536) -> np.ndarray:
    w = weights / weights.sum()
    return np.concatenate(
        [w @ rows[:, s : s + chunk].astype(np.float64) for s in range(0, rows.shape[1], chunk)]
    )


if __name__ == "__main__":
    main()
