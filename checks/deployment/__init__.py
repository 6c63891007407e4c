"""deployment: the deployment checklist (Dockerfile, base image, user, secrets, probes, .dockerignore,
configuration from the environment, graceful shutdown, JSON logs, health/metrics, runbook, CI)."""

from checks.deployment.check import DeploymentCheck
from checks.deployment.config import DeploymentConfig

__all__ = ["DeploymentCheck", "DeploymentConfig"]
