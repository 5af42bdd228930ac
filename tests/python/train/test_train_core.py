from __future__ import annotations

import json
import math
import os
import shutil

import pytest
import torch
from torch import nn
from trainer_helpers import HELDOUT_TOPICS, TRAIN_TOPICS, polite_pairs, tiny_config

from reactor.errors import ConfigError, CorruptDataError, InvalidArgumentError
from reactor.train import (
    ByteTokenizer,
    Callback,
    DPOConfig,
    DPOTrainer,
    SFTConfig,
    SFTTrainer,
    build_model,
    build_tokenizer,
    load_run_config,
)
from reactor.train.checkpoint import find_resumable, load_checkpoint
from reactor.train.config import parse_overrides
from reactor.train.schedule import lr_multiplier


def _sft_examples(count=24, seed=0):
    return [
        {"prompt": p["prompt"], "completion": p["chosen"]} for p in polite_pairs(TRAIN_TOPICS, count, seed)
    ]


def _sft(tmp_path, model=None, callbacks=(), **train):
    config = tiny_config(SFTConfig, tmp_path, **train)
    tok = build_tokenizer(config.model)
    model = model if model is not None else build_model(config.model, tok, seed=0)
    held = [{"prompt": p["prompt"], "completion": p["chosen"]} for p in polite_pairs(HELDOUT_TOPICS, 8, 5)]
    return SFTTrainer(model, tok, _sft_examples(), eval_examples=held, config=config, callbacks=callbacks)


def _weights(trainer):
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def _assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


class _StopAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer, metrics):
        if trainer.state.step == self.step:
            raise KeyboardInterrupt


def test_sft_loss_is_mean_token_nll(tmp_path):
    trainer = _sft(tmp_path)
    batch = trainer.collate(torch.arange(6).numpy(), "train")
    logits = trainer.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits.detach()
    nll = torch.nn.functional.cross_entropy(logits[batch.loss_mask].double(), batch.targets[batch.loss_mask])
    loss_sum, _ = trainer.compute_loss(trainer.model, batch)
    assert float(loss_sum.detach()) / trainer.batch_weight(batch) == pytest.approx(float(nll), rel=1e-5)


