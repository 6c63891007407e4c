"""[tool.auditor.coverage]: the coverage check's own config section (unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

import pydantic

from auditor.interface import CheckConfig
from auditor.sandbox import SandboxOptions


class CoverageConfig(CheckConfig, SandboxOptions):
    # Total coverage (coverage.py's own figure) under this percentage is COV001 (high).
    threshold: float = pydantic.Field(default=80, ge=0, le=100)
    # Coverage of the lines changed since --base-ref under this percentage is COV003.
    diff_threshold: float = pydantic.Field(default=80, ge=0, le=100)
    # The test command, run under `coverage run` in the repo's environment: "pytest -q tests/unit",
    # "python manage.py test", "python -m unittest". None: pytest, or `manage.py test` for a Django
    # project without pytest configuration.
    command: str | None = None
    # Seconds the test run may take (also bounded by the check's deadline).
    timeout: float = pydantic.Field(default=600, gt=0)
    # auto: use coverage data already in the repo when it is newer than every source file, else run the
    # tests; never: always run the tests; only: never run the repo's code (error when no fresh data).
    use_existing: Literal["auto", "never", "only"] = "auto"
    # What to measure, as coverage's --source (repo-relative); None: the repo's own coverage config, or
    # the whole repo when that sets no source.
    source: list[str] | None = None
    # Extra `coverage run --omit` patterns (the repo's own config is honoured as well).
    omit: list[str] = []
