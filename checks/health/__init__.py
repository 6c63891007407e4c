"""health: liveness, readiness and metrics endpoints of the running service (rule ids HLT###).

Gather (check.py: GETs through ctx.http) then judge (endpoints.py, metrics.py, metrics_lint.py: pure
functions over what was gathered). Rules: rules.py, mirrored in docs/checks/health.md."""

from checks.health.check import HealthCheck
from checks.health.config import HealthConfig

__all__ = ["HealthCheck", "HealthConfig"]
