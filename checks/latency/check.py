"""Placeholder while the latency check is built; replaced by the real check in its issue."""

from __future__ import annotations

from typing import ClassVar

from auditor.interface import AuditContext, CheckConfig, CheckSkipped, Safety
from auditor.model import Outcome, Section


class LatencyCheck:
    id: ClassVar[str] = "latency"
    title: ClassVar[str] = "Latency under load"
    section: ClassVar[Section] = Section.PERFORMANCE
    needs: ClassVar[frozenset[str]] = frozenset({"service", "spec"})
    safety: ClassVar[Safety] = Safety.LOAD
    config_model: ClassVar[type[CheckConfig]] = CheckConfig

    def run(self, ctx: AuditContext) -> Outcome:
        raise CheckSkipped("not built yet")
