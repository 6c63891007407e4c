"""[tool.auditor.latency]: the latency check's own config section (unknown keys are errors).

The core options --load-rate, --load-duration, --load-workers and --locustfile (ctx.settings) win over
rate, duration, workers and locustfile here; None there means "use this section's value"."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pydantic

from auditor.interface import CheckConfig

# Hard ceilings: whatever the flags or config say, one audit never sends more than this.
MAX_RATE = 2000.0          # requests per second
MAX_DURATION_S = 300.0     # seconds of measured load
MAX_WARMUP_S = 60.0
MAX_WORKERS = 16
MAX_ROUNDS = 10


class EndpointBudget(CheckConfig):
    """Per-endpoint overrides, keyed by "METHOD /path/{template}" in [tool.auditor.latency.endpoints]."""

    p95_ms: float | None = pydantic.Field(None, gt=0)
    error_rate: float | None = pydantic.Field(None, ge=0, le=1)
    weight: int | None = pydantic.Field(None, ge=0, le=1000)   # 0 leaves the endpoint out


class ExtraRequest(CheckConfig):
    """An extra GET to include in the traffic, e.g. a search with realistic parameters."""

    path: str                      # "/books?author_id=3" (the spec's base path is not added)
    name: str | None = None        # the endpoint it counts as; default "GET <path without query>"
    weight: int = pydantic.Field(1, ge=1, le=1000)

    @pydantic.field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value


class LatencyConfig(CheckConfig):
    mode: Literal["open", "closed"] = "open"
    # Defaults keep `audit demo` quick and under the sample service's 600 requests/minute per client.
    rate: float = pydantic.Field(40.0, gt=0, le=MAX_RATE)             # requests per second (open model)
    # Measured seconds, all rounds together; None = sized (sizing.py): enough for min_samples on every
    # endpoint at this rate, at most duration_budget.
    duration: float | None = pydantic.Field(None, gt=0, le=MAX_DURATION_S)
    duration_budget: float = pydantic.Field(60.0, gt=0, le=MAX_DURATION_S)
    # The measured load runs as this many consecutive rounds, every endpoint in each; a verdict needs
    # the rounds to agree (each round's p95 on the same side of the budget).
    rounds: int = pydantic.Field(3, ge=1, le=MAX_ROUNDS)
    warmup: float = pydantic.Field(1.0, ge=0, le=MAX_WARMUP_S)        # seconds excluded before measuring
    workers: int = pydantic.Field(0, ge=0, le=MAX_WORKERS)            # local locust workers (0 = in-process)
    locustfile: Path | None = None
    locust_users: int = pydantic.Field(10, ge=1, le=1000)             # users of a --locustfile run
    # Gates.
    p95_ms: float = pydantic.Field(100.0, gt=0)
    error_rate: float = pydantic.Field(0.01, ge=0, le=1)
    endpoints: dict[str, EndpointBudget] = {}
    # Insufficient data: fewer samples than this for an endpoint, or the generator not keeping up. 100 for
    # the p95 gate: about 5 samples above p95 (sizing.py says why).
    min_samples: int = pydantic.Field(100, ge=1)
    max_generator_cpu: float = pydantic.Field(0.9, gt=0, le=1)        # share of one core per process
    max_late_ratio: float = pydantic.Field(0.05, ge=0, le=1)          # requests sent > late_ms late
    late_ms: float = pydantic.Field(25.0, gt=0)
    max_throttled_ratio: float = pydantic.Field(0.01, ge=0, le=1)     # 429 answers tolerated
    # The machine is "saturated" (health.py) when, over the measured window, its CPUs were this busy, this
    # many tasks per core waited to run, this share of CPU time was stolen by the hypervisor, or the
    # generator's timers fired this late (p99).
    saturation_cpu: float = pydantic.Field(0.9, gt=0, le=1)
    saturation_runnable: float = pydantic.Field(1.0, gt=0)
    max_steal: float = pydantic.Field(0.1, ge=0, le=1)
    max_scheduling_lag_ms: float = pydantic.Field(20.0, gt=0)
    # Connection cost (conncost.py): this many interleaved pairs of requests per endpoint, one on a fresh
    # connection and one on a kept-alive one (0 = not measured), within connection_budget seconds in all;
    # a median difference of at least connection_cost_ms (and a sign test at 1 %) is LAT004.
    connection_pairs: int = pydantic.Field(12, ge=0, le=100)
    connection_budget: float = pydantic.Field(10.0, gt=0, le=120)
    connection_cost_ms: float = pydantic.Field(20.0, gt=0)
    # Traffic.
    exclude: list[str] = []            # "METHOD /path" endpoints to leave out
    extra: list[ExtraRequest] = []
    # Generator limits.
    request_timeout: float = pydantic.Field(10.0, gt=0, le=120)
    connect_timeout: float = pydantic.Field(3.0, gt=0, le=60)
    max_in_flight: int = pydantic.Field(500, ge=1, le=10_000)
    # Closed-model capacity ramp: users 1, 2, 4, ... each for step_duration (after step_warmup).
    max_users: int = pydantic.Field(64, ge=1, le=1024)
    step_duration: float = pydantic.Field(2.0, gt=0, le=60)
    step_warmup: float = pydantic.Field(0.5, ge=0, le=10)
    master_port: int = pydantic.Field(0, ge=0, le=65535)              # 0 = any free port
    # Workers on other machines (`locust -f checks/latency/locustfile.py --worker --master-host ...`):
    # the master waits for them too, and must then listen beyond loopback ("0.0.0.0").
    remote_workers: int = pydantic.Field(0, ge=0, le=64)
    master_bind: str = "127.0.0.1"

    @pydantic.field_validator("endpoints", mode="after")
    @classmethod
    def _endpoint_keys(cls, value: dict[str, EndpointBudget]) -> dict[str, EndpointBudget]:
        return {normalise_endpoint(k): v for k, v in value.items()}

    @pydantic.field_validator("exclude", mode="after")
    @classmethod
    def _exclude_keys(cls, value: list[str]) -> list[str]:
        return [normalise_endpoint(v) for v in value]


def normalise_endpoint(key: str) -> str:
    """ "get  /books/{id}" -> "GET /books/{id}"; a bare path means GET."""
    parts = key.split()
    if len(parts) == 1:
        parts = ["GET", parts[0]]
    if len(parts) != 2 or not parts[1].startswith("/"):
        raise ValueError(f"{key!r} is not 'METHOD /path'")
    return f"{parts[0].upper()} {parts[1]}"
