from __future__ import annotations

import random

POLITE = ["please", "thank you", "kindly", "gladly", "with pleasure", "of course", "certainly", "happily"]
RUDE = ["no", "go away", "whatever", "not now", "stop asking", "leave me", "never", "get lost"]


def polite_pairs(topics: list[str], count: int, seed: int) -> list[dict[str, str]]:
    """Synthetic preferences with a clear rule: a polite answer beats a rude one."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        topic = rng.choice(topics)
        pairs.append(
            {
                "prompt": f"Can I have {topic}? ",
                "chosen": f"{rng.choice(POLITE)}, here is {topic}.",
                "rejected": f"{rng.choice(RUDE)}, {topic}.",
            }
        )
    return pairs


TRAIN_TOPICS = ["the door", "my book", "the report", "some water", "the map", "a pen", "the key", "a chair"]
HELDOUT_TOPICS = ["the ladder", "your phone", "a blanket", "the recipe", "some bread"]


def tiny_config(kind, tmp_path, **train):
    """A tiny Llama (1 layer, width 32) run config writing to ``tmp_path``."""
    base = {
        "max_steps": 4,
        "batch_size": 4,
        "learning_rate": 1e-2,
        "progress": False,
        "output_dir": str(tmp_path),
        "lr_schedule": "constant",
    }
    return kind.model_validate(
        {
            "model": {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64},
            "data": {"max_length": 64, "max_prompt_length": 32},
            "train": {**base, **train},
        }
    )
