"""A byte-level tokenizer with a chat template: nothing to download, every string encodable.

Ids 0-255 are the UTF-8 bytes; then ``<pad>``, ``<bos>``, ``<eos>`` and one marker per chat role.
Any tokenizer with the same few members (for example a Hugging Face tokenizer wrapped by
:class:`HFTokenizer`) can stand in for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from reactor.errors import InvalidArgumentError

__all__ = ["ByteTokenizer", "HFTokenizer", "Tokenizer"]

ROLES = ("system", "user", "assistant")


class Tokenizer(Protocol):
    """What the trainers need from a tokenizer."""

    vocab_size: int
    pad_id: int
    bos_id: int
    eos_id: int

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens added)."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``; special tokens are dropped."""
        ...

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """Ids of a conversation followed by the assistant turn's opening (the generation prompt)."""
        ...


class ByteTokenizer:
    """UTF-8 bytes plus special tokens; ``vocab_size`` = 256 + 3 + one per chat role."""

    def __init__(self) -> None:
        self.pad_id = 256
        self.bos_id = 257
        self.eos_id = 258
        self.role_ids = {role: 259 + index for index, role in enumerate(ROLES)}
        self.vocab_size = 259 + len(ROLES)

    def encode(self, text: str) -> list[int]:
        """UTF-8 bytes of ``text`` as ids."""
        return list(text.encode("utf-8"))

    def decode(self, ids: Sequence[int]) -> str:
        """Text of the byte ids in ``ids`` (special ids dropped, invalid UTF-8 replaced)."""
        return bytes(int(i) for i in ids if 0 <= int(i) < 256).decode("utf-8", errors="replace")

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """``<bos>`` then, per message, its role marker, content and ``<eos>``; then ``<assistant>``."""
        ids = [self.bos_id]
        for index, message in enumerate(messages):
            role = message.get("role")
            if role not in self.role_ids:
                raise InvalidArgumentError(
                    f"[train.tokenizer] messages[{index}].role must be one of {list(ROLES)}, got {role!r}"
                )
            ids += [self.role_ids[role], *self.encode(str(message.get("content", ""))), self.eos_id]
        ids.append(self.role_ids["assistant"])
        return ids


class HFTokenizer:
    """A local Hugging Face tokenizer (``AutoTokenizer.from_pretrained(path)``) behind the same interface."""

    def __init__(self, path: str | Path) -> None:
        from transformers import AutoTokenizer

        self._tok: Any = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.vocab_size = len(self._tok)
        self.eos_id = int(self._tok.eos_token_id)
        self.bos_id = int(self._tok.bos_token_id if self._tok.bos_token_id is not None else self.eos_id)
        self.pad_id = int(self._tok.pad_token_id if self._tok.pad_token_id is not None else self.eos_id)

    def save(self, directory: Path) -> None:
        """Write the tokenizer files into ``directory``."""
        self._tok.save_pretrained(str(directory))

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens."""
        return list(self._tok.encode(text, add_special_tokens=False))

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` without special tokens."""
        return str(self._tok.decode(list(ids), skip_special_tokens=True))

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """The model's own chat template with the generation prompt."""
        text = self._tok.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
        return list(self._tok.encode(text, add_special_tokens=False))
