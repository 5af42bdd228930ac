"""Configuration: one pydantic model per component, filled from defaults, a config file
(TOML or YAML), ``REACTOR_*`` environment variables and explicit overrides, in that order of
increasing precedence. Invalid values fail at load time with the field path.

Example::

    settings = load_config(CoreSettings, section="core", path="reactor.toml")

with ``reactor.toml`` containing ``[core]`` and ``num_threads = 4``. The file may also be named by
``$REACTOR_CONFIG``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from reactor.errors import ConfigError
from reactor.paths import reactor_home

__all__ = ["CoreSettings", "load_config", "read_config_file"]

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class CoreSettings(BaseSettings):
    """Process-wide settings (env: ``REACTOR_HOME``, ``REACTOR_NUM_THREADS``, ``REACTOR_LOG_LEVEL``)."""

    model_config = SettingsConfigDict(env_prefix="REACTOR_", extra="forbid")

    home: Path = Field(default_factory=reactor_home, description="Directory for all on-disk state.")
    num_threads: int | None = Field(
        default=None, ge=1, le=1024, description="Engine thread-pool size; default: all hardware threads."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file into a dict."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {str(file)!r} does not exist")
    suffix = file.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        else:
            raise ConfigError(
                f"config file {str(file)!r}: unsupported extension {suffix!r} (use .toml or .yaml)"
            )
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"config file {str(file)!r} is not valid {suffix[1:].upper()}: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {str(file)!r}: top level must be a table/mapping, got {type(data).__name__}"
        )
    return data


def load_config(
    model: type[SettingsT],
    *,
    section: str,
    path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> SettingsT:
    """Build ``model`` from defaults < file ``[section]`` < ``REACTOR_*`` env < ``overrides``.

    ``path`` defaults to ``$REACTOR_CONFIG`` when set. Raises :class:`ConfigError` naming the field
    path (``section.field``) for any invalid value.
    """
    path = path if path is not None else os.environ.get("REACTOR_CONFIG") or None
    file_values: dict[str, Any] = {}
    if path is not None:
        section_data = read_config_file(path).get(section, {})
        if not isinstance(section_data, dict):
            raise ConfigError(
                f"{section}: expected a table in {str(path)!r}, got {type(section_data).__name__}"
            )
        file_values = dict(section_data)
    # pydantic-settings ranks constructor arguments above the environment; drop file values that
    # the environment sets so the documented order (env beats file) holds.
    prefix = str(model.model_config.get("env_prefix", "")).upper()
    env_fields = {name for name in model.model_fields if f"{prefix}{name}".upper() in os.environ}
    values = {key: value for key, value in file_values.items() if key not in env_fields}
    values.update(overrides or {})
    try:
        return model(**values)
    except ValidationError as error:
        problems = "; ".join(_describe_issue(section, issue) for issue in error.errors())
        raise ConfigError(f"invalid configuration: {problems}") from error


def _describe_issue(section: str, issue: Mapping[str, Any]) -> str:
    field_path = ".".join([section, *(str(part) for part in issue["loc"])])
    return f"{field_path}: {issue['msg']} (got {issue.get('input')!r})"
