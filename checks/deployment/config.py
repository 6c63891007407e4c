"""[tool.auditor.deployment]: the deployment check's own config section (unknown keys are errors)."""

from __future__ import annotations

import pydantic

from auditor.interface import CheckConfig


class DeploymentConfig(CheckConfig):
    # A repo without a Dockerfile is DPL001 (high); false for services deployed otherwise (buildpacks, ...).
    require_dockerfile: bool = True
    # Stop the --serve'd service with SIGTERM while requests are in flight (only when no later check
    # needs the service); false: judge graceful shutdown statically only.
    measure_shutdown: bool = True
    # The path requested while SIGTERM arrives; default: the readiness path the health check found, else
    # its liveness path, else "/".
    shutdown_path: str | None = None
    # Requests in flight when SIGTERM is sent (each on its own kept-alive connection).
    shutdown_requests: int = pydantic.Field(default=3, ge=1, le=20)
    # Share of the service's non-empty output lines that must be JSON objects for "structured logs".
    json_log_min_share: float = pydantic.Field(default=0.9, gt=0, le=1)
    # Extra file names (repo-relative globs) that count as a runbook / operations doc.
    runbook_paths: list[str] = []

    @pydantic.field_validator("shutdown_path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value if value.startswith("/") else "/" + value