def test_interrupted_run_resumes_bit_for_bit(tmp_path):
    reference = _sft(tmp_path / "straight", max_steps=6, checkpoint_every=2, eval_every=3)
    reference.train()
    interrupted = _sft(
        tmp_path / "resumed", max_steps=6, checkpoint_every=2, eval_every=3, callbacks=[_StopAt(3)]
    )
    with pytest.raises(KeyboardInterrupt):
        interrupted.train()
    resumed = _sft(tmp_path / "resumed", max_steps=6, checkpoint_every=2, eval_every=3)
    result = resumed.train(resume=True)
    assert result.state.step == 6
    _assert_bitwise_equal(_weights(resumed), _weights(reference))
    # metrics.jsonl reads as one run: each step once, no line from the lost step 3 twice
    lines = [json.loads(x) for x in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if x["split"] == "train"] == [1, 2, 3, 4, 5, 6]
    straight = [json.loads(x) for x in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert [x["loss"] for x in lines if x["split"] == "train"] == [
        x["loss"] for x in straight if x["split"] == "train"
    ]


def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    trainer = _sft(tmp_path, max_steps=4, checkpoint_every=2, keep_checkpoints=3)
    trainer.train()
    root = tmp_path / "checkpoints"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["step-00000002", "step-00000004"]
    model_file = root / "step-00000004" / "model.pt"
    model_file.write_bytes(model_file.read_bytes()[:-10])  # torn write
    with pytest.warns(RuntimeWarning, match="corrupt"):
        assert find_resumable(root).name == "step-00000002"
    with pytest.raises(CorruptDataError, match="checksum"):
        load_checkpoint(root / "step-00000004", ["model"])
    shutil.rmtree(root / "step-00000002")
    (root / "step-00000004" / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptDataError, match="manifest"):
        load_checkpoint(root / "step-00000004", ["model"])


def test_micro_batches_give_the_full_batch_gradient(tmp_path):
    whole = _sft(tmp_path / "whole", max_steps=3)
    whole.train()
    micro = _sft(tmp_path / "micro", max_steps=3, micro_batch_size=1)
    micro.train()
    # summation order differs, and Adam's first steps amplify rounding: close, not bitwise
    for key, value in _weights(whole).items():
        torch.testing.assert_close(_weights(micro)[key], value, rtol=1e-4, atol=1e-5)


class _OutOfMemoryAbove(nn.Module):
    """Wraps a model; raises torch's out-of-memory error when a forward pass has more than `limit` rows."""

    def __init__(self, inner, limit):
        super().__init__()
        self.inner = inner
        self.limit = limit

    def forward(self, input_ids):
        if input_ids.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CPU out of memory (simulated)")
        return self.inner(input_ids=input_ids).logits


def test_out_of_memory_halves_the_micro_batch_and_keeps_the_effective_batch(tmp_path):
    tok = ByteTokenizer()
    config = tiny_config(SFTConfig, tmp_path)
    limited = _sft(
        tmp_path / "a", model=_OutOfMemoryAbove(build_model(config.model, tok, seed=0), 1), max_steps=3
    )
    with pytest.warns(RuntimeWarning, match="out of memory"):
        limited.train()
    assert limited.state.micro_batch_size == 1
    explicit = _sft(
        tmp_path / "b",
        model=_OutOfMemoryAbove(build_model(config.model, tok, seed=0), 1),
        max_steps=3,
        micro_batch_size=1,
    )
    explicit.train()
    _assert_bitwise_equal(_weights(limited), _weights(explicit))
    strict = _sft(
        tmp_path / "c",
        model=_OutOfMemoryAbove(build_model(config.model, tok, seed=0), 1),
        max_steps=1,
        auto_micro_batch=False,
    )
    with pytest.raises(torch.OutOfMemoryError):
        strict.train()


def test_plain_torch_module_trains(tmp_path):
    class TinyLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(ByteTokenizer().vocab_size, 16)
            self.head = nn.Linear(16, ByteTokenizer().vocab_size)

        def forward(self, input_ids):
            return self.head(self.embed(input_ids))

    torch.manual_seed(0)
    trainer = _sft(tmp_path, model=TinyLM(), max_steps=12, learning_rate=5e-2)
    first = trainer.evaluate()["eval/loss"]
    result = trainer.train()
    assert result.metrics["eval/loss"] < first
    bad = _sft(tmp_path / "bad", model=nn.Linear(4, 4), max_steps=1)
    with pytest.raises((InvalidArgumentError, RuntimeError)):
        bad.train()


def test_gradient_checkpointing_changes_memory_not_results(tmp_path):
    plain = _sft(tmp_path / "plain", max_steps=2)
    plain.train()
    recomputed = _sft(tmp_path / "ckpt", max_steps=2, gradient_checkpointing=True)
    recomputed.train()
    for key, value in _weights(plain).items():
        torch.testing.assert_close(_weights(recomputed)[key], value, rtol=1e-5, atol=1e-6)
    config = tiny_config(SFTConfig, tmp_path)
    with pytest.raises(InvalidArgumentError, match="checkpointing"):
        SFTTrainer(
            nn.Embedding(300, 300),
            ByteTokenizer(),
            _sft_examples(),
            config=config.model_copy(
                update={"train": config.train.model_copy(update={"gradient_checkpointing": True})}
            ),
        )


@pytest.mark.parametrize("kind", ["constant", "linear", "cosine"])
def test_learning_rate_schedules(kind):
    factor = lr_multiplier(kind, warmup_steps=4, max_steps=20)
    assert [factor(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    expected_mid = {"constant": 1.0, "linear": 0.5, "cosine": 0.5}[kind]
    assert factor(12) == pytest.approx(expected_mid)
    assert factor(20) == pytest.approx(1.0 if kind == "constant" else 0.0, abs=1e-12)
    assert factor(8) == pytest.approx(
        {"constant": 1.0, "linear": 0.75, "cosine": 0.5 * (1 + math.cos(math.pi / 4))}[kind]
    )


def test_early_stopping_after_patience(tmp_path):
    # loss falls, so "greater is better" never improves after the first evaluation
    trainer = _sft(tmp_path, max_steps=20, eval_every=2, early_stopping_patience=2, greater_is_better=True)
    result = trainer.train()
    assert result.state.stopped_early and result.state.step == 6
    bad = _sft(
        tmp_path / "bad", max_steps=2, eval_every=1, metric_for_best="eval/nope", early_stopping_patience=2
    )
    with pytest.raises(InvalidArgumentError, match="metric_for_best"):
        bad.train()


def test_metrics_jsonl_and_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    trainer = _sft(tmp_path, max_steps=3, eval_every=3, tensorboard=True)
    trainer.train()
    records = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r["split"] == "train"]
    assert [r["step"] for r in train] == [1, 2, 3]
    assert {"loss", "token_accuracy", "grad_norm", "learning_rate"} <= train[0].keys()
    assert [r["step"] for r in records if r["split"] == "eval"] == [3]
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_config_files_and_overrides(tmp_path):
    (tmp_path / "pairs.jsonl").write_text("")
    (tmp_path / "run.toml").write_text(
        '[data]\ntrain = "pairs.jsonl"\n[train]\nmax_steps = 7\n[dpo]\nbeta = 0.3\n'
    )
    config = load_run_config(
        DPOConfig, tmp_path / "run.toml", parse_overrides(["train.batch_size=8", "dpo.loss_type=ipo"])
    )
    assert config.data.train == tmp_path / "pairs.jsonl"  # relative to the config file
    assert (config.train.max_steps, config.train.batch_size, config.dpo.beta, config.dpo.loss_type) == (
        7,
        8,
        0.3,
        "ipo",
    )
    with pytest.raises(ConfigError, match=r"dpo\.beta"):
        load_run_config(DPOConfig, None, parse_overrides(["dpo.beta=-1"]))
    with pytest.raises(ConfigError, match=r"train: .*warmup_steps"):
        load_run_config(DPOConfig, None, {"train": {"warmup_steps": 10, "max_steps": 5}})
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        parse_overrides(["nonsense"])
    with pytest.raises(ConfigError, match=r"model.*divisible"):
        load_run_config(DPOConfig, None, {"model": {"hidden_size": 30, "num_heads": 4}})


def test_batch_must_split_evenly_and_data_must_exist(tmp_path):
    config = tiny_config(DPOConfig, tmp_path)
    tok = build_tokenizer(config.model)
    with pytest.raises(InvalidArgumentError, match="empty"):
        DPOTrainer(build_model(config.model, tok, seed=0), tok, [], config=config)
    from reactor.train.data import read_jsonl

    (tmp_path / "bad.jsonl").write_text('{"prompt": "x", "chosen": "y", "rejected": "z"}\n{oops\n')
    with pytest.raises(InvalidArgumentError, match=r"bad.jsonl:2"):
        read_jsonl(tmp_path / "bad.jsonl", ["prompt"])
    assert not os.path.exists(tmp_path / "missing.jsonl")
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        read_jsonl(tmp_path / "missing.jsonl")
