"""[tool.auditor.health]: the health check's own config section (unknown keys are errors)."""

from __future__ import annotations

import pydantic

from auditor.interface import CheckConfig


class HealthConfig(CheckConfig):
    # Paths to try for each role; when given they replace the built-in list and the spec's paths.
    liveness: list[str] | None = None
    readiness: list[str] | None = None
    # A path on the service, or the full URL of a separate metrics server (http://127.0.0.1:9090/metrics).
    metrics_path: str = "/metrics"
    # A health probe slower than this (best of up to 3 tries) is a finding.
    max_response_ms: float = pydantic.Field(default=500, gt=0)
    require_metrics: bool = True
    require_readiness: bool = True

    @pydantic.field_validator("metrics_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        if value.startswith(("http://", "https://")):
            return value   # metrics served by a separate server (prometheus_client.start_http_server)
        return value if value.startswith("/") else "/" + value
