"""Constitutions for Constitutional AI (Bai et al. 2022): a list of principles, each a critique
request, a revision request and a multiple-choice question for AI feedback.

A constitution file is TOML::

    few_shot = ""            # optional: worked critique/revision examples prepended to those prompts

    [[principles]]
    name = "harmless"
    critique = "Identify ways in which the assistant's last response is harmful ..."
    revision = "Rewrite the assistant's response to remove any harmful ..."
    choice = "Which of these assistant responses is less harmful?"

:meth:`Constitution.default` is the constitution shipped with Reactor (``default_constitution.toml``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactor.errors import ConfigError, InvalidArgumentError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["DEFAULT_CONSTITUTION", "Constitution", "Principle"]

DEFAULT_CONSTITUTION = "default_constitution.toml"

_PRINCIPLE_FIELDS = ("name", "critique", "revision", "choice")
_TOP_LEVEL = ("name", "description", "few_shot", "principles")


@dataclass(frozen=True)
class Principle:
    """One principle: how to critique a response, how to revise it, and how to compare two."""

    name: str
    critique: str
    revision: str
    choice: str


@dataclass(frozen=True)
class Constitution:
    """An ordered, non-empty tuple of principles with unique names (and optional few-shot text)."""

    principles: tuple[Principle, ...]
    few_shot: str = ""
    name: str = ""
    source: str = "<memory>"

    def __post_init__(self) -> None:
        if not self.principles:
            raise ConfigError(f"[train.cai] {self.source}: the constitution has no principles")

    def __len__(self) -> int:
        return len(self.principles)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Constitution:
        """Read and validate a constitution TOML file; errors name the principle and field."""
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"[train.cai] constitution file {str(file)!r} does not exist")
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"[train.cai] {file}: not valid TOML ({error})") from error
        return cls.from_dict(data, source=str(file))

    @classmethod
    def default(cls) -> Constitution:
        """The constitution shipped with Reactor."""
        text = resources.files("reactor.train.cai").joinpath(DEFAULT_CONSTITUTION).read_text("utf-8")
        return cls.from_dict(tomllib.loads(text), source=f"<reactor {DEFAULT_CONSTITUTION}>")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<memory>") -> Constitution:
        """Validate parsed TOML: ``principles`` is a non-empty list of tables whose fields
        ``name``, ``critique``, ``revision`` and ``choice`` are non-empty strings.
        """
        unknown = sorted(set(data) - set(_TOP_LEVEL))
        if unknown:
            raise ConfigError(f"[train.cai] {source}: unknown top-level key(s) {unknown}")
        for key in ("name", "description", "few_shot"):
            if key in data and not isinstance(data[key], str):
                raise ConfigError(
                    f"[train.cai] {source}: {key} must be a string, got {type(data[key]).__name__}"
                )
        raw = data.get("principles")
        if raw is None:
            raise ConfigError(f"[train.cai] {source}: no [[principles]] defined")
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"[train.cai] {source}: principles must be a non-empty array of tables")
        principles: list[Principle] = []
        seen: dict[str, int] = {}
        for index, entry in enumerate(raw):
            where = f"[train.cai] {source}: principles[{index}]"
            if not isinstance(entry, dict):
                raise ConfigError(f"{where} must be a table, got {type(entry).__name__}")
            label = entry.get("name")
            if isinstance(label, str) and label.strip():
                where += f" ({label.strip()!r})"
            extra = sorted(set(entry) - set(_PRINCIPLE_FIELDS))
            if extra:
                raise ConfigError(f"{where}: unknown field(s) {extra} (expected {list(_PRINCIPLE_FIELDS)})")
            values = {}
            for field in _PRINCIPLE_FIELDS:
                if field not in entry:
                    raise ConfigError(f"{where}: field {field!r} is missing")
                value = entry[field]
                if not isinstance(value, str):
                    raise ConfigError(
                        f"{where}: field {field!r} must be a string, got {type(value).__name__}"
                    )
                if not value.strip():
                    raise ConfigError(f"{where}: field {field!r} is empty")
                values[field] = value.strip()
            if values["name"] in seen:
                raise ConfigError(
                    f"{where}: name {values['name']!r} repeats principles[{seen[values['name']]}]"
                )
            seen[values["name"]] = index
            principles.append(Principle(**values))
        return cls(
            tuple(principles),
            few_shot=str(data.get("few_shot", "")).strip(),
            name=str(data.get("name", "")),
            source=source,
        )

    def sample(self, rng: np.random.Generator, count: int) -> list[Principle]:
        """``count`` distinct principles drawn at random by ``rng``."""
        if not 1 <= count <= len(self.principles):
            raise InvalidArgumentError(
                f"[train.cai] cannot draw {count} distinct principles from a constitution of "
                f"{len(self.principles)}"
            )
        picks = rng.choice(len(self.principles), size=count, replace=False)
        return [self.principles[int(i)] for i in picks]

    def names(self) -> Sequence[str]:
        """The principles' names, in order."""
        return [p.name for p in self.principles]
