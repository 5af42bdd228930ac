"""One DPO training step, Reactor's ``reactor.train.DPOTrainer`` against TRL's ``DPOTrainer``, on CPU.

    .venv/bin/python benchmarks/python/train_dpo.py                     # full run, markdown table
    .venv/bin/python benchmarks/python/train_dpo.py --quick             # smoke run (noisy figures)
    .venv/bin/python benchmarks/python/train_dpo.py --json dpo.json     # also write the results

Both trainers get the same tiny Llama (built once by ``reactor.train.build_model`` and saved), the
same preference pairs tokenised to the same ids (Reactor's byte tokenizer; for TRL an equivalent
Hugging Face byte-level tokenizer built in code), the same batches in the same order, float32, the
sigmoid loss with the same beta, AdamW with the same hyper-parameters, a constant learning rate and
no gradient clipping. TRL's own defaults that change the computation (bf16, gradient checkpointing)
are switched off; its optimizer implementation (``adamw_torch_fused``) is left at its default.

Each side runs in its own subprocess (``--side``), alternating over ``--repeats`` runs, so imports and
allocations of one never count against the other. Reported per side:

- tokens/s: non-padding tokens of the chosen and rejected rows per step, over the steady-state
  steps (after ``--warmup`` steps), timed between consecutive step-end callbacks, so the whole
  loop (data collation, both forwards, backward, optimizer, logging) is inside; median over repeats;
  also per CPU-second of the process, which other load on a shared machine barely moves (with
  ``--threads 1``, the default, it is what the wall-clock rate would be on an idle core);
- peak RSS: of the whole process, and its growth during training (the kernel's high-water mark is
  reset just before the trainer is built, and measured against the resident size at that point);
- the per-step losses and mean policy log-probs of both sides, compared step by step.

TRL is the peer here only: it is installed from PyPI next to Reactor, never a dependency.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIDES = ("reactor", "trl")
SPECIAL_TOKENS = (
    "<pad>",
    "<bos>",
    "<eos>",
    "<system>",
    "<user>",
    "<assistant>",
)  # ids 256.. as ByteTokenizer
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TQDM_DISABLE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "WANDB_DISABLED": "true",
}
TEXT = (
    "the model learns which answer people prefer from pairs of completions that share one prompt and "
    "differ in quality so a good reply stays close to the reference while a poor one drifts away as "
    "training moves probability mass toward the chosen text and away from the rejected text"
)


# --------------------------------------------------------------------------------------- data
def _text(rng: random.Random, length: int) -> str:
    vocabulary = TEXT.split(" ")
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(vocabulary))
    return " ".join(words)[:length]


def make_records(count: int, seq_len: int, seed: int) -> list[dict[str, str]]:
    """ASCII preference pairs whose prompt + completion rows fit ``seq_len`` tokens (no truncation)."""
    rng = random.Random(seed)
    records = []
    for _ in range(count):
        prompt_len = rng.randint(seq_len // 8, seq_len // 4)
        room = seq_len - (prompt_len + 1) - 1  # <bos> before the prompt, <eos> after the completion
        records.append(
            {
                "prompt": _text(rng, prompt_len),
                "chosen": _text(rng, rng.randint(room // 3, room)),
                "rejected": _text(rng, rng.randint(room // 3, room)),
            }
        )
    return records


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character map, used by the byte-level pre-tokenizer."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, codes), strict=True))


def hf_byte_tokenizer() -> Any:
    """A Hugging Face tokenizer with the ids of Reactor's ``ByteTokenizer``: bytes 0-255, then the
    special tokens; ``<bos>`` is prepended to every encoded text (built in code, nothing downloaded).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {char: byte for byte, char in _bytes_to_unicode().items()}
    vocab.update({token: 256 + index for index, token in enumerate(SPECIAL_TOKENS)})
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(list(SPECIAL_TOKENS))
    core.post_processor = processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", vocab["<bos>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>"
    )


