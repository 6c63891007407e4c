"""[tool.auditor.dependencies]: the dependencies check's own config section (unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

import pydantic

from auditor.interface import CheckConfig


class DependenciesConfig(CheckConfig):
    # auto: the offline OSV database when --vuln-db is given (no network at all), else pip-audit online.
    source: Literal["auto", "pip-audit", "osv"] = "auto"
    # pip-audit's vulnerability service; osv_url (an OSV-API-compatible /v1/query endpoint, e.g. a
    # mirror) implies "osv".
    service: Literal["pypi", "osv"] = "pypi"
    osv_url: str | None = None
    # Whole pip-audit run, seconds (also bounded by the check's deadline).
    timeout: float = pydantic.Field(default=120, gt=0)
    # true: packages left unaudited make the check "error" (CI that must audit); false: "warn".
    require_audit: bool = False
    # Extra manifests (repo-relative) beyond the ones found by name, and directories to leave out.
    manifests: list[str] = []
    exclude: list[str] = []
    # Manifests or OSV records larger than this are not read (reported).
    max_file_bytes: int = pydantic.Field(default=5_000_000, gt=0)

    @pydantic.field_validator("osv_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value
