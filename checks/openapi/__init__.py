"""openapi: openapi documentation and conformance — BEING BUILT (its issue); registered so the entry point resolves."""

from checks.openapi.check import OpenApiCheck

__all__ = ["OpenApiCheck"]
