"""openapi: the OpenAPI document found, validated and judged for completeness, the endpoint inventory and
breaking changes against a baseline, and live conformance through schemathesis (safe by default)."""

from checks.openapi.check import OpenApiCheck

__all__ = ["OpenApiCheck"]
