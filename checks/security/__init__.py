"""security: security of code and service — BEING BUILT (its issue); registered so the entry point resolves."""

from checks.security.check import SecurityCheck

__all__ = ["SecurityCheck"]