# ------------------------------------------------------------------------------------ memory
def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        match = re.search(rf"^{field}:\s+(\d+) kB", handle.read(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def start_memory_window() -> dict[str, float]:
    """Reset the process's peak-RSS mark (Linux ``clear_refs``); the resident size now and the peak so far."""
    gc.collect()
    before = {"peak_before_mb": _status_kib("VmHWM") / 1024, "rss_start_mb": _status_kib("VmRSS") / 1024}
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        before["reset"] = 1.0
    except OSError:
        before["reset"] = 0.0  # growth then reads against the process's whole-life peak
    return before


def end_memory_window(window: dict[str, float]) -> dict[str, float]:
    peak = _status_kib("VmHWM") / 1024
    return {
        "peak_rss_mb": max(peak, window["peak_before_mb"]),
        "train_rss_growth_mb": peak - window["rss_start_mb"],
        "rss_start_mb": window["rss_start_mb"],
        "peak_reset": window["reset"],
    }


# ------------------------------------------------------------------------------------- sides
def _load_model(model_dir: Path) -> Any:
    import torch
    from transformers import LlamaForCausalLM

    return LlamaForCausalLM.from_pretrained(
        str(model_dir), dtype=torch.float32, attn_implementation="eager", local_files_only=True
    )


def run_reactor(spec: dict[str, Any], workdir: Path, run_dir: Path) -> dict[str, Any]:
    import reactor
    from reactor.train import Callback, DPOConfig, DPOTrainer, build_tokenizer

    config = DPOConfig.model_validate(
        {**spec["reactor_config"], "train": {**spec["reactor_config"]["train"], "output_dir": run_dir}}
    )
    tokenizer = build_tokenizer(config.model)
    model = _load_model(workdir / "model")
    steps: list[dict[str, float]] = []

    class Recorder(Callback):
        def on_step_end(self, trainer: Any, metrics: dict[str, float]) -> None:
            steps.append(
                {
                    "time": time.perf_counter(),
                    "cpu": time.process_time(),
                    "loss": metrics["loss"],
                    "logps_chosen": metrics["logps/chosen"],
                    "logps_rejected": metrics["logps/rejected"],
                }
            )

    window = start_memory_window()
    built = time.perf_counter()
    trainer = DPOTrainer(model, tokenizer, spec["records"], config=config, callbacks=[Recorder()])
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


def run_trl(spec: dict[str, Any], workdir: Path, run_dir: Path) -> dict[str, Any]:
    import trl
    from datasets import Dataset
    from transformers import TrainerCallback

    settings = spec["settings"]
    records = [spec["records"][i] for i in spec["trl_order"]]
    dataset = Dataset.from_list(records)
    tokenizer = hf_byte_tokenizer()
    model = _load_model(workdir / "model")
    args = trl.DPOConfig(
        output_dir=str(run_dir),
        max_steps=settings["total_steps"],
        per_device_train_batch_size=settings["batch"],
        gradient_accumulation_steps=1,
        learning_rate=settings["learning_rate"],
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        adam_beta1=0.9,
        adam_beta2=0.999,
        adam_epsilon=1e-8,
        max_grad_norm=0.0,  # no clipping
        beta=settings["beta"],
        loss_type=["sigmoid"],
        max_length=settings["seq_len"],
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        train_sampling_strategy="sequential",  # the dataset is already in Reactor's batch order
        dataloader_num_workers=0,
        logging_steps=1,  # as Reactor's default log_every
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        seed=settings["seed"],
    )
    steps: list[dict[str, float]] = []

    class RecordingDPOTrainer(trl.DPOTrainer):
        def compute_loss(
            self, model: Any, inputs: Any, return_outputs: bool = False, num_items_in_batch: Any = None
        ) -> Any:
            loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if self.model.training:
                metrics = self._metrics["train"]
                steps.append(
                    {
                        "loss": float((loss[0] if return_outputs else loss).detach()),
                        "logps_chosen": metrics["logps/chosen"][-1],
                        "logps_rejected": metrics["logps/rejected"][-1],
                    }
                )
            return loss

    class StepClock(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            steps[state.global_step - 1].update(time=time.perf_counter(), cpu=time.process_time())

    window = start_memory_window()
    built = time.perf_counter()
    trainer = RecordingDPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[StepClock()],
    )
    prepared = trainer.train_dataset
    for column, key in (("prompt_ids", "prompt"), ("chosen_ids", "chosen"), ("rejected_ids", "rejected")):
        expected = [spec["token_ids"][i][key] for i in spec["trl_order"]]
        if prepared[column] != expected:
            raise RuntimeError(f"TRL tokenised {column} differently from Reactor: the inputs would differ")
    started = time.perf_counter()
    trainer.train()
    finished = time.perf_counter()
    counted = spec["step_tokens"]
    if trainer._total_train_tokens != sum(counted):
        raise RuntimeError(f"TRL saw {trainer._total_train_tokens} tokens, expected {sum(counted)}")
    return {
        "version": trl.__version__,
        "optimizer": getattr(args.optim, "value", str(args.optim)),
        "steps": steps,
        "setup_s": started - built,
        "train_s": finished - started,
        **end_memory_window(window),
    }


def child_main(side: str, workdir: Path, out: Path, threads: int) -> None:
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    spec = json.loads((workdir / "spec.json").read_text(encoding="utf-8"))
    run_dir = workdir / out.stem  # a fresh output directory per run
    result = (run_reactor if side == "reactor" else run_trl)(spec, workdir, run_dir)
    result.update(side=side, torch_threads=torch.get_num_threads())
    out.write_text(json.dumps(result), encoding="utf-8")


# ------------------------------------------------------------------------------------ parent
def prepare(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Build and save the model, the pairs, Reactor's tokenisation and the batch order."""
    from reactor.train import DPOConfig, build_model, build_tokenizer
    from reactor.train.data import batch_indices, tokenize_pair

    total_steps = args.warmup + args.steps
    settings = {
        "batch": args.batch,
        "seq_len": args.seq_len,
        "learning_rate": args.lr,
        "beta": 0.1,
        "seed": 0,
        "total_steps": total_steps,
        "warmup": args.warmup,
    }
    reactor_config = {
        "model": {
            "arch": "llama",
            "hidden_size": args.hidden,
            "num_layers": args.layers,
            "num_heads": args.heads,
            "intermediate_size": 4 * args.hidden,
            "max_positions": max(256, args.seq_len),
        },
        "data": {"max_length": args.seq_len, "max_prompt_length": args.seq_len // 2},
        "train": {
            "seed": settings["seed"],
            "max_steps": total_steps,
            "batch_size": args.batch,
            "learning_rate": args.lr,
            "lr_schedule": "constant",
            "max_grad_norm": None,
            "precision": "fp32",
            "device": "cpu",
            "progress": False,
        },
        "dpo": {"beta": settings["beta"], "loss_type": "sigmoid"},
    }
    config = DPOConfig.model_validate(reactor_config)
    tokenizer = build_tokenizer(config.model)
    build_model(config.model, tokenizer, seed=settings["seed"]).save_pretrained(str(workdir / "model"))

    records = make_records(args.batch * total_steps, args.seq_len, seed=1)
    pairs = [
        tokenize_pair(r, tokenizer, config.data.max_length, config.data.max_prompt_length) for r in records
    ]
    token_ids = [{"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected} for p in pairs]
    batches = [batch_indices(len(records), args.batch, step, settings["seed"]) for step in range(total_steps)]
    step_tokens = [
        sum(2 * len(pairs[i].prompt) + len(pairs[i].chosen) + len(pairs[i].rejected) for i in b)
        for b in batches
    ]
    spec = {
        "settings": settings,
        "reactor_config": reactor_config,
        "records": records,
        "token_ids": token_ids,
        "trl_order": [int(i) for b in batches for i in b],
        "step_tokens": step_tokens,
    }
    (workdir / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    return spec


def run_child(side: str, workdir: Path, out: Path, threads: int) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--side", side, "--workdir", str(workdir)]
    command += ["--child-out", str(out), "--threads", str(threads)]
    env = {**os.environ, **OFFLINE_ENV, "HF_HOME": str(workdir / "hf-home")}
    if threads > 0:  # torch's OpenMP pool and Reactor's engine pool alike
        env.update(
            {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "REACTOR_NUM_THREADS")}
        )
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-8000:])
        raise SystemExit(f"the {side} side failed (exit {done.returncode})")
    return json.loads(out.read_text(encoding="utf-8"))


def throughput(result: dict[str, Any], step_tokens: list[int], warmup: int) -> tuple[float, float, float]:
    """Steady-state tokens/s, ms/step and tokens per CPU-second of the process: steps after
    ``warmup``, timed from the end of one step to the end of the last.
    """
    steps = result["steps"]
    first = max(warmup, 1)  # the clock starts at the end of step first - 1
    tokens = sum(step_tokens[first:])
    elapsed = steps[-1]["time"] - steps[first - 1]["time"]
    cpu = steps[-1]["cpu"] - steps[first - 1]["cpu"]
    return tokens / elapsed, 1000 * elapsed / (len(steps) - first), tokens / cpu


def summarize(spec: dict[str, Any], runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    step_tokens, warmup = spec["step_tokens"], spec["settings"]["warmup"]
    sides: dict[str, Any] = {}
    for side, results in runs.items():
        speeds = [throughput(r, step_tokens, warmup) for r in results]
        sides[side] = {
            "version": results[0]["version"],
            "tokens_per_s": statistics.median(s[0] for s in speeds),
            "tokens_per_s_best": max(s[0] for s in speeds),
            "tokens_per_s_runs": [s[0] for s in speeds],
            "ms_per_step": statistics.median(s[1] for s in speeds),
            "tokens_per_cpu_s": statistics.median(s[2] for s in speeds),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in results),
            "train_rss_growth_mb": statistics.median(r["train_rss_growth_mb"] for r in results),
            "setup_s": statistics.median(r["setup_s"] for r in results),
            "torch_threads": results[0]["torch_threads"],
            "losses": [s["loss"] for s in results[0]["steps"]],
            "logps_chosen": [s["logps_chosen"] for s in results[0]["steps"]],
            "logps_rejected": [s["logps_rejected"] for s in results[0]["steps"]],
        }
        if side == "trl":
            sides[side]["optimizer"] = results[0]["optimizer"]
    reactor, trl = sides["reactor"], sides["trl"]

    def max_diff(key: str, upto: int | None = None) -> float:
        return max(abs(a - b) for a, b in zip(reactor[key][:upto], trl[key][:upto], strict=True))

    return {
        "settings": spec["settings"],
        "model": spec["reactor_config"]["model"],
        "tokens_per_step": statistics.mean(step_tokens),
        "sides": sides,
        "ratios": {
            "tokens_per_s": reactor["tokens_per_s"] / trl["tokens_per_s"],
            "tokens_per_s_best": reactor["tokens_per_s_best"] / trl["tokens_per_s_best"],
            "tokens_per_cpu_s": reactor["tokens_per_cpu_s"] / trl["tokens_per_cpu_s"],
            "peak_rss": reactor["peak_rss_mb"] / trl["peak_rss_mb"],
            "train_rss_growth": reactor["train_rss_growth_mb"] / trl["train_rss_growth_mb"],
        },
        "loss_step0": {"reactor": reactor["losses"][0], "trl": trl["losses"][0]},
        "max_abs_loss_diff_first5": max_diff("losses", 5),
        "max_abs_loss_diff": max_diff("losses"),
        "max_abs_logps_diff": max(max_diff("logps_chosen"), max_diff("logps_rejected")),
        "max_rel_logps_diff": max(
            abs(a - b) / abs(b)
            for key in ("logps_chosen", "logps_rejected")
            for a, b in zip(reactor[key], trl[key], strict=True)
        ),
    }


def to_markdown(summary: dict[str, Any], repeats: int) -> str:
    settings, model, sides, ratios = (
        summary["settings"],
        summary["model"],
        summary["sides"],
        summary["ratios"],
    )
    reactor, trl = sides["reactor"], sides["trl"]
    timed = settings["total_steps"] - max(settings["warmup"], 1)
    lines = [
        f"## DPO training step on CPU: Reactor {reactor['version']} vs TRL {trl['version']}",
        "",
        f"Llama hidden {model['hidden_size']}, {model['num_layers']} layers, {model['num_heads']} heads; "
        f"batch {settings['batch']} pairs (2x{settings['batch']} rows), rows up to {settings['seq_len']} "
        f"tokens, "
        f"{summary['tokens_per_step']:.0f} non-pad tokens/step on average; fp32, sigmoid loss, beta "
        f"{settings['beta']}, AdamW lr {settings['learning_rate']:g} constant, no clipping; "
        f"{settings['warmup']} warm-up + {timed} timed steps, median of {repeats} run(s) per side; "
        f"{reactor['torch_threads']} torch threads; TRL optimizer {trl['optimizer']}.",
        "",
        "| metric | Reactor | TRL | Reactor / TRL |",
        "|---|---:|---:|---:|",
        f"| tokens/s (higher is better) | {reactor['tokens_per_s']:,.0f} | {trl['tokens_per_s']:,.0f} "
        f"| {ratios['tokens_per_s']:.2f}x |",
        f"| tokens/s, best run | {reactor['tokens_per_s_best']:,.0f} | {trl['tokens_per_s_best']:,.0f} "
        f"| {ratios['tokens_per_s_best']:.2f}x |",
        f"| tokens per CPU-second (insensitive to other load) | {reactor['tokens_per_cpu_s']:,.0f} "
        f"| {trl['tokens_per_cpu_s']:,.0f} | {ratios['tokens_per_cpu_s']:.2f}x |",
        f"| ms/step | {reactor['ms_per_step']:.1f} | {trl['ms_per_step']:.1f} "
        f"| {reactor['ms_per_step'] / trl['ms_per_step']:.2f}x |",
        f"| peak RSS, whole process (MiB) | {reactor['peak_rss_mb']:.0f} | {trl['peak_rss_mb']:.0f} "
        f"| {ratios['peak_rss']:.2f}x |",
        f"| peak RSS growth, trainer build + training (MiB) | {reactor['train_rss_growth_mb']:.1f} "
        f"| {trl['train_rss_growth_mb']:.1f} | {ratios['train_rss_growth']:.2f}x |",
        f"| trainer setup (s) | {reactor['setup_s']:.2f} | {trl['setup_s']:.2f} "
        f"| {reactor['setup_s'] / trl['setup_s']:.2f}x |",
        f"| loss, step 0 | {reactor['losses'][0]:.7f} | {trl['losses'][0]:.7f} "
        f"| diff {abs(reactor['losses'][0] - trl['losses'][0]):.1e} |",
        f"| loss, step {len(reactor['losses']) - 1} | {reactor['losses'][-1]:.7f} | {trl['losses'][-1]:.7f} "
        f"| diff {abs(reactor['losses'][-1] - trl['losses'][-1]):.1e} |",
        "",
        f"Max |loss difference|: {summary['max_abs_loss_diff_first5']:.1e} over the first 5 steps, "
        f"{summary['max_abs_loss_diff']:.1e} over all {len(reactor['losses'])}; max |mean policy log-prob "
        f"difference| {summary['max_abs_logps_diff']:.1e} (relative {summary['max_rel_logps_diff']:.1e}).",
        "",
        "| step | Reactor loss | TRL loss | Reactor logps/chosen | TRL logps/chosen |",
        "|---:|---:|---:|---:|---:|",
    ]
    for step in range(min(5, len(reactor["losses"]))):
        lines.append(
            f"| {step} | {reactor['losses'][step]:.7f} | {trl['losses'][step]:.7f} "
            f"| {reactor['logps_chosen'][step]:.4f} | {trl['logps_chosen'][step]:.4f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run (noisy figures)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--hidden", type=int, default=64, help="model width")
    parser.add_argument("--layers", type=int, default=2, help="transformer layers")
    parser.add_argument("--heads", type=int, default=4, help="attention heads")
    parser.add_argument("--batch", type=int, default=8, help="preference pairs per step")
    parser.add_argument("--seq-len", type=int, default=128, help="longest prompt + completion row")
    parser.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--repeats", type=int, default=5, help="subprocess runs per side (median)")
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
    if args.side:
        child_main(args.side, args.workdir, args.child_out, args.threads)
        return
    if args.quick:
        args.warmup, args.steps, args.repeats = 1, 3, 1
    os.environ.update(OFFLINE_ENV)
    with tempfile.TemporaryDirectory(prefix="reactor-dpo-bench-") as tmp:
        workdir = Path(tmp)
        spec = prepare(workdir, args)
        runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
        for repeat in range(args.repeats):
            for side in SIDES if repeat % 2 == 0 else SIDES[::-1]:
                out = workdir / f"result-{side}-{repeat}.json"
                runs[side].append(run_child(side, workdir, out, args.threads))
    summary = summarize(spec, runs)
    print(to_markdown(summary, args.repeats))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        print(f"results in {args.json}")


if __name__ == "__main__":
    main()
