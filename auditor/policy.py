"""The gate's policy over a finished audit: what is known from the baseline, what regressed, what an
ignore-file entry accepts, and then statuses, verdict and exit code again.

Report everything, gate separately (Trivy, Semgrep): nothing here removes a finding. Known findings
(in the --baseline report) and suppressed ones stay in every format, marked; only the gate ignores them.
Inputs are loaded before the audit runs (``GatePolicy.load``), so a bad baseline or ignore file is a
one-line error (exit 2) and never costs a whole audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from auditor.baseline import BaselineError, add_regressions, load_baseline, mark_known
from auditor.config import ConfigError, Settings
from auditor.gate import exit_code, regate, verdict
from auditor.model import Report
from auditor.suppressions import IgnoreEntry, IgnoreFileError, apply_suppressions, default_ignore_file, load_ignore_file


@dataclass
class GatePolicy:
    settings: Settings
    baseline: Report | None
    baseline_path: Path | None
    ignore_entries: list[IgnoreEntry]
    ignore_path: Path | None  # None: no ignore file (none given and none at the default place)

    @classmethod
    def load(cls, settings: Settings) -> GatePolicy:
        """Read the baseline report and the ignore file; ConfigError (one line) when either is unusable."""
        try:
            # A --baseline that is an OpenAPI document is the openapi check's (breaking changes) only.
            baseline = load_baseline(settings.baseline) if settings.baseline else None
            if settings.ignore_file is not None:
                ignore_path: Path | None = settings.ignore_file
                entries = load_ignore_file(settings.ignore_file, required=True)
            else:
                default = default_ignore_file(settings.repo)
                ignore_path = default if default.exists() else None
                entries = load_ignore_file(default, required=False) if ignore_path else []
        except (BaselineError, IgnoreFileError) as exc:
            raise ConfigError(str(exc)) from None
        return cls(settings, baseline, settings.baseline if baseline else None, entries, ignore_path)

    def apply(self, report: Report, *, today: date | None = None) -> None:
        """Mark known and suppressed findings, add metric regressions, and gate the report again."""
        policy = self.settings.policy
        gate: dict[str, Any] = {"fail_on": self.settings.fail_on}
        if policy.preset != "default":
            gate["preset"] = policy.preset
        if policy.levels:
            gate["levels"] = dict(policy.levels)
        if policy.fail_on:
            gate["fail_on_by_check"] = dict(policy.fail_on)
        if self.baseline is not None and self.baseline_path is not None:
            # Known first: a regression finding is about this run against that one, never "known".
            gate["baseline"] = mark_known(report.checks, self.baseline, str(self.baseline_path))
            gate["regressions"] = add_regressions(report.checks, self.baseline, policy.regression_limits())
        if self.ignore_path is not None:
            gate["suppressions"] = apply_suppressions(report.checks, self.ignore_entries,
                                                      today=today or date.today(), file=str(self.ignore_path))
        regate(report.checks, self.settings.fail_on, levels=dict(policy.levels), fail_on_by_check=dict(policy.fail_on))
        report.verdict = verdict(report.checks)
        gate["exit_code"] = exit_code(report.verdict)
        report.gate = gate
