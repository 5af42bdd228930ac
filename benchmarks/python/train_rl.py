"""Online RL training steps on CPU: Reactor's ``PPOTrainer`` / ``GRPOTrainer`` against TRL's.

    .venv/bin/python benchmarks/python/train_rl.py                      # full run, markdown tables
    .venv/bin/python benchmarks/python/train_rl.py --quick              # smoke run (noisy figures)
    .venv/bin/python benchmarks/python/train_rl.py --algo grpo          # one algorithm only
    .venv/bin/python benchmarks/python/train_rl.py --json rl.json       # also write the results

TRL removed ``PPOTrainer`` in 1.13 (huggingface/trl#7020); its last home is ``trl.experimental.ppo``
in TRL 1.12.0. When the installed TRL has no PPO, the PPO peer is TRL 1.12.0 unpacked into its own
folder, which only the TRL PPO subprocess puts first on its path (nothing else sees it)::

    .venv/bin/python -m pip install --no-deps --target /tmp/trl-ppo trl==1.12.0
    .venv/bin/python benchmarks/python/train_rl.py --trl-ppo /tmp/trl-ppo

Without it, the PPO comparison is skipped (GRPO runs against the installed TRL).

Both sides get the same tiny Llama (built once by ``reactor.train.build_model`` and saved), the same
prompts (all of one token length: ``<bos>`` + ASCII bytes; for TRL a Hugging Face byte-level
tokenizer built in code with the ids of Reactor's ``ByteTokenizer``, checked id for id), the same
programmatic reward (the share of completion characters equal to ``a``, on text decoded the same
way), float32, the same sampling (softmax at the same temperature, no top-k/top-p, rows stop at
``<eos>``, the same completion-length limit), the same batch sizes, epochs, minibatches, loss
settings, AdamW hyper-parameters, a constant learning rate and no gradient clipping. The header of
each table lists the differences that the two APIs leave.

Each side runs in its own subprocess (``--side``), alternating over ``--repeats`` runs, so imports and
allocations of one never count against the other. One training step = one batch of prompts: sample
completions, score them, then the policy update(s). Reported per side:

- tokens/s: tokens processed per step = prompt tokens + generated tokens (up to and including
  ``<eos>``) of every sampled row, the same definition on both sides, over the steady-state steps
  (after ``--warmup`` steps), timed between consecutive step-end callbacks, so the whole step
  (sampling, scoring, rollout forwards, updates, logging) is inside; median over repeats; also per
  CPU-second of the process (with ``--threads 1``, the default, what the wall-clock rate would be on
  an idle core: the robust figure on a shared machine), and generated tokens/s;
- peak RSS: of the whole process, and its growth from just before the trainer is built (the kernel's
  high-water mark is reset there) to the end of training;
- the mean reward of the first and last steps (a sanity check that both learn; samples differ).

TRL is the peer here only: it is installed from PyPI next to Reactor, never a dependency.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from train_dpo import OFFLINE_ENV, end_memory_window, hf_byte_tokenizer, start_memory_window

ALGOS = ("grpo", "ppo")
SIDES = ("reactor", "trl")
REWARD_CHAR = "a"
TEXT = (
    "the policy samples a few completions for every prompt and the reward says which ones were good "
    "so the update moves probability toward them while the clipped ratio keeps each step small"
)


# ------------------------------------------------------------------------------ data, reward
def make_prompts(count: int, length: int, seed: int) -> list[str]:
    """ASCII prompts of exactly ``length - 1`` bytes (``<bos>`` makes ``length`` tokens)."""
    rng = random.Random(seed)
    vocabulary = TEXT.split(" ")
    prompts = []
    for _ in range(count):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < length:
            words.append(rng.choice(vocabulary))
        prompts.append(" ".join(words)[: length - 1])
    return prompts


def byte_decode(ids: Sequence[int]) -> str:
    """Text of byte ids, special ids dropped: what ``ByteTokenizer.decode`` returns."""
    return bytes(int(i) for i in ids if 0 <= int(i) < 256).decode("utf-8", errors="replace")


def reward_of(completions: Sequence[str]) -> list[float]:
    """The share of each completion's characters equal to ``REWARD_CHAR`` (0 when empty)."""
    return [text.count(REWARD_CHAR) / len(text) if text else 0.0 for text in completions]


