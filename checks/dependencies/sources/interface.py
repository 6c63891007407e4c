"""What a vulnerability source is: given exact package versions, say which are vulnerable, which were
audited, and which were not (with the reason). A source never returns "clean" for a package it could
not check: such a package goes to ``not_audited``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from checks.dependencies.model import Package, SourceResult


class Budget(Protocol):
    """The parts of AuditContext a source uses (time and stop), so sources are testable alone."""

    tmp_dir: Path

    def remaining(self) -> float: ...

    def should_stop(self) -> bool: ...


class VulnerabilitySource(Protocol):
    name: str

    def audit(self, packages: list[Package], budget: Budget,
              progress: Callable[[str], None] = lambda message: None) -> SourceResult: ...


class SourceUnavailable(Exception):
    """The source cannot be used at all (no database directory, pip-audit missing); one line."""
