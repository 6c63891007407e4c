"""Placeholder while the security check is built; replaced by the real check in its issue."""

from __future__ import annotations

from typing import ClassVar

from auditor.interface import AuditContext, CheckConfig, CheckSkipped, Safety
from auditor.model import Outcome, Section


class SecurityCheck:
    id: ClassVar[str] = "security"
    title: ClassVar[str] = "Security of code and service"
    section: ClassVar[Section] = Section.SECURITY
    needs: ClassVar[frozenset[str]] = frozenset(set())
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[CheckConfig]] = CheckConfig

    def run(self, ctx: AuditContext) -> Outcome:
        raise CheckSkipped("not built yet")
