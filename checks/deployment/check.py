"""Placeholder while the deployment check is built; replaced by the real check in its issue."""

from __future__ import annotations

from typing import ClassVar

from auditor.interface import AuditContext, CheckConfig, CheckSkipped, Safety
from auditor.model import Outcome, Section


class DeploymentCheck:
    id: ClassVar[str] = "deployment"
    title: ClassVar[str] = "Deployment checklist"
    section: ClassVar[Section] = Section.DEPLOYMENT
    needs: ClassVar[frozenset[str]] = frozenset({"repo"})
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[CheckConfig]] = CheckConfig

    def run(self, ctx: AuditContext) -> Outcome:
        raise CheckSkipped("not built yet")
