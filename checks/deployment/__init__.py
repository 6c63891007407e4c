"""deployment: deployment checklist — BEING BUILT (its issue); registered so the entry point resolves."""

from checks.deployment.check import DeploymentCheck

__all__ = ["DeploymentCheck"]
