from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file
from trainer_helpers import HELDOUT_TOPICS, TRAIN_TOPICS, polite_pairs

MODEL = "[model]\nhidden_size = 32\nnum_layers = 2\nnum_heads = 2\nintermediate_size = 64\n"


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _reactor(*args, env_extra=None, **kwargs):
    env = {**os.environ, "REACTOR_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "reactor", *args], env=env, capture_output=True, text=True, **kwargs
    )


def _train_losses(directory):
    lines = [json.loads(x) for x in (directory / "metrics.jsonl").read_text().splitlines()]
    return [x["loss"] for x in lines if x["split"] == "train"]


@pytest.fixture
def sft_config(tmp_path):
    data = [{"prompt": p["prompt"], "completion": p["chosen"]} for p in polite_pairs(TRAIN_TOPICS, 64, 0)]
    _write_jsonl(tmp_path / "sft.jsonl", data)
    (tmp_path / "sft.toml").write_text(
        MODEL
        + '[data]\ntrain = "sft.jsonl"\n[train]\nmax_steps = 40\nbatch_size = 8\nlearning_rate = 0.005\n'
        "checkpoint_every = 1\nprogress = false\n"
    )
    return tmp_path / "sft.toml"


def test_sft_killed_at_a_random_moment_resumes_to_the_same_weights(tmp_path, sft_config):
    """kill -9 mid-run (possibly mid-checkpoint), then --resume: the same final weights, bit for bit."""
    straight = _reactor(
        "train", "sft", "-c", str(sft_config), "--set", f"train.output_dir='{tmp_path / 'a'}'"
    )
    assert straight.returncode == 0, straight.stderr
    out = tmp_path / "b"
    env = {**os.environ, "REACTOR_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    victim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reactor",
            "train",
            "sft",
            "-c",
            str(sft_config),
            "--set",
            f"train.output_dir='{out}'",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while (
        not (out / "checkpoints" / "latest").exists()
        and time.monotonic() < deadline
        and victim.poll() is None
    ):
        time.sleep(0.05)
    time.sleep(random.Random(os.getpid()).uniform(0.0, 0.5))
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    resumed = _reactor(
        "train", "sft", "-c", str(sft_config), "--set", f"train.output_dir='{out}'", "--resume"
    )
    assert resumed.returncode == 0, resumed.stderr
    a, b = (
        load_file(tmp_path / "a" / "model" / "model.safetensors"),
        load_file(out / "model" / "model.safetensors"),
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert _train_losses(out) == _train_losses(tmp_path / "a")


def test_dpo_under_torchrun_matches_one_process_with_the_whole_batch(tmp_path):
    """2 CPU processes (DDP, gloo) with 4 pairs each follow the loss curve of 1 process with 8."""
    _write_jsonl(tmp_path / "pairs.jsonl", polite_pairs(TRAIN_TOPICS, 64, 0))
    _write_jsonl(tmp_path / "held.jsonl", polite_pairs(HELDOUT_TOPICS, 16, 1))
    (tmp_path / "dpo.toml").write_text(
        MODEL + '[data]\ntrain = "pairs.jsonl"\neval = "held.jsonl"\n[train]\nmax_steps = 6\nbatch_size = 8\n'
        "learning_rate = 0.005\neval_every = 3\nprogress = false\n"
    )
    one = _reactor(
        "train", "dpo", "-c", str(tmp_path / "dpo.toml"), "--set", f"train.output_dir='{tmp_path / 'one'}'"
    )
    assert one.returncode == 0, one.stderr
    env = {**os.environ, "OMP_NUM_THREADS": "1", "REACTOR_NUM_THREADS": "1"}
    two = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "reactor",
            "train",
            "dpo",
            "-c",
            str(tmp_path / "dpo.toml"),
            "--set",
            f"train.output_dir='{tmp_path / 'two'}'",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    single, double = _train_losses(tmp_path / "one"), _train_losses(tmp_path / "two")
    assert len(single) == len(double) == 6
    assert double == pytest.approx(single, rel=1e-5, abs=1e-6)
    assert single[-1] < single[0]
    held = [
        json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines() if '"eval"' in x
    ]
    assert [x["step"] for x in held] == [3, 6]


def test_train_cli_reports_bad_config_and_missing_data(tmp_path):
    result = _reactor("train", "dpo", "--set", "train.max_steps=5")
    assert result.returncode != 0 and "data.train" in result.stderr
    result = _reactor("train", "sft", "--set", "train.learning_rate=-1")
    assert result.returncode != 0 and "train.learning_rate" in result.stderr
