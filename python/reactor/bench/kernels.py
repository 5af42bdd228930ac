"""``reactor bench kernels``: every kernel against numpy and torch on the same inputs, as time,
achieved GB/s and the fraction of the machine's bandwidth measured by a STREAM-triad probe.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reactor import engine
from reactor.atomic import atomic_write_text
from reactor.bench.harness import _environment, _format_ns, _pyplot, _save_figure, measure
from reactor.bench.kernel_cases import SIZES, build_cases
from reactor.errors import UnavailableError

__all__ = ["KernelReport", "run_kernel_bench", "stream_bandwidth"]


def stream_bandwidth(n: int = 1 << 23, repeats: int = 7) -> float:
    """Best-of-``repeats`` STREAM triad bandwidth in GB/s (24 bytes per element: 2 reads, 1 write)."""
    a, b, c = np.empty(n), np.ones(n), np.full(n, 2.0)
    engine.stream_triad(a, b, c, 3.0)  # first touch of a
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        engine.stream_triad(a, b, c, 3.0)
        best = min(best, time.perf_counter() - start)
    return 24.0 * n / best / 1e9


@dataclass
class KernelReport:
    """One record per (kernel, size, backend), plus the bandwidth they are measured against."""

    device: str
    stream_gbps: float
    records: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=_environment)

    def to_markdown(self) -> str:
        """Markdown table: time, GB/s, fraction of STREAM bandwidth and speed-up over the fastest peer."""
        lines = [
            f"## Kernels on {self.device} (STREAM triad: {self.stream_gbps:.1f} GB/s)",
            "",
            "| kernel | shape | backend | time | GB/s | % of bandwidth | reactor speed-up |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for r in self.records:
            speedup = f"{r['reactor_speedup']:.2f}x" if r["backend"].startswith("reactor") else ""
            lines.append(
                f"| {r['kernel']} | {r['shape']} | {r['backend']} | {_format_ns(r['seconds'] * 1e9)} | "
                f"{r['gbps']:.2f} | {100 * r['fraction_of_bandwidth']:.0f}% | {speedup} |"
            )
        return "\n".join(lines) + "\n"

    def write(self, *, json_path: Path | None, markdown_path: Path | None, plot_path: Path | None) -> None:
        """JSON (a list of records), markdown and a roofline PNG, each written atomically."""
        if json_path is not None:
            atomic_write_text(json_path, json.dumps(self.records, indent=2))
        if markdown_path is not None:
            atomic_write_text(markdown_path, self.to_markdown())
        if plot_path is not None:
            self.plot(plot_path)

    def plot(self, path: Path) -> None:
        """Roofline: achieved GFLOP/s against arithmetic intensity, under the measured memory roof."""
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(9, 6))
        intensities = [r["flops"] / r["bytes"] for r in self.records]
        x_roof = np.logspace(np.log10(min(intensities) / 2), np.log10(max(intensities) * 2), 50)
        ax.plot(x_roof, self.stream_gbps * x_roof, "k--", label=f"memory roof ({self.stream_gbps:.1f} GB/s)")
        colours = {"reactor": "tab:orange", "numpy": "tab:blue", "torch": "tab:green"}
        for r, ai in zip(self.records, intensities, strict=True):
            family = r["backend"].split("-")[0]
            ax.scatter(ai, r["gflops"], color=colours.get(family, "gray"), s=30)
            if family == "reactor":
                ax.annotate(
                    r["kernel"], (ai, r["gflops"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
                )
        for family, colour in colours.items():
            ax.scatter([], [], color=colour, label=family)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("arithmetic intensity (flop/byte)")
        ax.set_ylabel("achieved GFLOP/s")
        ax.set_title(f"reactor bench kernels ({self.device})")
        ax.legend(fontsize=8)
        fig.tight_layout()
        _save_figure(fig, path)


_PEAK_PROBE = """
import resource, sys, torch
from reactor import kernels
b, t, v = {shape}
logits = torch.randn(b, t, v)
targets = torch.randint(0, v, (b, t))
mask = torch.ones(b, t, dtype=torch.bool)
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize()
def peak():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM'):
            return int(line.split()[1]) * 1024
base = rss()
leaf = logits.requires_grad_(True)
if sys.argv[1] == 'reactor':
    kernels.sequence_logprobs(leaf, targets, mask).sum().backward()
else:
    (torch.log_softmax(leaf, -1).gather(-1, targets[..., None]).squeeze(-1) * mask).sum().backward()
