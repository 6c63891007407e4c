"""Report everything, gate separately (Trivy, Semgrep): statuses, verdict and exit code from policy.

A check is "fail" with a new (not in the --baseline), unsuppressed finding at or above --fail-on, "warn"
with unsuppressed findings that do not fail it (info findings alone do not warn) or when it asked for
warn itself (insufficient data), "pass" with none. A check whose policy level is "warn" never fails.
"error" and "skipped" come from the runner, never from findings.
"""

from __future__ import annotations

from auditor.model import CheckResult, Finding, Severity, Status, Verdict
from auditor.regressions import REGRESSION_RULE_IDS

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_UNTRUSTED = 2  # usage/config error, unreachable target, or any check errored

FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "never")


def fails_gate(finding: Finding, fail_on: str) -> bool:
    if finding.suppressed or finding.known or fail_on == "never":
        return False
    # A metric regression already passed its own threshold (the policy's band): it gates at any fail_on,
    # as `audit compare` does; only a suppression, the check's "warn" level or "never" lets it through.
    return finding.rule_id in REGRESSION_RULE_IDS or finding.severity.rank >= Severity(fail_on).rank


def check_status(findings: list[Finding], fail_on: str, requested: Status | None = None,
                 level: str = "error") -> Status:
    if requested in (Status.ERROR, Status.SKIPPED):
        return requested
    if level != "warn" and any(fails_gate(f, fail_on) for f in findings):
        return Status.FAIL
    if requested is Status.WARN or any(not f.suppressed and f.severity is not Severity.INFO for f in findings):
        return Status.WARN
    return Status.PASS


def regate(checks: list[CheckResult], fail_on: str, *, levels: dict[str, str] | None = None,
           fail_on_by_check: dict[str, str] | None = None) -> None:
    """Recompute pass/warn/fail of finished checks under a policy (after baseline and suppressions were
    applied, or under another threshold: audit report --fail-on). A warn without warn-level findings was
    the check's own "insufficient data": it stays warn."""
    levels, fail_on_by_check = levels or {}, fail_on_by_check or {}
    for check in checks:
        if check.status in (Status.ERROR, Status.SKIPPED):
            continue
        own_warn = check.status is Status.WARN and check_status(check.findings, "never") is Status.PASS
        check.status = check_status(check.findings, fail_on_by_check.get(check.id, fail_on),
                                    Status.WARN if own_warn else None, levels.get(check.id, "error"))


def verified(check: CheckResult) -> bool:
    """Whether a check that ran verified anything. A check that ran but could verify nothing says so with
    ``metrics["verified"] = false`` (migrations that could not be applied anywhere): it counts as skipped
    for the verdict's "measured nothing" rule."""
    return check.status is not Status.SKIPPED and check.metrics.get("verified", True) is not False


def verdict(checks: list[CheckResult]) -> Verdict:
    """A run in which no check could judge anything (all skipped, or verified nothing) measured nothing:
    never a pass."""
    statuses = {c.status for c in checks}
    if Status.ERROR in statuses:
        return Verdict.ERROR
    if Status.FAIL in statuses:
        return Verdict.FAIL
    if not any(verified(c) for c in checks):
        return Verdict.ERROR
    return Verdict.PASS


def exit_code(result: Verdict) -> int:
    return {Verdict.PASS: EXIT_PASS, Verdict.FAIL: EXIT_FAIL, Verdict.ERROR: EXIT_UNTRUSTED}[result]
