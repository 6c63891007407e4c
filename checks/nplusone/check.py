"""Placeholder while the nplusone check is built; replaced by the real check in its issue."""

from __future__ import annotations

from typing import ClassVar

from auditor.interface import AuditContext, CheckConfig, CheckSkipped, Safety
from auditor.model import Outcome, Section


class NPlusOneCheck:
    id: ClassVar[str] = "nplusone"
    title: ClassVar[str] = "N+1 SQL queries"
    section: ClassVar[Section] = Section.PERFORMANCE
    needs: ClassVar[frozenset[str]] = frozenset({"service", "spec"})
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[CheckConfig]] = CheckConfig

    def run(self, ctx: AuditContext) -> Outcome:
        raise CheckSkipped("not built yet")
