from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from trainer_helpers import HELDOUT_TOPICS, TRAIN_TOPICS, polite_pairs

from reactor.train import build_tokenizer
from reactor.train.config import RewardModelConfig
from reactor.train.reward_model import RewardTrainer, build_reward_model, score_texts


def _trainer(tmp_path, train=None, rm=None, pairs=None):
    config = RewardModelConfig.model_validate(
        {
            "model": {"hidden_size": 64, "num_layers": 2, "num_heads": 4, "intermediate_size": 128},
            "train": {
                "max_steps": 40,
                "batch_size": 16,
                "learning_rate": 2e-3,
                "progress": False,
                "output_dir": str(tmp_path),
                "eval_every": 20,
                **(train or {}),
            },
            "rm": rm or {},
        }
    )
    tok = build_tokenizer(config.model)
    model = build_reward_model(config.model, tok, seed=0)
    return RewardTrainer(
        model,
        tok,
        pairs or polite_pairs(TRAIN_TOPICS, 256, 1),
        eval_pairs=polite_pairs(HELDOUT_TOPICS, 64, 2),
        config=config,
    )


def test_reward_model_learns_a_clear_rule(tmp_path):
    """The issue's check: at least 0.9 held-out accuracy on a synthetic preference set."""
    trainer = _trainer(tmp_path)
    before = trainer.evaluate()
    result = trainer.train()
    assert result.metrics["eval/accuracy"] >= 0.9 > before["eval/accuracy"] - 0.5
    assert result.metrics["eval/margin"] > 0


def test_bradley_terry_loss_with_margin_and_centering(tmp_path):
    pairs = [{**p, "margin": 0.5} for p in polite_pairs(TRAIN_TOPICS, 8, 3)]
    trainer = _trainer(tmp_path, rm={"center_rewards_coefficient": 0.01}, pairs=pairs)
    batch = trainer.collate(torch.arange(4).numpy(), "train")
    loss, metrics = trainer.compute_loss(trainer.model, batch)
    rows = batch[0].sequences
    with torch.no_grad():
        scores = trainer.model(input_ids=rows.input_ids, attention_mask=rows.attention_mask).logits.squeeze(
            -1
        )
    chosen, rejected = scores[:4], scores[4:]
    expected = (-F.logsigmoid(chosen - rejected - 0.5) + 0.01 * (chosen + rejected) ** 2).sum()
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-5)
    assert float(metrics["accuracy"]) == float((chosen > rejected).sum())
    # the score of a text does not depend on the padding around it
    tok = build_tokenizer(RewardModelConfig().model)
    alone = score_texts(trainer.model, tok, ["Hi"], ["there"], torch.device("cpu"))
    padded = score_texts(
        trainer.model, tok, ["Hi", "a much longer prompt here"], ["there", "x"], torch.device("cpu")
    )
    torch.testing.assert_close(alone[0], padded[0], rtol=1e-4, atol=1e-5)


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_cli_reward_model_then_ppo_and_grpo_scored_by_it(tmp_path):
    _write_jsonl(tmp_path / "pairs.jsonl", polite_pairs(TRAIN_TOPICS, 32, 0))
    _write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": f"Can I have item {i}? "} for i in range(16)])
    model = "[model]\nhidden_size = 32\nnum_layers = 1\nnum_heads = 2\nintermediate_size = 64\n"
    (tmp_path / "rm.toml").write_text(
        model + '[data]\ntrain = "pairs.jsonl"\n[train]\nmax_steps = 3\nbatch_size = 8\nprogress = false\n'
        f"output_dir = '{tmp_path / 'rm'}'\n"
    )
    env = {**os.environ, "REACTOR_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "reactor", "train", "rm", "-c", str(tmp_path / "rm.toml")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rm" / "model" / "model.safetensors").exists()
    online = (
        model + '[data]\ntrain = "prompts.jsonl"\n[train]\nmax_steps = 2\nbatch_size = 4\nprogress = false\n'
        "[rollout]\nmax_new_tokens = 4\nreward = 'model'\n"
        + f"reward_model = '{tmp_path / 'rm' / 'model'}'\n"
    )
    for kind, extra in (
        ("ppo", ""),
        ("grpo", "[grpo]\nnum_generations = 2\n"),
        ("rloo", "[grpo]\nnum_generations = 2\nbeta = 0.1\n"),
    ):
        (tmp_path / f"{kind}.toml").write_text(online + extra)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "reactor",
                "train",
                kind,
                "-c",
                str(tmp_path / f"{kind}.toml"),
                "--set",
                f"train.output_dir='{tmp_path / kind}'",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        lines = (tmp_path / kind / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(x)["step"] for x in lines] == [1, 2]
        assert (tmp_path / kind / "model" / "model.safetensors").exists()
