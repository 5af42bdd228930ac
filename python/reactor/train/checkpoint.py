"""Training checkpoints: model, optimizer, scheduler, RNG states and the data position.

Each checkpoint is a directory ``checkpoints/step-NNNNNNNN`` written atomically (temporary
sibling, every file fsynced, renamed) with a manifest of SHA-256 checksums. ``latest`` names the
newest one and is replaced atomically after it. Resuming picks the newest checkpoint that
verifies: a torn or corrupt one is skipped with a warning, so the last good one is used.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reactor.atomic import atomic_directory, atomic_write_text
from reactor.errors import CorruptDataError

__all__ = [
    "FORMAT",
    "TrainerState",
    "find_resumable",
    "load_checkpoint",
    "restore_rng_state",
    "rng_state",
    "save_checkpoint",
    "verify_checkpoint",
]

FORMAT = {"format": "reactor-train-checkpoint", "version": 1}
_NAME = re.compile(r"^step-(\d{8})$")


@dataclass
class TrainerState:
    """The loop's own state: where it is and what early stopping has seen."""

    step: int = 0
    examples_seen: int = 0
    micro_batch_size: int = 0
    best_metric: float | None = None
    evals_without_improvement: int = 0
    stopped_early: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # a trainer's own state (e.g. PPO's KL coefficient)


def rng_state() -> dict[str, Any]:
    """Every global RNG a training step may touch (Python, numpy, torch CPU and CUDA), as plain
    Python values (bytes, lists) so the states of all ranks can be gathered as objects.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {
        "python": random.getstate(),
        "numpy": [kind, np.asarray(keys).tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state().numpy().tobytes(),
        "cuda": [state.numpy().tobytes() for state in cuda],
    }


def _byte_tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back what :func:`rng_state` captured."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(_byte_tensor(state["torch"]))
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_byte_tensor(s) for s in state["cuda"]])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(
    root: Path,
    *,
    state: TrainerState,
    payload: dict[str, Any],
    keep: int,
) -> Path:
    """Write ``root/step-NNNNNNNN`` (``payload``: name -> object saved with ``torch.save``), point
    ``root/latest`` at it, and keep only the newest ``keep`` checkpoints.
    """

    def fill(tmp: Path) -> None:
        files = {}
        for name, obj in payload.items():
            torch.save(obj, tmp / f"{name}.pt")
            files[f"{name}.pt"] = _sha256(tmp / f"{name}.pt")
        (tmp / "state.json").write_text(json.dumps(asdict(state), indent=1))
        files["state.json"] = _sha256(tmp / "state.json")
        (tmp / "manifest.json").write_text(
            json.dumps({**FORMAT, "step": state.step, "files": files}, indent=1)
        )

    path = atomic_directory(root / f"step-{state.step:08d}", fill)
    atomic_write_text(root / "latest", path.name + "\n")
    for old in _checkpoints(root)[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    for torn in root.glob(".step-*.tmp-*"):  # left by a process killed while writing
        shutil.rmtree(torn, ignore_errors=True)
    return path


def _checkpoints(root: Path) -> list[Path]:
    """Checkpoint directories under ``root``, newest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and _NAME.match(p.name)]
    return sorted(found, key=lambda p: p.name, reverse=True)


def verify_checkpoint(path: Path) -> dict[str, Any]:
    """The manifest of a checkpoint whose files all match their checksums; else :class:`CorruptDataError`."""
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise CorruptDataError(f"[train.checkpoint] {path}: unreadable manifest ({error})") from error
    if {k: manifest.get(k) for k in FORMAT} != FORMAT:
        raise CorruptDataError(
            f"[train.checkpoint] {path}: format {manifest.get('format')!r} v{manifest.get('version')!r}, "
            f"expected {FORMAT['format']!r} v{FORMAT['version']}"
        )
    for name, digest in manifest["files"].items():
        file = path / name
        if not file.is_file() or _sha256(file) != digest:
            raise CorruptDataError(f"[train.checkpoint] {path}: {name} is missing or fails its checksum")
    return manifest


def find_resumable(root: Path) -> Path | None:
    """The newest checkpoint under ``root`` that verifies (corrupt ones are skipped with a warning)."""
    for candidate in _checkpoints(root):
        try:
            verify_checkpoint(candidate)
        except CorruptDataError as error:
            warnings.warn(f"skipping a corrupt checkpoint: {error}", RuntimeWarning, stacklevel=2)
            continue
        return candidate
    return None


def load_checkpoint(path: Path, names: list[str]) -> tuple[TrainerState, dict[str, Any]]:
    """The trainer state and the named payload objects of a verified checkpoint."""
    verify_checkpoint(path)
    state = TrainerState(**json.loads((path / "state.json").read_text()))
    # weights_only=False: the files are our own, verified by checksum; RNG states hold tuples.
    payload = {
        name: torch.load(path / f"{name}.pt", map_location="cpu", weights_only=False) for name in names
    }
    return state, payload
