"""Placeholder while the openapi check is built; replaced by the real check in its issue."""

from __future__ import annotations

from typing import ClassVar

from auditor.interface import AuditContext, CheckConfig, CheckSkipped, Safety
from auditor.model import Outcome, Section


class OpenApiCheck:
    id: ClassVar[str] = "openapi"
    title: ClassVar[str] = "OpenAPI documentation and conformance"
    section: ClassVar[Section] = Section.OPENAPI
    needs: ClassVar[frozenset[str]] = frozenset({"service", "spec"})
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[CheckConfig]] = CheckConfig

    def run(self, ctx: AuditContext) -> Outcome:
        raise CheckSkipped("not built yet")
