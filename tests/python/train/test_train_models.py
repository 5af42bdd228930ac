from __future__ import annotations

import json

import pytest
import torch
from trainer_helpers import TRAIN_TOPICS, polite_pairs

from reactor.train import ByteTokenizer, ModelConfig, SFTConfig, SFTTrainer, build_model, build_tokenizer
from reactor.train.config import DPOConfig
from reactor.train.runner import run_dpo, run_sft
from reactor.train.tokenizer import HFTokenizer


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


SMALL = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64}


def test_sft_then_dpo_from_the_exported_model(tmp_path):
    pairs = polite_pairs(TRAIN_TOPICS, 16, 0)
    _write_jsonl(tmp_path / "sft.jsonl", [{"prompt": p["prompt"], "completion": p["chosen"]} for p in pairs])
    _write_jsonl(tmp_path / "pairs.jsonl", pairs)
    train = {"max_steps": 2, "batch_size": 4, "progress": False}
    sft = SFTConfig.model_validate(
        {
            "model": SMALL,
            "data": {"train": str(tmp_path / "sft.jsonl")},
            "train": {**train, "output_dir": str(tmp_path / "sft")},
        }
    )
    run_sft(sft)
    exported = tmp_path / "sft" / "model"
    dpo = DPOConfig.model_validate(
        {
            "model": {"pretrained": str(exported)},
            "data": {"train": str(tmp_path / "pairs.jsonl")},
            "train": {**train, "output_dir": str(tmp_path / "dpo")},
        }
    )
    assert isinstance(build_tokenizer(dpo.model), ByteTokenizer)  # the marker written on export
    loaded = build_model(dpo.model, build_tokenizer(dpo.model), seed=123)
    from safetensors.torch import load_file

    saved = load_file(exported / "model.safetensors")
    for name, tensor in saved.items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    result = run_dpo(dpo)
    assert result.metrics["loss"] < 0.7
    assert (tmp_path / "dpo" / "model" / "model.safetensors").exists()
    assert json.loads((tmp_path / "dpo" / "config.json").read_text())["model"]["pretrained"] == str(exported)


def _hf_tokenizer_dir(path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3}
    words = "can i have the door my book please thank you no here is user assistant : ? , ."
    for word in words.split():
        vocab[word] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    fast.chat_template = (
        "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} </s> {% endfor %}"
        "{% if add_generation_prompt %}assistant : {% endif %}"
    )
    fast.save_pretrained(str(path))
    return path


def test_hugging_face_tokenizer_with_its_chat_template(tmp_path):
    tok = HFTokenizer(_hf_tokenizer_dir(tmp_path / "tok"))
    ids = tok.chat_prompt([{"role": "user", "content": "can i have the door ?"}])
    assert tok.decode(ids) == "user : can i have the door ? assistant :"
    assert ids[8] == tok.eos_id  # the template closes each turn with </s>
    model = build_model(ModelConfig(**SMALL), tok, seed=0)
    assert model.get_input_embeddings().num_embeddings == tok.vocab_size
    records = [
        {
            "messages": [
                {"role": "user", "content": "can i have my book ?"},
                {"role": "assistant", "content": "here is my book ."},
            ]
        }
    ] * 4
    config = SFTConfig.model_validate(
        {
            "model": SMALL,
            "train": {
                "max_steps": 2,
                "batch_size": 4,
                "progress": False,
                "output_dir": str(tmp_path / "run"),
            },
        }
    )
    metrics = SFTTrainer(model, tok, records, config=config).train().metrics
    assert metrics["loss"] > 0 and metrics["token_accuracy"] >= 0


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_both_architectures_build_from_a_config_with_the_seed(arch):
    tok = ByteTokenizer()
    config = ModelConfig(arch=arch, **SMALL)
    a, b, c = (build_model(config, tok, seed=s) for s in (0, 0, 1))
    first = next(iter(a.state_dict()))
    assert torch.equal(a.state_dict()[first], b.state_dict()[first])
    assert not torch.equal(a.state_dict()[first], c.state_dict()[first])
    before = torch.get_rng_state()
    build_model(config, tok, seed=5)
    assert torch.equal(before, torch.get_rng_state())  # building a model leaves the global RNG alone
    logits = a(input_ids=torch.randint(0, 256, (2, 9))).logits
    assert logits.shape == (2, 9, tok.vocab_size)
