"""[tool.auditor.nplusone]: the nplusone check's own config section (unknown keys are errors)."""

from __future__ import annotations

import pydantic

from auditor.interface import CheckConfig


class NPlusOneConfig(CheckConfig):
    # The same shape with different values this many times in one request is a potential N+1 (Sentry, Scout).
    threshold: int = pydantic.Field(default=5, ge=2)
    # From this many (and below threshold) it is reported as info (django-silk flags at 3).
    info_threshold: int = pydantic.Field(default=3, ge=2)
    # A group of 2-8 statements repeated back to back this many times is an MN+1.
    group_repeats: int = pydantic.Field(default=3, ge=2)
    # Total time of the repeats at or above which the severity is raised (Sentry: 50 ms).
    slow_ms: float = pydantic.Field(default=50.0, gt=0)
    # The two page sizes of the scaling proof (clamped to the parameter's documented bounds).
    small_page: int = pydantic.Field(default=5, ge=1)
    large_page: int = pydantic.Field(default=20, ge=2)
    # Operations not to request, as "GET /path/{template}" strings.
    exclude: list[str] = []
    # At most this many operations are profiled (the spec's order).
    max_operations: int = pydantic.Field(default=100, ge=1)
    # Requests profiled at once when every statement is attributed by the request's own trace (exact at any
    # concurrency); other sources bracket each request, so they always get one at a time.
    concurrency: int = pydantic.Field(default=4, ge=1, le=16)
    # How long to wait for a request's SQL to reach the log after the response (seconds).
    settle_s: float = pydantic.Field(default=1.0, gt=0, le=30)
    # Trace a service the auditor starts (--serve) with OpenTelemetry: its own SDK when its interpreter has
    # one, else the auditor's shim (SQLAlchemy, Django, Flask, Starlette), exporting to the auditor's receiver.
    # Nothing is written into the app. false: no instrumentation (the SQL comes from a log or --db-url).
    instrument: bool = True
    # Which SQL source: "auto" (traces, then --db-url, then --sql-log, then the --serve'd output), "traces",
    # "postgres", "mariadb" (--db-url of that server) or "log".
    source: str = pydantic.Field(default="auto", pattern="^(auto|traces|postgres|mariadb|log)$")

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> NPlusOneConfig:
        if self.info_threshold > self.threshold:
            raise ValueError("info_threshold must not exceed threshold")
        if self.small_page * 2 > self.large_page:
            raise ValueError("large_page must be at least twice small_page")
        return self
