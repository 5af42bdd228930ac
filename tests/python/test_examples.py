from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"


def test_engine_tour_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "engine_tour.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "same memory: True" in result.stdout
    assert "rejected: [kernels.reduce_sum] x: expected a C-contiguous array" in result.stdout


def test_curate_corpus_finds_what_was_planted(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "curate_corpus.py"), str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:6]]
        for line in result.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| stage")
    }
    assert rows["quality"][1] == "30"  # the 30 boilerplate pages, by the duplicate-line rule
    assert rows["exact_dedup"][1] == "149"  # 150 planted copies, one of which was edited later
    assert 140 <= int(rows["near_dedup"][1]) <= 151  # 150 planted near copies + the edited exact copy
    assert rows["substring_dedup"][2] == "60"  # 60 copied paragraphs cut from the later page
    assert rows["decontaminate"][1] == "1"  # the leaked evaluation question
