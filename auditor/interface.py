"""The Check interface: what a check declares and what it receives.

A check never prints, never exits, never reads global config: everything comes through AuditContext.
Built-in and third-party checks register alike, through the entry-point group ``auditor.checks``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import pydantic

from auditor.model import CheckResult, Outcome, Section

from auditor.sandbox import Sandbox, SandboxOptions, ScratchRegistry

if TYPE_CHECKING:
    from auditor.artifacts import Artifacts
    from auditor.http import HttpClient
    from auditor.otlp import Traces


class Safety(StrEnum):
    PASSIVE = "passive"  # GET/HEAD/OPTIONS only: safe against production
    ACTIVE = "active"    # may send writes or fuzzed input
    LOAD = "load"        # sends sustained traffic


# What a check can need; the runner skips a check whose needs the target does not meet.
NEEDS = frozenset({"service", "spec", "repo", "database"})


class CheckError(Exception):
    """Raised by a check that could not do its job; the message becomes the check's summary."""


class CheckSkipped(Exception):
    """Raised by a check that found nothing it applies to; the message is the reason."""


class CheckConfig(pydantic.BaseModel):
    """Base for a check's own config section ([tool.auditor.<id>]); unknown keys are errors."""

    model_config = pydantic.ConfigDict(extra="forbid")


@dataclass
class Target:
    url: str | None = None
    spec: str | None = None
    repo: Path | None = None
    db_url: str | None = None


@dataclass
class AuditContext:
    target: Target
    http: HttpClient
    artifacts: Artifacts
    config: CheckConfig             # this check's validated section
    tmp_dir: Path
    deadline: float                 # time.monotonic() by which the check must be done
    read_only: bool                 # only GET/HEAD/OPTIONS may reach the service
    seed: int = 0
    progress: Callable[[str], None] = field(default=lambda message: None)
    settings: dict[str, Any] = field(default_factory=dict)  # core settings, read-only by convention
    # Set by the runner on Ctrl-C or when the deadline passed: stop at once (end load, kill
    # subprocesses, restore what was changed). The runner then waits a few seconds for the thread.
    stop: threading.Event = field(default_factory=threading.Event)
    # Results of the checks that ran before this one in this audit, by id (report order: health,
    # openapi, latency, nplusone, security, ...). Lets a check refer to another's finding instead of
    # repeating it; a check must still work when the other was not selected.
    earlier: dict[str, CheckResult] = field(default_factory=dict)
    # The audit's scratch databases: whatever a check's sandbox leaves (crash, timeout, Ctrl-C) is
    # dropped by the runner when the audit ends.
    scratch: ScratchRegistry = field(default_factory=ScratchRegistry)
    # OpenTelemetry traces the service exports during the audit (auditor.otlp.Traces): set when --otlp was
    # given or the auditor instrumented a --serve'd service; None otherwise.
    traces: Traces | None = None

    def sandbox(self, options: SandboxOptions) -> Sandbox:
        """The only way a check runs the repo's code (auditor.sandbox): the repo's interpreter, an
        allow-listed environment, a scratch database when a server is known. Raises SandboxError."""
        if self.target.repo is None:
            raise CheckError("no repository")
        return Sandbox(repo=Path(self.target.repo).resolve(), tmp_dir=self.tmp_dir / "sandbox",
                       python=self.settings.get("python"),
                       server_url=self.settings.get("scratch_db_url") or self.target.db_url, options=options,
                       registry=self.scratch, should_stop=self.should_stop)

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def should_stop(self) -> bool:
        """True once the audit was interrupted or the deadline passed."""
        return self.stop.is_set() or time.monotonic() >= self.deadline


@runtime_checkable
class Check(Protocol):
    id: ClassVar[str]
    title: ClassVar[str]
    section: ClassVar[Section]
    needs: ClassVar[frozenset[str]]
    safety: ClassVar[Safety]
    # The pydantic model of the check's config section; CheckConfig when it takes none.
    config_model: ClassVar[type[CheckConfig]]

    def run(self, ctx: AuditContext) -> Outcome: ...
