"""[tool.auditor.security]: the security check's own config section (unknown keys are errors)."""

from __future__ import annotations

import pydantic

from auditor.interface import CheckConfig

MAX_BURST = 2000  # hard cap of the opt-in rate-limit burst, whatever the config says


class SecurityConfig(CheckConfig):
    # Repository part.
    bandit: bool = True                 # run bandit on the repo's Python files
    secrets: bool = True                # scan the repo for committed secrets
    # Test code is not deployed: bandit's findings there (assert, hard-coded fixtures) are noise for a
    # readiness audit. Secrets are scanned in tests all the same (a committed key is committed).
    bandit_tests: bool = False
    exclude: list[str] = pydantic.Field(default_factory=list)  # extra fnmatch globs, repo-relative paths
    max_file_mb: float = pydantic.Field(default=2.0, gt=0, le=1024)
    bandit_timeout_s: float = pydantic.Field(default=120, gt=0)
    # detect-secrets reads about 1,500 lines a second: files left when this budget is spent are listed as
    # not scanned and the check is "warn" (never a silent pass).
    secrets_timeout_s: float = pydantic.Field(default=120, gt=0)
    # Service part.
    service: bool = True
    invalid_token: bool = True          # also probe secured operations with a bogus credential
    error_probes: int = pydantic.Field(default=40, ge=0, le=500)  # malformed-value requests, at most
    auth_probes: int = pydantic.Field(default=100, ge=0, le=1000)  # secured operations probed, at most
    # Public GET operations fetched once without credentials, at most: their bodies are judged for
    # credential material (password hashes, tokens of other users) handed to anonymous callers.
    exposure_probes: int = pydantic.Field(default=30, ge=0, le=1000)
    cors_origin: str = "https://backend-auditor-probe.invalid"
    # Opt-in: send this many GETs in a row to rate_limit_path (default: the first safe operation) and
    # expect a 429 with Retry-After. None = off (a burst can lock the audit out of the service).
    rate_limit_burst: int | None = pydantic.Field(default=None, ge=1, le=MAX_BURST)
    rate_limit_path: str | None = None

    @pydantic.field_validator("rate_limit_path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value if value.startswith("/") else "/" + value

    @pydantic.field_validator("cors_origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) origin such as https://example.invalid")
        return value.rstrip("/")
