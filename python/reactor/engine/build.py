"""What the engine was built with and what this machine offers."""

from __future__ import annotations

from dataclasses import dataclass

from reactor import _mlforge

__all__ = ["BuildInfo", "build_info", "cuda_available", "version"]


@dataclass(frozen=True)
class BuildInfo:
    """Engine build information (see ``mlforge::BuildInfo``)."""

    version: str
    compiler: str
    cxx_standard: str
    build_type: str
    simd: str
    cuda_compiled: bool
    cuda_available: bool
    cuda_device_count: int
    num_threads: int


def build_info() -> BuildInfo:
    """Return version, compiler, C++ standard, run-time SIMD level, CUDA status and thread count."""
    return BuildInfo(**_mlforge.build_info())


def cuda_available() -> bool:
    """True when the engine has CUDA compiled in and a GPU is usable; never raises."""
    return bool(_mlforge.cuda_available())


def version() -> str:
    """The MLForge library version (equal to the ``reactor`` package version)."""
    return str(_mlforge.version())
