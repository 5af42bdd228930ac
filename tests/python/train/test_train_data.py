from __future__ import annotations

import numpy as np
import pytest
import torch

from reactor.errors import InvalidArgumentError
from reactor.train import ByteTokenizer
from reactor.train.data import (
    batch_indices,
    collate_pairs,
    collate_sequences,
    tokenize_pair,
    tokenize_sequence,
)

tok = ByteTokenizer()


def test_pair_batch_masks_prompt_and_padding():
    pairs = [
        tokenize_pair({"prompt": "Hi", "chosen": "yes!", "rejected": "no"}, tok, 64, 32),
        tokenize_pair({"prompt": "Hello there", "chosen": "ok", "rejected": "never mind"}, tok, 64, 32),
    ]
    batch = collate_pairs(pairs, [5, 9], tok.pad_id)
    rows = batch.sequences
    assert rows.input_ids.shape[0] == 4  # chosen, chosen, rejected, rejected
    for row, (prompt, completion) in enumerate(
        [(p.prompt, p.chosen) for p in pairs] + [(p.prompt, p.rejected) for p in pairs]
    ):
        # the masked targets are exactly the completion tokens (+ <eos>), nothing from the prompt or padding
        assert rows.targets[row][rows.loss_mask[row]].tolist() == completion
        assert completion[-1] == tok.eos_id
        assert rows.input_ids[row, : len(prompt)].tolist() == prompt
        assert rows.attention_mask[row].sum() == len(prompt) + len(completion)
    assert batch.completion_lengths.tolist() == [5, 3, 3, 11]
    assert batch.indices.tolist() == [5, 9]


def test_truncation_keeps_prompt_end_and_limits_length():
    pair = tokenize_pair({"prompt": "x" * 100 + "END", "chosen": "y" * 100, "rejected": "z"}, tok, 48, 16)
    assert len(pair.prompt) == 16 and tok.decode(pair.prompt).endswith("END")
    assert len(pair.prompt) + len(pair.chosen) == 48


def test_chat_messages_use_role_markers():
    seq = tokenize_sequence(
        {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]},
        tok,
        64,
        32,
    )
    assert seq.prompt == [tok.bos_id, tok.role_ids["user"], *b"2+2?", tok.eos_id, tok.role_ids["assistant"]]
    assert seq.completion == [ord("4"), tok.eos_id]
    with pytest.raises(InvalidArgumentError, match="role"):
        tok.chat_prompt([{"role": "robot", "content": "x"}])
    with pytest.raises(InvalidArgumentError, match="assistant"):
        tokenize_sequence({"messages": [{"role": "user", "content": "hi"}]}, tok, 64, 32)


def test_batch_order_is_a_function_of_seed_and_step():
    n, batch = 10, 4
    stream = np.concatenate([batch_indices(n, batch, step, seed=3) for step in range(5)])  # 20 = two epochs
    assert sorted(stream[:10]) == list(range(10)) and sorted(stream[10:20]) == list(range(10))
    assert not np.array_equal(stream[:10], stream[10:20])  # a new permutation each epoch
    assert np.array_equal(batch_indices(n, batch, 3, seed=3), stream[12:16])
    assert not np.array_equal(batch_indices(n, batch, 0, seed=4), stream[:4])


def test_packing_is_equivalent_to_padding():
    """Packed rows with a block-diagonal mask give each example exactly its unpacked log-probs."""
    from reactor.kernels import sequence_logprobs
    from reactor.train import ModelConfig, build_model

    model = build_model(
        ModelConfig(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), tok, seed=0
    )
    seqs = [
        tokenize_sequence({"prompt": p, "completion": c}, tok, 40, 20)
        for p, c in [("a", "bcdef"), ("hello", "world"), ("x", "y"), ("long prompt here", "and its answer")]
    ]
    padded = collate_sequences(seqs, tok.pad_id, completion_only=True, packing=False, max_length=40)
    packed = collate_sequences(seqs, tok.pad_id, completion_only=True, packing=True, max_length=40)
    assert packed.input_ids.shape[0] < len(seqs)
    assert packed.num_loss_tokens == padded.num_loss_tokens

    def total(batch):
        logits = model(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=batch.position_ids
        ).logits
        return sequence_logprobs(logits.contiguous(), batch.targets, batch.loss_mask).sum()

    with torch.no_grad():
        torch.testing.assert_close(total(packed), total(padded), rtol=1e-5, atol=1e-5)


def test_full_sequence_loss_when_not_completion_only():
    seq = tokenize_sequence({"prompt": "ab", "completion": "c"}, tok, 16, 8)
    batch = collate_sequences([seq], tok.pad_id, completion_only=False, packing=False, max_length=16)
    assert batch.targets[0][batch.loss_mask[0]].tolist() == [*b"abc", tok.eos_id]