def _load_model(model_dir: Path, head: str = "lm") -> Any:
    import torch
    from transformers import LlamaForCausalLM, LlamaForSequenceClassification

    model_class = LlamaForCausalLM if head == "lm" else LlamaForSequenceClassification
    kwargs = {"num_labels": 1} if head == "value" else {}
    return model_class.from_pretrained(
        str(model_dir),
        dtype=torch.float32,
        attn_implementation="eager",
        local_files_only=True,
        **kwargs,
    )


def _stamp(steps: list[dict[str, float]], pending: dict[str, float]) -> None:
    steps.append({"time": time.perf_counter(), "cpu": time.process_time(), **pending})
    pending.clear()


# ------------------------------------------------------------------------------------- sides
def run_reactor(algo: str, spec: dict[str, Any], workdir: Path, run_dir: Path) -> dict[str, Any]:
    import reactor
    from reactor.train import Callback, GRPOConfig, GRPOTrainer, PPOConfig, PPOTrainer, build_tokenizer

    settings = spec["settings"]
    config_class, trainer_class = (GRPOConfig, GRPOTrainer) if algo == "grpo" else (PPOConfig, PPOTrainer)
    raw = spec["reactor_config"]
    config = config_class.model_validate({**raw, "train": {**raw["train"], "output_dir": run_dir}})
    tokenizer = build_tokenizer(config.model)
    model = _load_model(workdir / "model")
    rows, prompt_len = settings["rows"], settings["prompt_len"]
    steps: list[dict[str, float]] = []
    pending: dict[str, float] = {}

    def reward_fn(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        scores = reward_of(completions)
        pending["reward"] = statistics.fmean(scores)
        return scores

    class Recorder(Callback):
        def on_step_end(self, trainer: Any, metrics: dict[str, float]) -> None:
            generated = round(rows * metrics["completions/mean_length"])
            pending.update(tokens=rows * prompt_len + generated, generated=generated)
            _stamp(steps, pending)

    records = [{"prompt": p} for p in spec["prompts"]]
    window = start_memory_window()
    built = time.perf_counter()
    trainer = trainer_class(
        model, tokenizer, records, config=config, reward_fn=reward_fn, callbacks=[Recorder()]
    )
    if trainer.prompts["train"] != spec["prompt_ids"]:
        raise RuntimeError("Reactor tokenised the prompts differently from the spec")
    started = time.perf_counter()
    trainer.train()
    finished = time.perf_counter()
    return {
        "version": reactor.__version__,
        "steps": steps,
        "setup_s": started - built,
        "train_s": finished - started,
        **end_memory_window(window),
    }


def _train_trl(
    trl: Any, trainer: Any, args: Any, steps: list[dict[str, float]], built: float, window: Any
) -> dict[str, Any]:
    """Run a TRL trainer built at ``built`` and report its timings and peak memory."""
    started = time.perf_counter()
    trainer.train()
    finished = time.perf_counter()
    return {
        "version": trl.__version__,
        "optimizer": getattr(args.optim, "value", str(args.optim)),
        "steps": steps,
        "setup_s": started - built,
        "train_s": finished - started,
        **end_memory_window(window),
    }


def run_trl_grpo(spec: dict[str, Any], workdir: Path, run_dir: Path) -> dict[str, Any]:
    import trl
    from datasets import Dataset
    from transformers import TrainerCallback

    s = spec["settings"]
    tokenizer = hf_byte_tokenizer()
    if tokenizer(text=spec["prompts"])["input_ids"] != spec["prompt_ids"]:
        raise RuntimeError("the TRL tokenizer encodes the prompts differently from Reactor's")
    dataset = Dataset.from_list([{"prompt": p} for p in spec["prompts"]])
    model = _load_model(workdir / "model")
    steps: list[dict[str, float]] = []
    pending: dict[str, float] = {}

    def token_share(
        prompts: list[str], completions: list[str], completion_ids: list[list[int]], **kwargs: Any
    ) -> list[float]:
        scores = reward_of([byte_decode(ids) for ids in completion_ids])
        generated = sum(len(ids) for ids in completion_ids)
        pending.update(
            reward=statistics.fmean(scores),
            tokens=len(completion_ids) * s["prompt_len"] + generated,
            generated=generated,
        )
        return scores

    args = trl.GRPOConfig(
        output_dir=str(run_dir),
        max_steps=s["total_steps"],
        per_device_train_batch_size=s["rows"],  # completions: prompts x num_generations
        gradient_accumulation_steps=1,
        steps_per_generation=1,
        num_generations=s["num_generations"],
        num_iterations=s["num_iterations"],
        max_completion_length=s["max_new_tokens"],
        temperature=s["temperature"],
        top_k=0,
        top_p=1.0,
        beta=s["beta"],
        epsilon=s["epsilon"],
        loss_type=s["loss_type"],
        scale_rewards=s["scale_rewards"],
        mask_truncated_completions=False,
        learning_rate=s["learning_rate"],
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        adam_beta1=0.9,
        adam_beta2=0.999,
        adam_epsilon=1e-8,
        max_grad_norm=0.0,  # no clipping
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        dataloader_num_workers=0,
        logging_steps=1,  # as Reactor's default log_every
        log_completions=False,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        seed=s["seed"],
    )

    class StepClock(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            _stamp(steps, pending)

    window = start_memory_window()
    built = time.perf_counter()
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=[token_share],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[StepClock()],
    )
    return _train_trl(trl, trainer, args, steps, built, window)


def run_trl_ppo(spec: dict[str, Any], workdir: Path, run_dir: Path) -> dict[str, Any]:
    import torch
    import trl
    from datasets import Dataset
    from torch import nn
    from transformers import TrainerCallback
    from transformers.utils import ModelOutput

    try:
        from trl.experimental.ppo import PPOConfig, PPOTrainer
    except ImportError as error:
        raise SystemExit(f"TRL {trl.__version__} has no PPOTrainer (use --trl-ppo): {error}") from None

    s = spec["settings"]
    tokenizer = hf_byte_tokenizer()
    prompt_ids = tokenizer(text=spec["prompts"])["input_ids"]
    if prompt_ids != spec["prompt_ids"]:
        raise RuntimeError("the TRL tokenizer encodes the prompts differently from Reactor's")
    dataset = Dataset.from_list([{"input_ids": ids} for ids in prompt_ids])
    policy = _load_model(workdir / "model")
    steps: list[dict[str, float]] = []
    pending: dict[str, float] = {}
    context_length = s["prompt_len"]

    class RewardBackbone(nn.Module):
        """Scores each row with the programmatic reward; TRL reads the score at the row's last token."""

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: Any) -> Any:
            completions = input_ids[:, context_length:]
            live = attention_mask[:, context_length:].bool()
            scores = reward_of(
                [byte_decode(row[m].tolist()) for row, m in zip(completions, live, strict=True)]
            )
            generated = int(live.sum())
            pending.update(
                reward=statistics.fmean(scores),
                tokens=input_ids.shape[0] * context_length + generated,
                generated=generated,
            )
            hidden = torch.tensor(scores, dtype=torch.float32)[:, None, None].expand(
                -1, input_ids.shape[1], 1
            )
            return ModelOutput(hidden_states=(hidden,))

    class ProgrammaticReward(nn.Module):
        """The reward "model" TRL's PPO asks for: no weights, the same function as Reactor's side."""

        base_model_prefix = "backbone"

        def __init__(self) -> None:
            super().__init__()
            self.backbone = RewardBackbone()
            self.score = nn.Identity()

    args = PPOConfig(
        output_dir=str(run_dir),
        per_device_train_batch_size=s["rows"],
        gradient_accumulation_steps=1,
        num_mini_batches=s["num_mini_batches"],
        num_ppo_epochs=s["num_ppo_epochs"],
        total_episodes=s["rows"] * s["total_steps"],
        local_rollout_forward_batch_size=s["rows"],
        response_length=s["max_new_tokens"],
        temperature=s["temperature"],
        stop_token="eos",
        missing_eos_penalty=None,
        kl_coef=s["kl_coef"],
        kl_estimator="k1",
        cliprange=0.2,
        cliprange_value=0.2,
        vf_coef=0.1,
        gamma=1.0,
        lam=0.95,
        whiten_rewards=False,
        num_sample_generations=0,
        learning_rate=s["learning_rate"],
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        adam_beta1=0.9,
        adam_beta2=0.999,
        adam_epsilon=1e-8,
        max_grad_norm=0.0,  # TRL's PPO loop never clips anyway
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        dataloader_num_workers=0,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        seed=s["seed"],
    )

    class StepClock(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            _stamp(steps, pending)

    window = start_memory_window()
    built = time.perf_counter()
    # TRL's critic is a second model: the same network with a scalar head, started from the policy's
    # weights; its head is zeroed as Reactor's value head is.
    value_model = _load_model(workdir / "model", head="value")
    with torch.no_grad():
        value_model.score.weight.zero_()
    trainer = PPOTrainer(
        args=args,
        processing_class=tokenizer,
        model=policy,
        ref_model=None,  # TRL makes a frozen copy, as Reactor does
        reward_model=ProgrammaticReward(),
        train_dataset=dataset,
        value_model=value_model,
        callbacks=[StepClock()],
    )
    return _train_trl(trl, trainer, args, steps, built, window)


def child_main(algo: str, side: str, workdir: Path, out: Path, threads: int) -> None:
    import warnings

    import torch

    warnings.filterwarnings("ignore")
    if threads > 0:
        torch.set_num_threads(threads)
    spec = json.loads((workdir / f"spec-{algo}.json").read_text(encoding="utf-8"))
    run_dir = workdir / out.stem  # a fresh output directory per run
    if side == "reactor":
        result = run_reactor(algo, spec, workdir, run_dir)
    else:
        result = (run_trl_grpo if algo == "grpo" else run_trl_ppo)(spec, workdir, run_dir)
    result.update(side=side, algo=algo, torch_threads=torch.get_num_threads())
    out.write_text(json.dumps(result), encoding="utf-8")


# ------------------------------------------------------------------------------------ parent
def prepare(workdir: Path, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Build and save the model; write one spec (settings, Reactor config, prompts) per algorithm."""
    from reactor.train import GRPOConfig, PPOConfig, build_model, build_tokenizer

    total_steps = args.warmup + args.steps
    model = {
        "arch": "llama",
        "hidden_size": args.hidden,
        "num_layers": args.layers,
        "num_heads": args.heads,
        "intermediate_size": 4 * args.hidden,
        "max_positions": max(256, args.prompt_len + args.max_new_tokens),
    }
    common = {
        "seed": 0,
        "total_steps": total_steps,
        "warmup": args.warmup,
        "prompt_len": args.prompt_len,
        "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature,
        "learning_rate": args.lr,
    }
    train = {
        "seed": 0,
        "max_steps": total_steps,
        "learning_rate": args.lr,
        "lr_schedule": "constant",
        "warmup_steps": 0,
        "weight_decay": 0.0,
        "adam_betas": (0.9, 0.999),
        "adam_eps": 1e-8,
        "max_grad_norm": None,
        "precision": "fp32",
        "device": "cpu",
        "progress": False,
    }
    rollout = {
        "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature,
        "reward": "token_frequency",  # replaced by the benchmark's own function (the same one)
        "reward_token": REWARD_CHAR,
    }
    data = {"max_prompt_length": args.prompt_len}
    specs: dict[str, dict[str, Any]] = {}
    for algo in args.algo:
        if algo == "grpo":
            settings = {
                **common,
                "prompts_per_step": args.grpo_prompts,
                "num_generations": args.generations,
                "rows": args.grpo_prompts * args.generations,
                "num_iterations": 1,
                "beta": 0.0,
                "epsilon": 0.2,
                "loss_type": "dapo",
                "scale_rewards": "group",
            }
            reactor_config = {
                "model": model,
                "data": data,
                "train": {**train, "batch_size": args.grpo_prompts},
                "rollout": rollout,
                "grpo": {
                    "num_generations": args.generations,
                    "beta": 0.0,
                    "epsilon": 0.2,
                    "loss_type": "dapo",
                    "scale_rewards": "group",
                    "num_iterations": 1,
                    "num_mini_batches": 1,
                },
            }
            GRPOConfig.model_validate(reactor_config)
        else:
            settings = {
                **common,
                "prompts_per_step": args.ppo_batch,
                "rows": args.ppo_batch,
                "num_ppo_epochs": args.ppo_epochs,
                "num_mini_batches": args.ppo_mini_batches,
                "kl_coef": 0.05,
            }
            reactor_config = {
                "model": model,
                "data": data,
                "train": {**train, "batch_size": args.ppo_batch},
                "rollout": rollout,
                "ppo": {
                    "num_ppo_epochs": args.ppo_epochs,
                    "num_mini_batches": args.ppo_mini_batches,
                    "kl_coef": 0.05,
                    "kl_estimator": "k1",
                    "cliprange": 0.2,
                    "cliprange_value": 0.2,
                    "vf_coef": 0.1,
                    "gamma": 1.0,
                    "lam": 0.95,
                    "whiten_advantages": True,
                },
            }
            PPOConfig.model_validate(reactor_config)
        prompts = make_prompts(settings["prompts_per_step"] * total_steps, args.prompt_len, seed=1)
        specs[algo] = {"settings": settings, "reactor_config": reactor_config, "prompts": prompts}
    config = GRPOConfig.model_validate({"model": model})
    tokenizer = build_tokenizer(config.model)
    build_model(config.model, tokenizer, seed=0).save_pretrained(str(workdir / "model"))
    for algo, spec in specs.items():
        spec["prompt_ids"] = [[tokenizer.bos_id, *tokenizer.encode(p)] for p in spec["prompts"]]
        if any(len(ids) != args.prompt_len for ids in spec["prompt_ids"]):
            raise RuntimeError("the prompts must all be --prompt-len tokens long")
        (workdir / f"spec-{algo}.json").write_text(json.dumps(spec), encoding="utf-8")
    return specs


def find_trl_ppo(path: Path | None) -> tuple[bool, str]:
    """Whether a TRL with ``trl.experimental.ppo`` imports from ``path`` (a ``pip --target`` folder) or,
    without one, from the environment; its version, or why not.
    """
    probe = "import trl, trl.experimental.ppo; print(trl.__version__)"
    env = {**os.environ, **OFFLINE_ENV, "TRL_EXPERIMENTAL_SILENCE": "1"}
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path.resolve()), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return False, lines[-1] if lines else "import failed"
    return True, done.stdout.strip()


def run_child(
    algo: str, side: str, workdir: Path, out: Path, threads: int, trl_ppo: Path | None
) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--side", side, "--algo", algo]
    command += ["--workdir", str(workdir), "--child-out", str(out), "--threads", str(threads)]
    env = {
        **os.environ,
        **OFFLINE_ENV,
        "HF_HOME": str(workdir / "hf-home"),
        "TRL_EXPERIMENTAL_SILENCE": "1",
    }
    if threads > 0:  # torch's OpenMP pool and Reactor's engine pool alike
        env.update(
            {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "REACTOR_NUM_THREADS")}
        )
    if algo == "ppo" and side == "trl" and trl_ppo is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(trl_ppo.resolve()), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-8000:])
        raise SystemExit(f"the {side} side of {algo} failed (exit {done.returncode})")
    return json.loads(out.read_text(encoding="utf-8"))


def throughput(result: dict[str, Any], warmup: int) -> dict[str, float]:
    """Steady-state rates over the steps after ``warmup``, timed from the end of one step to the end
    of the last.
    """
    steps = result["steps"]
    first = max(warmup, 1)  # the clock starts at the end of step first - 1
    tokens = sum(s["tokens"] for s in steps[first:])
    generated = sum(s["generated"] for s in steps[first:])
    elapsed = steps[-1]["time"] - steps[first - 1]["time"]
    cpu = steps[-1]["cpu"] - steps[first - 1]["cpu"]
    return {
        "tokens_per_s": tokens / elapsed,
        "generated_per_s": generated / elapsed,
        "ms_per_step": 1000 * elapsed / (len(steps) - first),
        "tokens_per_cpu_s": tokens / cpu,
        "tokens_per_step": tokens / (len(steps) - first),
    }


def summarize(spec: dict[str, Any], runs: dict[str, list[dict[str, Any]]], window: int) -> dict[str, Any]:
    warmup = spec["settings"]["warmup"]
    sides: dict[str, Any] = {}
    for side, results in runs.items():
        rates = [throughput(r, warmup) for r in results]
        rewards = [[s["reward"] for s in r["steps"]] for r in results]
        entry = {
            "version": results[0]["version"],
            **{key: statistics.median(r[key] for r in rates) for key in rates[0]},
            "tokens_per_s_best": max(r["tokens_per_s"] for r in rates),
            "tokens_per_s_runs": [r["tokens_per_s"] for r in rates],
            "tokens_per_cpu_s_runs": [r["tokens_per_cpu_s"] for r in rates],
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in results),
            "train_rss_growth_mb": statistics.median(r["train_rss_growth_mb"] for r in results),
            "setup_s": statistics.median(r["setup_s"] for r in results),
            "torch_threads": results[0]["torch_threads"],
            "reward_first": statistics.fmean(statistics.fmean(r[:window]) for r in rewards),
            "reward_last": statistics.fmean(statistics.fmean(r[-window:]) for r in rewards),
            "rewards": rewards[0],
        }
        if "optimizer" in results[0]:
            entry["optimizer"] = results[0]["optimizer"]
        sides[side] = entry
    reactor, trl = sides["reactor"], sides["trl"]
    ratio_keys = (
        "tokens_per_s",
        "tokens_per_s_best",
        "tokens_per_cpu_s",
        "generated_per_s",
        "ms_per_step",
        "peak_rss_mb",
        "train_rss_growth_mb",
        "setup_s",
    )
    return {
        "settings": spec["settings"],
        "model": spec["reactor_config"]["model"],
        "sides": sides,
        "ratios": {key: reactor[key] / trl[key] if trl[key] else float("nan") for key in ratio_keys},
        "reward_window": window,
    }


DIFFERENCES = {
    "grpo": [
        "TRL skips the old-log-prob forward pass when it is on-policy (num_iterations = 1, one update per "
        "generation: the ratio is exp(logp - logp.detach())); Reactor computes old log-probs and entropies "
        "in a separate no-grad forward over every row during the rollout.",
        "TRL scores log-probs with its fused LM head (only completion positions, in tiles); Reactor "
        "computes the full [rows, prompt + completion, vocab] logits and slices.",
        "Sampling: TRL through transformers' generate, Reactor through its own KV-cached loop; the random "
        "streams differ, so the samples (and completion lengths) differ.",
        "Prompt order: each side's own sampler (all prompts have one length, so the work does not depend "
        "on it). Reactor writes a final checkpoint after the last step (outside the timed steps, inside "
        "the peak-RSS window); TRL saves nothing (save_strategy 'no').",
        "Per-step logging: Reactor appends metrics.jsonl (fsync each step); TRL prints the logs to stdout "
        "(its PrinterCallback, as tqdm is off).",
    ],
    "ppo": [
        "TRL's critic is a separate value model (the same network with a scalar head, started from the "
        "policy's weights, head zeroed): each update runs two backbones forward and backward, the rollout "
        "one more forward, and AdamW covers both models; it is loaded inside the timed setup and the "
        "peak-RSS window. Reactor's value head (zero-initialised) sits on the policy's backbone: one "
        "backbone per update, one set of weights.",
        "TRL adds the score one position after a row's <eos> (its reward placement); Reactor adds it at "
        "the last completion token. TRL calls gc.collect() after every step (its own loop).",
        "TRL's PPO wants a reward model: here a weightless module that decodes the ids and calls the same "
        "reward function (no network on either side).",
        "Sampling: TRL through transformers' generate (stop_token 'eos'), Reactor through its own "
        "KV-cached loop; the random streams differ, so the samples (and completion lengths) differ.",
        "Prompt order: each side's own sampler (all prompts have one length). Reactor writes a final "
        "checkpoint after the last step (outside the timed steps, inside the peak-RSS window).",
        "Per-step logging: Reactor appends metrics.jsonl (fsync each step); TRL prints the logs to stdout.",
    ],
}


def to_markdown(algo: str, summary: dict[str, Any], repeats: int) -> str:
    settings, model, sides, ratios = (
        summary["settings"],
        summary["model"],
        summary["sides"],
        summary["ratios"],
    )
    reactor, trl = sides["reactor"], sides["trl"]
    timed = settings["total_steps"] - max(settings["warmup"], 1)
    if algo == "grpo":
        shape = (
            f"{settings['prompts_per_step']} prompts x {settings['num_generations']} generations "
            f"= {settings['rows']} rows/step, one update per step (num_iterations 1, 1 minibatch), "
            f"{settings['loss_type']} loss, beta {settings['beta']} (no reference model), epsilon "
            f"{settings['epsilon']}, rewards scaled per group"
        )
    else:
        shape = (
            f"{settings['rows']} prompts/step, {settings['num_ppo_epochs']} PPO epochs x "
            f"{settings['num_mini_batches']} minibatch(es), kl_coef {settings['kl_coef']} (k1), "
            "cliprange 0.2, vf_coef 0.1, cliprange_value 0.2, gamma 1, lam 0.95, whitened advantages"
        )
    w = summary["reward_window"]
    lines = [
        f"## {algo.upper()} training step on CPU: Reactor {reactor['version']} vs TRL {trl['version']}",
        "",
        f"Llama hidden {model['hidden_size']}, {model['num_layers']} layers, {model['num_heads']} heads, "
        f"vocab 262; prompts {settings['prompt_len']} tokens, up to {settings['max_new_tokens']} new tokens "
        f"at temperature {settings['temperature']:g} (stop at <eos>); {shape}; fp32, AdamW lr "
        f"{settings['learning_rate']:g} constant, no clipping; {settings['warmup']} warm-up + {timed} timed "
        f"steps, median of {repeats} run(s) per side; {reactor['torch_threads']} torch thread(s); TRL "
        f"optimizer {trl.get('optimizer', '?')}. tokens = prompt + generated tokens of every row.",
        "",
        "| metric | Reactor | TRL | Reactor / TRL |",
        "|---|---:|---:|---:|",
        f"| tokens/s (higher is better) | {reactor['tokens_per_s']:,.0f} | {trl['tokens_per_s']:,.0f} "
        f"| {ratios['tokens_per_s']:.2f}x |",
        f"| tokens/s, best run | {reactor['tokens_per_s_best']:,.0f} | {trl['tokens_per_s_best']:,.0f} "
        f"| {ratios['tokens_per_s_best']:.2f}x |",
        f"| tokens per CPU-second (insensitive to other load) | {reactor['tokens_per_cpu_s']:,.0f} "
        f"| {trl['tokens_per_cpu_s']:,.0f} | {ratios['tokens_per_cpu_s']:.2f}x |",
        f"| generated tokens/s | {reactor['generated_per_s']:,.0f} | {trl['generated_per_s']:,.0f} "
        f"| {ratios['generated_per_s']:.2f}x |",
        f"| ms/step (rollout + update) | {reactor['ms_per_step']:.1f} | {trl['ms_per_step']:.1f} "
        f"| {ratios['ms_per_step']:.2f}x |",
        f"| tokens/step (mean) | {reactor['tokens_per_step']:.0f} | {trl['tokens_per_step']:.0f} | |",
        f"| peak RSS, whole process (MiB) | {reactor['peak_rss_mb']:.0f} | {trl['peak_rss_mb']:.0f} "
        f"| {ratios['peak_rss_mb']:.2f}x |",
        f"| peak RSS growth, trainer build + training (MiB) | {reactor['train_rss_growth_mb']:.1f} "
        f"| {trl['train_rss_growth_mb']:.1f} | {ratios['train_rss_growth_mb']:.2f}x |",
        f"| trainer setup (s) | {reactor['setup_s']:.2f} | {trl['setup_s']:.2f} | {ratios['setup_s']:.2f}x |",
        f"| mean reward, first {w} steps | {reactor['reward_first']:.4f} | {trl['reward_first']:.4f} | |",
        f"| mean reward, last {w} steps | {reactor['reward_last']:.4f} | {trl['reward_last']:.4f} | |",
        "",
        "Differences the two APIs leave:",
        "",
        *[f"- {line}" for line in DIFFERENCES[algo]],
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run (noisy figures)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--algo", action="append", choices=ALGOS, help="algorithm to run (repeatable; default: both)"
    )
    parser.add_argument(
        "--trl-ppo",
        type=Path,
        default=os.environ.get("REACTOR_BENCH_TRL_PPO") or None,
        help="a folder holding a TRL with trl.experimental.ppo (pip install --no-deps --target DIR "
        "trl==1.12.0), put first on the TRL PPO subprocess's path; default: $REACTOR_BENCH_TRL_PPO, "
        "else the installed TRL",
    )
    parser.add_argument("--hidden", type=int, default=64, help="model width")
    parser.add_argument("--layers", type=int, default=2, help="transformer layers")
    parser.add_argument("--heads", type=int, default=4, help="attention heads")
    parser.add_argument("--prompt-len", type=int, default=16, help="tokens per prompt, <bos> included")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="completion length limit")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    parser.add_argument("--grpo-prompts", type=int, default=8, help="GRPO prompts per step")
    parser.add_argument("--generations", type=int, default=4, help="GRPO completions per prompt")
    parser.add_argument("--ppo-batch", type=int, default=16, help="PPO prompts (rollouts) per step")
    parser.add_argument("--ppo-epochs", type=int, default=4, help="PPO epochs per step")
    parser.add_argument("--ppo-mini-batches", type=int, default=1, help="PPO minibatches per epoch")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW learning rate")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=40, help="timed steps")
    parser.add_argument("--repeats", type=int, default=3, help="subprocess runs per side (median)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads of each side (torch and Reactor's engine); 0: the libraries' defaults. One thread "
        "keeps the figures stable on a shared machine, where spinning OpenMP workers stall",
    )
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.algo = list(dict.fromkeys(args.algo or ALGOS))
    if args.side:
        child_main(args.algo[0], args.side, args.workdir, args.child_out, args.threads)
        return
    if args.quick:
        args.warmup, args.steps, args.repeats = 1, 3, 1
    os.environ.update(OFFLINE_ENV)
    if "ppo" in args.algo:
        found, detail = find_trl_ppo(args.trl_ppo)
        if not found:
            print(
                f"skipping PPO: no TRL PPOTrainer ({detail}); install TRL 1.12.0 aside with "
                "`.venv/bin/python -m pip install --no-deps --target /tmp/trl-ppo trl==1.12.0` and pass "
                "--trl-ppo /tmp/trl-ppo\n",
                file=sys.stderr,
            )
            args.algo.remove("ppo")
    if not args.algo:
        raise SystemExit("nothing to run")
    window = min(5, args.warmup + args.steps)
    summaries: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="reactor-rl-bench-") as tmp:
        workdir = Path(tmp)
        specs = prepare(workdir, args)
        for algo in args.algo:
            runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
            for repeat in range(args.repeats):
                for side in SIDES if repeat % 2 == 0 else SIDES[::-1]:
                    out = workdir / f"result-{algo}-{side}-{repeat}.json"
                    runs[side].append(run_child(algo, side, workdir, out, args.threads, args.trl_ppo))
            summaries[algo] = summarize(specs[algo], runs, window)
            print(to_markdown(algo, summaries[algo], args.repeats))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summaries, indent=2) + "\n", encoding="utf-8")
        print(f"results in {args.json}")


if __name__ == "__main__":
    main()
