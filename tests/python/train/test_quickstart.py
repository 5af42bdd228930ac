from __future__ import annotations

import json

from typer.testing import CliRunner

from reactor.cli import app
from reactor.quickstart.corpus import generate_corpus
from reactor.quickstart.curate import curate, normalise, quality_problems
from reactor.train.checkpoint import verify_checkpoint

runner = CliRunner()


def test_quickstart_writes_metrics_report_checkpoint_and_model(tmp_path):
    out = tmp_path / "qs"
    result = runner.invoke(app, ["quickstart", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["heldout_before"]["eval/rewards/accuracies"] == 0.0
    assert summary["heldout_after"]["eval/rewards/accuracies"] >= 0.9
    assert summary["heldout_after"]["eval/loss"] < summary["heldout_before"]["eval/loss"]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["split"] == "train"] == list(range(1, 61))
    report = (out / "report.md").read_text()
    assert "![loss and held-out accuracy](training.png)" in report
    assert (out / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    verify_checkpoint(out / summary["checkpoint"])
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(out / "model"), local_files_only=True)
    assert sum(p.numel() for p in model.parameters()) == summary["parameters"]
    heldout = {json.loads(x)["prompt"] for x in (out / "data" / "heldout.jsonl").read_text().splitlines()}
    train = {json.loads(x)["prompt"] for x in (out / "data" / "train.jsonl").read_text().splitlines()}
    assert heldout and train and not heldout & train


def test_quickstart_config_file_changes_settings(tmp_path):
    (tmp_path / "qs.toml").write_text(
        "[quickstart]\nnum_prompts = 60\n"
        "[train]\nmax_steps = 4\nwarmup_steps = 1\neval_every = 2\n"
        '[dpo]\nloss_type = "ipo"\nbeta = 0.5\n'
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["quickstart", "--config", str(tmp_path / "qs.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["steps"], summary["loss_type"], summary["beta"]) == (4, "ipo", 0.5)
    assert summary["heldout_before"]["eval/loss"] == 1.0  # IPO at initialisation: 1 / (4 beta^2)


def test_curation_removes_junk_and_duplicates_but_keeps_distinct_replies():
    corpus = generate_corpus(200, seed=3)
    kept, report = curate(corpus)
    assert report.input_records == len(corpus)
    assert not [r for r in kept if r["kind"] == "junk"]
    assert report.quality_removed == sum(r["kind"] == "junk" for r in corpus)
    keys = [(normalise(r["prompt"]), normalise(r["response"])) for r in kept]
    assert len(keys) == len(set(keys))  # no exact duplicates left
    # every prompt still has its helpful and its unhelpful reply
    assert {(r["prompt"], r["kind"]) for r in kept} == {
        (r["prompt"], r["kind"]) for r in corpus if r["kind"] != "junk"
    }
    assert report.exact_duplicates > 0 and report.near_duplicates > 0
    assert report.kept == len(kept) == 400
    assert quality_problems("#### $$$$ %%%% ####") and not quality_problems("7 plus 5 is 12.")
