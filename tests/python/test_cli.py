from __future__ import annotations

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

import reactor
from reactor.cli import app

runner = CliRunner()


def test_help_lists_commands_and_groups():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("info", "quickstart", "bench", "train"):
        assert name in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"reactor {reactor.__version__}"


def test_info_json_has_build_and_environment():
    result = runner.invoke(app, ["info", "--json"])
    assert result.exit_code == 0, result.output
    details = json.loads(result.output)
    for key in (
        "engine.version",
        "engine.compiler",
        "engine.simd",
        "engine.cuda_available",
        "engine.num_threads",
        "python",
        "numpy",
        "torch",
        "reactor_home",
    ):
        assert key in details
    assert details["reactor_home"] == os.environ["REACTOR_HOME"]


def test_info_table():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0
    assert "engine.cxx_standard" in result.output


def test_quickstart_rejects_bad_settings(tmp_path):
    result = runner.invoke(app, ["quickstart", "--out", str(tmp_path), "--set", "train.max_steps=0"])
    assert result.exit_code != 0
    assert "train.max_steps" in str(result.exception)


def test_bench_core_writes_json_markdown_and_plot(tmp_path):
    out = tmp_path / "bench"
    result = runner.invoke(
        app,
        [
            "bench",
            "core",
            "--quick",
            "--json",
            str(out / "core.json"),
            "--markdown",
            str(out / "core.md"),
            "--plot",
            str(out / "core.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "core.json").read_text())
    cases = {m["case"] for m in data["measurements"]}
    assert {"empty call", "pass a 1 MB numpy array", "sum 1 MB float32"} <= cases
    assert all(m["median_ns"] > 0 for m in data["measurements"])
    assert "| case | implementation |" in (out / "core.md").read_text()
    assert (out / "core.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "reactor", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert reactor.__version__ in result.stdout


def test_bench_kernels_writes_one_record_per_kernel_size_backend(tmp_path):
    out = tmp_path / "kernels.json"
    result = runner.invoke(
        app,
        [
            "bench",
            "kernels",
            "--device",
            "cpu",
            "--sizes",
            "small",
            "--quick",
            "--json",
            str(out),
            "--markdown",
            str(tmp_path / "k.md"),
            "--plot",
            str(tmp_path / "k.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    assert isinstance(records, list)
    keys = {(r["kernel"], r["size"], r["backend"]) for r in records}
    assert len(keys) == len(records)
    for record in records:
        assert {"kernel", "size", "backend", "seconds", "gbps"} <= record.keys()
        assert record["seconds"] > 0 and record["gbps"] > 0
    kernels = {r["kernel"] for r in records}
    assert {
        "reduce_sum",
        "weighted_sum",
        "sequence_logprobs_fwd_bwd",
        "dpo_loss",
        "gae",
        "minhash",
    } <= kernels
    assert {"reactor-cpu", "numpy-cpu", "torch-cpu"} <= {r["backend"] for r in records}
    assert (tmp_path / "k.png").read_bytes()[:4] == b"\x89PNG"


def test_bench_kernels_cuda_without_gpu_is_a_clear_error():
    from reactor import engine

    if engine.cuda_available():
        return
    result = runner.invoke(app, ["bench", "kernels", "--device", "cuda", "--quick"])
    assert result.exit_code != 0
    assert "needs a CUDA build of the engine and a GPU" in str(result.exception)
