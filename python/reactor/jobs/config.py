"""Settings of the job system (``[jobs]`` in the config file, ``REACTOR_JOBS_*`` in the environment)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["JobsSettings", "QueueSettings"]


class QueueSettings(BaseModel):
    """A named queue: a default night-shift window and whether its jobs are load-gated."""

    model_config = {"extra": "forbid"}

    window: str | None = Field(default=None, description="e.g. '22:00-06:00'; jobs start only inside it.")
    tz: str = Field(default="UTC", description="IANA time zone of the window, e.g. 'Europe/Berlin'.")
    heavy: bool = Field(default=False, description="Jobs run only while the load gate is open.")
    priority: float = Field(default=0.0, description="Added to each job's priority.")


class JobsSettings(BaseSettings):
    """How the daemon runs jobs on this machine."""

    model_config = SettingsConfigDict(env_prefix="REACTOR_JOBS_", extra="forbid")

    cpus: float = Field(
        default_factory=lambda: float(os.cpu_count() or 1), gt=0, description="Node capacity."
    )
    memory_mib: float = Field(default=1 << 20, gt=0, description="Node memory capacity (MiB).")
    gpus: float = Field(default=0.0, ge=0, description="Node GPU capacity.")
    poll_interval: float = Field(default=0.2, gt=0, le=60, description="Seconds between daemon ticks.")
    lease_seconds: float = Field(default=30.0, gt=0, description="A running job's lease; renewed every tick.")
    kill_grace: float = Field(default=10.0, ge=0, description="Seconds between SIGTERM and SIGKILL.")
    backoff_base: float = Field(default=2.0, ge=0, description="First retry delay (seconds).")
    backoff_max: float = Field(default=600.0, ge=0, description="Largest retry delay (seconds).")
    backoff_jitter: float = Field(default=0.5, ge=0, le=1, description="Relative random spread of a delay.")
    seed: int = Field(default=0, ge=0, description="Seed of the backoff jitter.")
    load_threshold: float | None = Field(
        default=None, gt=0, description="Heavy jobs run only below this load."
    )
    load_probe: str | None = Field(
        default=None, description="Command printing a load number (default: loadavg)."
    )
    aging_per_hour: float = Field(default=1.0, ge=0)
    fairshare_weight: float = Field(default=10.0, ge=0)
    tenant_weights: dict[str, float] = Field(default_factory=dict)
    queues: dict[str, QueueSettings] = Field(default_factory=dict)
    executor: Literal["local", "ray"] = Field(
        default="local", description="Where attempts run: subprocesses here, or Ray Jobs."
    )
    ray_address: str | None = Field(
        default=None, description="Ray dashboard URL for executor 'ray', e.g. http://127.0.0.1:8265."
    )
