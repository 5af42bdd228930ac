"""Examples, tokenisation and batches for the trainers.

Preference data (DPO) is JSON Lines with ``prompt``, ``chosen`` and ``rejected``; supervised data
(SFT) has ``prompt`` and ``completion``, or ``messages`` whose last turn is the assistant's answer.
A prompt is a string or a list of chat messages (``{"role": ..., "content": ...}``).

The order of examples is a pure function of (seed, epoch), so the data position of a run is just
the number of examples consumed: a resumed run sees exactly the batches an uninterrupted run sees.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reactor.errors import InvalidArgumentError
from reactor.train.tokenizer import Tokenizer

__all__ = [
    "PreferenceBatch",
    "SequenceBatch",
    "TokenizedPair",
    "TokenizedSequence",
    "batch_indices",
    "collate_pairs",
    "collate_sequences",
    "read_jsonl",
    "tokenize_pair",
    "tokenize_sequence",
]


def read_jsonl(path: str | os.PathLike[str], required: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Records of a JSON Lines file; a bad line or a missing field is an error naming the line."""
    file = Path(path)
    if not file.is_file():
        raise InvalidArgumentError(f"[train.data] {str(file)!r} does not exist")
    records = []
    with open(file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise InvalidArgumentError(
                    f"[train.data] {file}:{number}: not valid JSON ({error})"
                ) from error
            missing = [key for key in required if key not in record]
            if not isinstance(record, dict) or missing:
                raise InvalidArgumentError(f"[train.data] {file}:{number}: missing field(s) {missing}")
            records.append(record)
    if not records:
        raise InvalidArgumentError(f"[train.data] {str(file)!r} holds no examples")
    return records


def _prompt_ids(
    prompt: str | Sequence[dict[str, str]], tokenizer: Tokenizer, max_prompt_length: int
) -> list[int]:
    ids = (
        tokenizer.chat_prompt(prompt)
        if not isinstance(prompt, str)
        else [tokenizer.bos_id, *tokenizer.encode(prompt)]
    )
    return ids[-max_prompt_length:]  # keep the end of a long prompt: it is nearest the answer


def _completion_ids(text: str, tokenizer: Tokenizer, room: int) -> list[int]:
    if room < 1:
        raise InvalidArgumentError(f"[train.data] max_length leaves no room for a completion (room {room})")
    return [*tokenizer.encode(text), tokenizer.eos_id][:room]


@dataclass(frozen=True)
class TokenizedSequence:
    """Prompt ids then completion ids (the loss covers the completion)."""

    prompt: list[int]
    completion: list[int]


@dataclass(frozen=True)
class TokenizedPair:
    """One preference: a shared prompt, a chosen and a rejected completion."""

    prompt: list[int]
    chosen: list[int]
    rejected: list[int]


def tokenize_sequence(
    record: dict[str, Any], tokenizer: Tokenizer, max_length: int, max_prompt_length: int
) -> TokenizedSequence:
    """An SFT record (``prompt`` + ``completion``, or ``messages``) as ids."""
    if "messages" in record:
        messages = list(record["messages"])
        if not messages or messages[-1].get("role") != "assistant":
            raise InvalidArgumentError(
                "[train.data] messages: the last message must be the assistant's answer"
            )
        prompt, completion = messages[:-1], str(messages[-1].get("content", ""))
    else:
        prompt, completion = record["prompt"], str(record["completion"])
    prompt_ids = _prompt_ids(prompt, tokenizer, max_prompt_length)
    return TokenizedSequence(prompt_ids, _completion_ids(completion, tokenizer, max_length - len(prompt_ids)))


def tokenize_pair(
    record: dict[str, Any], tokenizer: Tokenizer, max_length: int, max_prompt_length: int
) -> TokenizedPair:
    """A preference record as ids."""
    prompt_ids = _prompt_ids(record["prompt"], tokenizer, max_prompt_length)
    room = max_length - len(prompt_ids)
    return TokenizedPair(
        prompt_ids,
        _completion_ids(str(record["chosen"]), tokenizer, room),
        _completion_ids(str(record["rejected"]), tokenizer, room),
    )


def batch_indices(num_examples: int, batch_size: int, step: int, seed: int) -> np.ndarray:
    """Indices of the examples in optimizer step ``step``: consecutive slices of an endless stream
    of epochs, each epoch a permutation drawn from (seed, epoch).
    """
    start = step * batch_size
    out = np.empty(batch_size, dtype=np.int64)
    filled = 0
    while filled < batch_size:
        epoch, offset = divmod(start + filled, num_examples)
        order = np.random.default_rng([seed, epoch]).permutation(num_examples)
        take = min(batch_size - filled, num_examples - offset)
        out[filled : filled + take] = order[offset : offset + take]
        filled += take
    return out


@dataclass
class SequenceBatch:
    """Token ids with the log-prob targets of each position (the next token) and the loss mask.

    ``attention_mask`` is [B, T] (padding) or, for packed rows, an additive [B, 1, T, T] mask
    that keeps each packed example from seeing the others; ``position_ids`` restart per example.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    targets: torch.Tensor
    loss_mask: torch.Tensor
    position_ids: torch.Tensor | None = None

    def to(self, device: torch.device) -> SequenceBatch:
        """The same batch on ``device``."""
        return SequenceBatch(
            *(t.to(device) for t in (self.input_ids, self.attention_mask, self.targets, self.loss_mask)),
            None if self.position_ids is None else self.position_ids.to(device),
        )

    @property
    def num_loss_tokens(self) -> int:
        """How many target tokens the loss covers."""
        return int(self.loss_mask.sum())


@dataclass
class PreferenceBatch:
    """``n`` pairs as one sequence batch of 2n rows: the chosen completions, then the rejected."""

    sequences: SequenceBatch
    completion_lengths: torch.Tensor  # [2n], tokens in each completion (for length normalisation)
    indices: torch.Tensor  # [n], dataset indices of the pairs (keys of precomputed reference log-probs)

    def to(self, device: torch.device) -> PreferenceBatch:
        """The same batch on ``device``."""
        return PreferenceBatch(self.sequences.to(device), self.completion_lengths.to(device), self.indices)


def _pad_rows(rows: Sequence[tuple[list[int], list[int]]], pad_id: int) -> SequenceBatch:
    """Right-pad (prompt, completion) rows; targets are next tokens, masked to completion tokens."""
    width = max(len(p) + len(c) for p, c in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.int64)
    attention = torch.zeros((len(rows), width), dtype=torch.int64)
    loss_mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for row, (prompt, completion) in enumerate(rows):
        tokens = prompt + completion
        ids[row, : len(tokens)] = torch.tensor(tokens)
        attention[row, : len(tokens)] = 1
        # position t predicts token t+1: the loss covers predictions of completion tokens.
        loss_mask[row, len(prompt) - 1 : len(tokens) - 1] = True
    targets = torch.full_like(ids, pad_id)
    targets[:, :-1] = ids[:, 1:]
    return SequenceBatch(ids, attention, targets, loss_mask)


def collate_pairs(pairs: Sequence[TokenizedPair], indices: Sequence[int], pad_id: int) -> PreferenceBatch:
    """Pairs as 2n padded rows (chosen first) with completion lengths and dataset indices."""
    rows = [(p.prompt, p.chosen) for p in pairs] + [(p.prompt, p.rejected) for p in pairs]
    lengths = torch.tensor([len(c) for _, c in rows], dtype=torch.float32)
    return PreferenceBatch(
        _pad_rows(rows, pad_id), lengths, torch.as_tensor(np.asarray(indices), dtype=torch.int64)
    )


def _pack_bins(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Best-fit decreasing: each example goes into the fullest row that still has room."""
    bins: list[list[int]] = []
    free: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        fits = [b for b in range(len(bins)) if free[b] >= lengths[index]]
        if fits:
            best = min(fits, key=lambda b: (free[b], b))
            bins[best].append(index)
            free[best] -= lengths[index]
        else:
            bins.append([index])
            free.append(capacity - lengths[index])
    return bins


def collate_sequences(
    sequences: Sequence[TokenizedSequence],
    pad_id: int,
    *,
    completion_only: bool,
    packing: bool,
    max_length: int,
) -> SequenceBatch:
    """SFT rows: padded one per example, or packed several per row with a block-diagonal mask."""
    rows = [
        (s.prompt, s.completion) if completion_only else (s.prompt[:1], s.prompt[1:] + s.completion)
        for s in sequences
    ]
    if not packing:
        return _pad_rows(rows, pad_id)
    bins = _pack_bins([len(p) + len(c) for p, c in rows], max_length)
    width = max(sum(len(rows[i][0]) + len(rows[i][1]) for i in b) for b in bins)
    ids = torch.full((len(bins), width), pad_id, dtype=torch.int64)
    targets = torch.full_like(ids, pad_id)
    loss_mask = torch.zeros((len(bins), width), dtype=torch.bool)
    positions = torch.zeros_like(ids)
    segment = torch.full((len(bins), width), -1, dtype=torch.int64)
    for row, members in enumerate(bins):
        cursor = 0
        for member in members:
            prompt, completion = rows[member]
            tokens = torch.tensor(prompt + completion)
            end = cursor + len(tokens)
            ids[row, cursor:end] = tokens
            targets[row, cursor : end - 1] = tokens[1:]
            loss_mask[row, cursor + len(prompt) - 1 : end - 1] = True
            positions[row, cursor:end] = torch.arange(len(tokens))
            segment[row, cursor:end] = member
            cursor = end
    causal = torch.tril(torch.ones(width, width, dtype=torch.bool))
    allowed = causal & (segment[:, :, None] == segment[:, None, :]) & (segment[:, :, None] >= 0)
    allowed |= torch.eye(width, dtype=torch.bool)  # padding rows attend to themselves: no all-masked softmax
    additive = torch.zeros(allowed.shape, dtype=torch.float32).masked_fill(
        ~allowed, torch.finfo(torch.float32).min
    )
    return SequenceBatch(ids, additive[:, None], targets, loss_mask, positions)


def iterate_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of ``items`` of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
