"""[tool.auditor.openapi]: the openapi check's own config section (unknown keys are errors)."""

from __future__ import annotations

import re
from typing import Literal

import pydantic

from auditor.interface import CheckConfig

# The schemathesis checks the conformance run enables by default (the list). use_after_free and
# ensure_resource_availability need writes and are added only when writes are enabled.
DEFAULT_ST_CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                     "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
                     "positive_data_acceptance", "ignored_auth")
WRITE_ST_CHECKS = ("use_after_free", "ensure_resource_availability")
KNOWN_ST_CHECKS = (*DEFAULT_ST_CHECKS, *WRITE_ST_CHECKS, "missing_required_header", "unsupported_method",
                   "allow_header_conformance")
PHASES = ("examples", "coverage", "fuzzing")


class OpenApiConfig(CheckConfig):
    # Live conformance through schemathesis (needs a service URL); false = documentation only.
    conformance: bool = True
    # Generated examples per operation and phase: small by default, so a run takes seconds.
    max_examples: int = pydantic.Field(default=5, ge=1, le=1000)
    # Wall-time cap of the conformance run (the check's own deadline caps it too).
    conformance_seconds: float = pydantic.Field(default=60.0, gt=0, le=3600)
    request_timeout: float = pydantic.Field(default=5.0, gt=0, le=300)
    # schemathesis' syntax: "<count>/<s|m|h>", e.g. "20/s"; None = as fast as the service answers.
    rate_limit: str | None = None
    checks: list[str] = pydantic.Field(default_factory=lambda: list(DEFAULT_ST_CHECKS))
    phases: list[Literal["examples", "coverage", "fuzzing"]] = pydantic.Field(default_factory=lambda: list(PHASES))
    # Fuzz POST/PUT/PATCH/DELETE too. Honoured only when the audit may write (a loopback target without
    # --read-only, or [tool.auditor.safety] allow_writes = true); the report says when writes were sent.
    writes: bool = False
    # Operations ("GET /livez") or paths ("/metrics") that are not rate limited: OAS028/OAS035 skip them.
    # Health and metrics endpoints are exempt by convention without being listed.
    rate_limit_exempt: list[str] = []
    # false = the service has no rate limiting at all (OAS028/OAS035 do not apply); true = every operation
    # but the exempt ones is limited; None = rate limited when the document documents a 429 anywhere.
    rate_limited: bool | None = None

    @pydantic.field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+/[smh]", value.strip()):
            raise ValueError("expected '<count>/<s|m|h>', e.g. '20/s'")
        return value.strip() if value else value

    @pydantic.field_validator("checks")
    @classmethod
    def _checks(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in KNOWN_ST_CHECKS]
        if unknown:
            raise ValueError(f"unknown schemathesis check {unknown[0]!r} (known: {', '.join(KNOWN_ST_CHECKS)})")
        return value
