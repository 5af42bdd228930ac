"""Text normalisation: Unicode NFC/NFKC and whitespace folding (a transforming stage)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from reactor.data.ledger import LedgerEntry
from reactor.data.stages.base import Batch, Features, Stage, StageResult
from reactor.errors import InvalidArgumentError

__all__ = ["NormaliseStage"]


@dataclass(frozen=True)
class _Normaliser:
    unicode_form: str
    collapse_whitespace: bool
    strip: bool

    def __call__(self, texts: list[str]) -> Features:
        out = np.empty(len(texts), dtype=object)
        for i, text in enumerate(texts):
            if self.unicode_form != "none":
                text = unicodedata.normalize(self.unicode_form, text)
            if self.collapse_whitespace:
                text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
            out[i] = text.strip() if self.strip else text
        return {"text": out}


class NormaliseStage(Stage):
    """Unicode normalisation (NFC/NFKC) and whitespace folding; changed documents are logged."""

    name = "normalise"

    def __init__(
        self,
        unicode_form: Literal["NFC", "NFKC", "none"] = "NFKC",
        *,
        collapse_whitespace: bool = True,
        strip: bool = True,
    ) -> None:
        if unicode_form not in ("NFC", "NFKC", "none"):
            raise InvalidArgumentError(
                f"[data.normalise] unicode_form must be NFC, NFKC or none, got {unicode_form!r}"
            )
        self._fn = _Normaliser(unicode_form, collapse_whitespace, strip)

    def featurizer(self) -> Callable[[list[str]], Features]:
        """The normalised texts."""
        return self._fn

    def decide(self, batch: Batch, features: Features) -> StageResult:
        """Keep everything; replace texts; log the changed ones."""
        new = [str(t) for t in features["text"]]
        entries = [
            LedgerEntry(batch.ids[i], self.name, "normalise", int(batch.positions[i]), action="changed")
            for i, (old, text) in enumerate(zip(batch.texts, new, strict=True))
            if old != text
        ]
        return StageResult(np.ones(len(batch), dtype=bool), entries, new)