print(max(peak() - base, 0))
"""


def _logprob_peak_memory(shape: tuple[int, int, int], backend: str) -> int:
    """Extra peak resident memory of one forward+backward, measured in a fresh process."""
    code = _PEAK_PROBE.format(shape=shape)
    result = subprocess.run(
        [sys.executable, "-c", code, backend], capture_output=True, text=True, timeout=600, check=True
    )
    return int(result.stdout.strip())


def run_kernel_bench(
    presets: list[str], *, device: str = "cpu", quick: bool = False, measure_memory: bool = True
) -> KernelReport:
    """Measure every kernel at each preset size on ``device`` ("cpu" or "cuda")."""
    unknown = [p for p in presets if p not in SIZES]
    if unknown:
        raise ValueError(f"unknown size preset(s) {unknown}; choose from {sorted(SIZES)}")
    if device == "cuda":
        return _run_cuda(presets, quick=quick)
    if device != "cpu":
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    report = KernelReport(device="cpu", stream_gbps=stream_bandwidth(repeats=3 if quick else 7))
    repeats, round_s = (2, 0.01) if quick else (5, 0.1)
    for preset in presets:
        for case in build_cases(preset):
            timings = {
                name: measure(fn, repeats=repeats, min_round_s=round_s)[0] / 1e9
                for name, fn in case.impls.items()
            }
            fastest_peer = min((s for name, s in timings.items() if name != "reactor"), default=float("nan"))
            for name, seconds in timings.items():
                record = {
                    "kernel": case.kernel,
                    "size": case.size,
                    "shape": case.shape,
                    "backend": f"{name}-cpu",
                    "device": "cpu",
                    "seconds": seconds,
                    "gbps": case.bytes_moved / seconds / 1e9,
                    "gflops": case.flops / seconds / 1e9,
                    "bytes": case.bytes_moved,
                    "flops": case.flops,
                    "fraction_of_bandwidth": case.bytes_moved / seconds / 1e9 / report.stream_gbps,
                    "reactor_speedup": fastest_peer / timings["reactor"] if name == "reactor" else None,
                }
                if case.kernel == "sequence_logprobs_fwd_bwd" and measure_memory and not quick:
                    dims = tuple(int(x) for x in case.shape.strip("[]").split(","))
                    record["peak_extra_bytes"] = _logprob_peak_memory(dims, name)
                report.records.append(record)
    return report


def _cuda_cases(torch: Any, preset: str) -> list[tuple[str, int, str, float, dict[str, Any]]]:
    """(kernel, size, shape, bytes, {backend: fn}) on the GPU; every fn synchronises the device."""
    from reactor import kernels

    sizes = SIZES[preset]
    stream = torch.cuda.current_stream()
    sync = torch.cuda.synchronize
    n = sizes["n"]
    x = torch.rand(n, device="cuda")
    k, d = sizes["kd"]
    updates = torch.randn(k, d, device="cuda")
    weights = torch.rand(k, device="cuda", dtype=torch.float64)
    out = torch.empty(d, device="cuda")
    b, t, v = sizes["btv"]
    logits = torch.randn(b, t, v, device="cuda")
    targets = torch.randint(0, v, (b, t), device="cuda")
    mask = torch.ones(b, t, dtype=torch.bool, device="cuda")

    def logprobs(fused: bool) -> None:
        leaf = logits.requires_grad_(True)
        if fused:
            kernels.sequence_logprobs(leaf, targets, mask).sum().backward()
        else:
            (torch.log_softmax(leaf, -1).gather(-1, targets[..., None]).squeeze(-1) * mask).sum().backward()
        leaf.grad = None
        sync()

    def run(fn: Any) -> Any:
        def call() -> None:
            fn()
            sync()

        return call

    return [
        (
            "reduce_sum",
            n,
            f"[{n}]",
            4.0 * n,
            {
                "reactor": lambda: engine.reduce_sum(x, stream=stream),
                "torch": lambda: torch.sum(x, dtype=torch.float64).item(),
            },
        ),
        (
            "fill_normal",
            n,
            f"[{n}]",
            4.0 * n,
            {
                "reactor": run(lambda: engine.fill_normal(x, seed=1, cuda_stream=stream)),
                "torch": run(x.normal_),
            },
        ),
        (
            "weighted_sum",
            k * d,
            f"[{k}, {d}]",
            4.0 * k * d,
            {
                "reactor": run(lambda: engine.weighted_sum_into(updates, weights, out, stream=stream)),
                "torch": run(lambda: torch.mv(updates.T, weights.float())),
            },
        ),
        (
            "sequence_logprobs_fwd_bwd",
            b * t * v,
            f"[{b}, {t}, {v}]",
            12.0 * b * t * v,
            {
                "reactor": lambda: logprobs(True),
                "torch": lambda: logprobs(False),
            },
        ),
    ]


def _run_cuda(presets: list[str], *, quick: bool) -> KernelReport:
    import torch

    if not (engine.cuda_available() and torch.cuda.is_available()):
        raise UnavailableError("[bench.kernels] --device cuda needs a CUDA build of the engine and a GPU")
    n = 1 << 26
    b, c = torch.ones(n, device="cuda"), torch.full((n,), 2.0, device="cuda")
    a = torch.empty(n, device="cuda")
    torch.add(b, c, alpha=3.0, out=a)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        torch.add(b, c, alpha=3.0, out=a)
    torch.cuda.synchronize()
    bandwidth = 12.0 * n * 10 / (time.perf_counter() - start) / 1e9  # float32 triad: 12 bytes per element
    report = KernelReport(device=torch.cuda.get_device_name(), stream_gbps=bandwidth)
    repeats, round_s = (2, 0.01) if quick else (5, 0.1)
    for preset in presets:
        for kernel, size, shape, bytes_moved, impls in _cuda_cases(torch, preset):
            timings = {
                name: measure(fn, repeats=repeats, min_round_s=round_s)[0] / 1e9 for name, fn in impls.items()
            }
            for name, seconds in timings.items():
                report.records.append(
                    {
                        "kernel": kernel,
                        "size": size,
                        "shape": shape,
                        "backend": f"{name}-cuda",
                        "device": report.device,
                        "seconds": seconds,
                        "gbps": bytes_moved / seconds / 1e9,
                        "gflops": size / seconds / 1e9,
                        "bytes": bytes_moved,
                        "flops": float(size),
                        "fraction_of_bandwidth": bytes_moved / seconds / 1e9 / report.stream_gbps,
                        "reactor_speedup": timings["torch"] / timings["reactor"]
                        if name == "reactor"
                        else None,
                    }
                )
    return report
