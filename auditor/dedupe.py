"""One finding per defect across checks: after every check ran, findings that name the same defect
(``Finding.defect``, e.g. ``committed-env:.env`` from both the security and the deployment check) are
merged into one — the most severe, the first in report order on a tie — which lists the others in
``also_seen_by``; the others leave their check's list (its status is then re-gated by the policy).

Within one check, a check merges its own duplicates itself (one 5xx answer is one OAS101, not also an
OAS103); what the core merges is what no single check can see.
"""

from __future__ import annotations

from auditor.model import CheckResult, Finding


def merge(results: list[CheckResult]) -> int:
    """Merge in place; how many findings were folded into another."""
    keep: dict[str, tuple[CheckResult, Finding]] = {}
    folded: list[tuple[CheckResult, Finding]] = []
    for check in results:
        for finding in check.findings:
            if not finding.defect:
                continue
            held = keep.get(finding.defect)
            if held is None:
                keep[finding.defect] = (check, finding)
            elif finding.severity.rank > held[1].severity.rank:
                folded.append(held)
                keep[finding.defect] = (check, finding)
            else:
                folded.append((check, finding))
    for check, finding in folded:
        kept_check, kept = keep[finding.defect]
        kept.also_seen_by.append({"check": check.id, "rule_id": finding.rule_id, "fingerprint": finding.fingerprint})
        kept.also_seen_by.extend(finding.also_seen_by)
        check.findings = [f for f in check.findings if f is not finding]
    return len(folded)
