"""One scheduling pass: the engine (``reactor.engine.scheduler``) against a straightforward
heapq-based pure-Python implementation of the same policy, side by side, in one run.

    .venv/bin/python benchmarks/python/scheduler_bench.py                      # 1k, 10k, 100k jobs
    .venv/bin/python benchmarks/python/scheduler_bench.py --quick              # CI smoke run
    .venv/bin/python benchmarks/python/scheduler_bench.py --json sched.json --markdown sched.md

Workload: 1,000 nodes (64 cpus, 512 GiB, 8 gpus), about 85% busy with running jobs, and N queued
jobs (N = 1k / 10k / 100k) from 8 tenants with weights 1-4: cpus in {1, 2, 4, 8, 16}, memory 4-64
GiB, 0-2 gpus, priorities 0-9, submitted within the last two hours, max run time 1-120 minutes.
Policy (both sides): priority with aging, DRF fair share across tenants, EASY backfilling with one
reservation, first fit over nodes; preemption off. The Python side uses the same algorithmic
shortcuts as the engine (a per-tenant heap, the failed-shape memo, skipping nodes nothing fits), so
the ratio measures the implementation, not a different algorithm. Before timing, both sides must
make identical decisions on the same input, or the run stops.

Timing: the median of ``--runs`` passes, each on a freshly built scheduler (building is not timed),
with the cyclic GC paused (as timeit does). The engine figure is one ``Scheduler.schedule()`` call,
which returns its decisions as Python ``Decision`` objects; picking the (job, node) pairs out of
them for the comparison is not timed (the Python side builds that list as it goes).
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reactor.engine.scheduler import Decision, JobSpec, NodeSpec, Scheduler

NOW = 1_000_000.0
SLACK = 1e-9
AGING, MAX_AGING, FAIRSHARE = 1.0, 100.0, 10.0
WEIGHTS = {f"t{k}": float(1 + k % 4) for k in range(8)}


@dataclass
class Workload:
    nodes: list[tuple[float, float, float]]
    running: list[tuple[JobSpec, int]]  # spec, node
    queued: list[JobSpec]


def make_workload(n_jobs: int, n_nodes: int = 1000, seed: int = 0) -> Workload:
    rng = random.Random(seed)
    nodes = [(64.0, 524288.0, 8.0)] * n_nodes
    free = [list(cap) for cap in nodes]
    running: list[tuple[JobSpec, int]] = []
    job_id = 0

    def spec(submit_span: float) -> JobSpec:
        nonlocal job_id
        job_id += 1
        return JobSpec(
            id=job_id,
            priority=float(rng.randrange(10)),
            tenant=f"t{rng.randrange(8)}",
            cpus=float(rng.choice((1, 2, 4, 8, 16))),
            memory=4096.0 * rng.randint(1, 16),
            gpus=float(rng.choice((0, 0, 0, 1, 2))),
            submit_time=NOW - rng.uniform(0, submit_span),
            expected_run_time=60.0 * rng.randint(1, 60),
            max_run_time=60.0 * rng.randint(1, 120),
        )

    for node in range(n_nodes):  # ~85% busy
        while free[node][0] > 64 * 0.15:
            job = spec(7200.0)
            if job.cpus > free[node][0] or job.memory > free[node][1] or job.gpus > free[node][2]:
                break
            free[node] = [free[node][0] - job.cpus, free[node][1] - job.memory, free[node][2] - job.gpus]
            running.append((job, node))
    queued = [spec(7200.0) for _ in range(n_jobs)]
    return Workload(nodes, running, queued)


def engine_setup(w: Workload) -> Scheduler:
    s = Scheduler(
        aging_per_hour=AGING, max_aging=MAX_AGING, fairshare_weight=FAIRSHARE, tenant_weights=WEIGHTS,
        preemption=False,
    )  # fmt: skip
    for k, (cpus, memory, gpus) in enumerate(w.nodes):
        s.add_node(NodeSpec(k, cpus=cpus, memory=memory, gpus=gpus))
    s.submit([job for job, _ in w.running] + w.queued)
    for job, node in w.running:
        s.restore_running(job.id, [node], NOW - 600.0)
    return s


def engine_pass(s: Scheduler) -> list[Decision]:
    """One pass (the timed call)."""
    return s.schedule(NOW)


def starts(decisions: list[Decision]) -> list[tuple[int, int]]:
    """(job, node) of every start, in decision order."""
    return [(d.job, d.nodes[0]) for d in decisions if d.action == "start"]


def python_pass(w: Workload) -> list[tuple[int, int]]:
    """The same policy in plain Python: heapq over tenants, first fit, EASY reservation."""
    dims = 3
    free = [list(cap) for cap in w.nodes]
    total = [sum(cap[d] for cap in w.nodes) for d in range(dims)]
    tenants = sorted({job.tenant for job, _ in w.running} | {job.tenant for job in w.queued})
    # Tenant indices follow first appearance, as in the engine (running jobs were submitted first).
    order_seen: dict[str, int] = {}
    for job in [j for j, _ in w.running] + w.queued:
        order_seen.setdefault(job.tenant, len(order_seen))
    tenants = sorted(order_seen, key=order_seen.__getitem__)
    alloc = {t: [0.0] * dims for t in tenants}
    node_running: list[list[tuple[float, int, list[float]]]] = [[] for _ in w.nodes]  # (end, index, req)
    for index, (job, node) in enumerate(w.running):
        req = [job.cpus, job.memory, job.gpus]
        for d in range(dims):
            free[node][d] -= req[d]
            alloc[job.tenant][d] += req[d] * 1.0
        node_running[node].append((max(NOW, NOW - 600.0 + job.max_run_time), index, req))
    base = len(w.running)

    def fits(req: list[float], room: list[float]) -> bool:
        return all(req[d] <= room[d] + SLACK for d in range(dims))

    per_tenant: dict[str, list[tuple[float, float, float, int, int]]] = {t: [] for t in tenants}
    min_req = [float("inf")] * dims
    for k, job in enumerate(w.queued):
        waited = max(0.0, NOW - job.submit_time) / 3600.0
        eff = job.priority + min(MAX_AGING, AGING * waited)
        per_tenant[job.tenant].append((-eff, job.expected_run_time, job.submit_time, job.id, k))
        for d, amount in enumerate((job.cpus, job.memory, job.gpus)):
            min_req[d] = min(min_req[d], amount)
    for rows in per_tenant.values():
        rows.sort()
    active = [t for t in tenants if per_tenant[t] or any(alloc[t])]
    weight_sum = sum(WEIGHTS.get(t, 1.0) for t in tenants if t in active)

    def penalty(t: str) -> float:
        share = max((alloc[t][d] / total[d] for d in range(dims) if total[d] > 0), default=0.0)
        return FAIRSHARE * share * weight_sum / WEIGHTS.get(t, 1.0)

    cursor = dict.fromkeys(tenants, 0)
    heap = [(-(-per_tenant[t][0][0] - penalty(t)), order_seen[t], t) for t in tenants if per_tenant[t]]
    heapq.heapify(heap)
    failed: list[tuple[list[float], float]] = []
    open_nodes = list(range(len(w.nodes)))
    blocked, shadow, reserved, extra = False, float("inf"), set(), {}
    out = []
    while heap:
        _, _, t = heapq.heappop(heap)
        row = per_tenant[t][cursor[t]]
        cursor[t] += 1
        job = w.queued[row[4]]
        req, max_run = [job.cpus, job.memory, job.gpus], job.max_run_time
        if any(max_run >= m and all(req[d] >= f[d] for d in range(dims)) for f, m in failed):
            chosen, plain = None, 0
        else:
            chosen, plain, kept = None, 0, []
            for i, n in enumerate(open_nodes):
                if any(free[n][d] + SLACK < min_req[d] for d in range(dims)):
                    continue
                kept.append(n)
                if not fits(req, free[n]):
                    continue
                plain += 1
                if n not in reserved or NOW + max_run <= shadow or fits(req, extra[n]):
                    chosen = n
                    kept.extend(open_nodes[i + 1 :])
                    break
            open_nodes = kept
        if chosen is not None:
            if NOW + max_run > shadow and chosen in reserved:
                extra[chosen] = [extra[chosen][d] - req[d] for d in range(dims)]
            for d in range(dims):
                free[chosen][d] -= req[d]
                alloc[t][d] += req[d] * 1.0
            node_running[chosen].append((NOW + max_run, base + row[4], req))
            out.append((job.id, chosen))
        else:
            memo_run = -float("inf") if plain < 1 else max_run
            if not any(memo_run >= m and all(req[d] >= f[d] for d in range(dims)) for f, m in failed):
                failed = [
                    (f, m)
                    for f, m in failed
                    if not (m >= memo_run and all(f[d] >= req[d] for d in range(dims)))
                ]
                if len(failed) < 32:
                    failed.append((req, memo_run))
            if not blocked:
                blocked = True
                best = None
                for n in range(len(w.nodes)):  # EASY: earliest time this node holds the job
                    room = list(free[n])
                    at = NOW if fits(req, room) else None
                    if at is None:
                        for end, _, r in sorted(node_running[n], key=lambda e: (e[0], e[1])):
                            room = [room[d] + r[d] for d in range(dims)]
                            if fits(req, room):
                                at = end
                                break
                    if at is not None and (best is None or (at, n) < best):
                        best = (at, n)
                if best is not None:
                    shadow, node = best
                    reserved = {node}
                    room = [free[node][d] - req[d] for d in range(dims)]
                    for end, _, r in node_running[node]:
                        if end <= shadow:
                            room = [room[d] + r[d] for d in range(dims)]
                    extra[node] = room
        if cursor[t] < len(per_tenant[t]):
            heapq.heappush(heap, (-(-per_tenant[t][cursor[t]][0] - penalty(t)), order_seen[t], t))
    return out


def median_time(setup: Callable[[], Any], run: Callable[[Any], Any], runs: int) -> float:
    """Median seconds of ``run(setup())`` with the cyclic GC paused, as timeit does: a collection
    over the 100k job specs would otherwise land in whichever side happens to allocate then.
    """
    times = []
    for _ in range(runs):
        state = setup()
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run(state)
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1k and 10k, 2 runs")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    sizes, runs = ([1_000, 10_000], 2) if args.quick else (args.sizes, args.runs)
    rows = []
    for n in sizes:
        w = make_workload(n)
        engine_decisions = starts(engine_pass(engine_setup(w)))
        python_decisions = python_pass(w)
        if engine_decisions != python_decisions:
            raise SystemExit(f"{n} jobs: the engine and the Python reference disagree; not timing")
        t_engine = median_time(lambda w=w: engine_setup(w), engine_pass, runs)
        t_python = median_time(lambda w=w: w, python_pass, max(1, runs // 2) if n >= 100_000 else runs)
        rows.append(
            {
                "queued_jobs": n,
                "nodes": len(w.nodes),
                "running_jobs": len(w.running),
                "starts": len(engine_decisions),
                "engine_ms": t_engine * 1e3,
                "python_ms": t_python * 1e3,
                "ratio": t_python / t_engine,
            }
        )
        print(f"{n:>7} queued: engine {t_engine * 1e3:8.2f} ms, python {t_python * 1e3:9.1f} ms, "
              f"{t_python / t_engine:6.1f}x ({len(engine_decisions)} starts, identical)")  # fmt: skip
    table = [
        "| queued jobs | nodes | running | starts | engine (ms) | Python heapq (ms) | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['queued_jobs']:,} | {r['nodes']:,} | {r['running_jobs']:,} | {r['starts']:,} | "
            f"{r['engine_ms']:.2f} | {r['python_ms']:.1f} | {r['ratio']:.0f}x |"
            for r in rows
        ),
    ]
    print("\n".join(table))
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": __import__("os").cpu_count(),
    }
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": rows}, indent=2))
    if args.markdown:
        args.markdown.write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
