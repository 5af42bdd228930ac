from __future__ import annotations

import pytest
from data_corpus import near_corpus, read_jsonl, write_jsonl
from typer.testing import CliRunner

from reactor.cli import app
from reactor.data import PipelineConfig, run_pipeline

pytestmark = [pytest.mark.ray, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _input(tmp_path):
    texts, _ = near_corpus(originals=60, near=50, exact=20, seed=31)
    records = [{"id": f"r{i}", "text": t} for i, t in enumerate(texts)]
    records[5]["text"] = "  \uff26\uff55\uff4c\uff4c   width " + records[5]["text"]  # changed by normalise
    records[9]["text"] = "### $$$ %%% <<<"  # fails quality
    return write_jsonl(tmp_path / "in.jsonl", records)


def _run(tmp_path, path, engine, **values):
    out = tmp_path / engine
    config = PipelineConfig.model_validate(
        {
            "input": {"path": str(path)},
            "output": {"path": str(out / "o.jsonl"), "ledger": str(out / "l.jsonl")},
            "normalise": {"enabled": True},
            "quality": {
                "enabled": True,
                "preset": "none",
                "rules": {"word_count": {"min": 5}, "alpha_word_fraction": {"min": 0.8}},
            },
            "near": {"threshold": 0.7},
            "batch_size": 16,
            "engine": engine,
            "ray_window": 3,
            "progress": False,
            **values,
        }
    )
    report = run_pipeline(config)
    return (out / "o.jsonl").read_bytes(), read_jsonl(out / "l.jsonl"), report


@pytest.mark.parametrize("mode", ["streaming", "global"])
def test_ray_run_keeps_exactly_what_the_local_run_keeps(ray_cluster, tmp_path, mode):
    path = _input(tmp_path)
    local_out, local_ledger, local_report = _run(tmp_path, path, "local", mode=mode)
    ray_out, ray_ledger, ray_report = _run(tmp_path, path, "ray", mode=mode)
    assert ray_report.engine == "ray" and local_report.engine == "local"
    assert ray_out == local_out
    assert ray_ledger == local_ledger
    stages = {e["stage"] for e in local_ledger}
    assert {"normalise", "quality", "exact_dedup", "near_dedup"} <= stages
    assert ray_cluster.is_initialized()  # an existing cluster is used, not shut down


def test_cli_engine_ray(ray_cluster, tmp_path):
    path = _input(tmp_path)
    runner = CliRunner()
    for engine in ("local", "ray"):
        result = runner.invoke(
            app,
            ["data", "dedup", str(path), "-o", str(tmp_path / f"{engine}.jsonl"), "--engine", engine,
             "--ledger", str(tmp_path / f"{engine}-ledger.jsonl"), "--batch-size", "20"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert read_jsonl(tmp_path / "ray-ledger.jsonl") == read_jsonl(tmp_path / "local-ledger.jsonl")
