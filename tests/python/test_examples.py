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
