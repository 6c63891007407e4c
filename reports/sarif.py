"""report.sarif: every check's findings as SARIF 2.1.0 (OASIS, errata 01), for GitHub code scanning and
other SARIF viewers.

- One run (GitHub rejects several runs of one tool and category in one upload); the tool is the
  auditor, every rule id of every check is a rule of its driver.
- Rules carry the check catalogue's title and remediation (checks.<id>.rules.RULES when the check has
  one, otherwise the finding's own title and remediation), the default level and, for the security
  section, GitHub's `security-severity`.
- File-located findings get a physicalLocation with the repo-relative URI (uriBaseId %SRCROOT%, resolved
  by originalUriBaseIds when the report knows the repo) and a region; endpoint and URL findings a
  logicalLocation (kind "resource"). SARIF allows results without a physical location; GitHub code
  scanning only displays file-located ones.
- Suppressed findings carry a SARIF suppression: external (status accepted, the ignore-file entry's
  reason as justification, its expiry/owner/entry in properties) or, for a finding its check suppressed
  itself (bandit's `# nosec`: no ignore-file entry), inSource.
- With a --baseline, every result has baselineState "new" or "unchanged" (known). Findings fixed since the
  baseline are not emitted as "absent" results: GitHub code scanning ignores baselineState and would show
  them as open alerts; they are listed in run.properties.gate.baseline.fixed instead.
- The ignore file's expired and unused entries are toolConfigurationNotifications (warning, note).
- The finding's fingerprint is the result's partialFingerprints entry, so alerts stay stable.
- A check that errored becomes a toolExecutionNotification, and the run's invocation is unsuccessful.

Built as plain dicts and json.dumps: no SARIF library is needed to write, the schema test validates.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import quote

from auditor.model import CheckResult, Finding, Report, Section, Severity, Status, Verdict
from reports.common import CATALOGUE_BASE, EVIDENCE_LIMIT, SHORT_LIMIT, TEXT_LIMIT, one_line, truncate
from reports.gate_view import IN_SOURCE_NOTE, has_baseline

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "backendAuditor/v1"

LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note",
          Severity.INFO: "note"}
# GitHub code scanning maps security-severity to critical (>= 9.0), high (7.0-8.9), medium (4.0-6.9), low.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0",
                     Severity.INFO: "0.0"}


class SarifRenderer:
    format: ClassVar[str] = "sarif"
    filename: ClassVar[str] = "report.sarif"

    def render(self, report: Report) -> str:
        return json.dumps(to_sarif(report), indent=2, ensure_ascii=False) + "\n"


def to_sarif(report: Report) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    baseline = has_baseline(report)
    for check in report.checks:
        for finding in check.findings:
            if finding.rule_id not in rules:
                rules[finding.rule_id] = _rule(check, finding)
            result = _result(check, finding)
            if baseline:
                result["baselineState"] = "unchanged" if finding.known else "new"
            results.append(result)
    ordered = sorted(rules)
    index = {rule_id: i for i, rule_id in enumerate(ordered)}
    for result in results:
        result["ruleIndex"] = index[result["ruleId"]]
    driver: dict[str, Any] = {
        "name": str(report.tool.get("name") or "backend-auditor"),
        "rules": [rules[rule_id] for rule_id in ordered],
    }
    if report.tool.get("version"):
        driver["version"] = str(report.tool["version"])
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [_invocation(report)],
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "verdict": str(report.verdict),
            "startedAt": report.started_at,
            "checks": [{"id": c.id, "status": str(c.status), "summary": truncate(c.summary, TEXT_LIMIT)}
                       for c in report.checks],
        },
    }
    if report.gate:
        run["properties"]["gate"] = report.gate  # the policy, baseline, regressions and ignore file as in report.json
    root = _repo_root_uri(report.target.get("repo"))
    if root:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": root}}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _invocation(report: Report) -> dict[str, Any]:
    notifications = [
        {"level": "error", "message": {"text": f"check {c.id} could not do its job: {truncate(c.summary, TEXT_LIMIT)}"},
         "descriptor": {"id": c.id}}
        for c in report.checks if c.status == Status.ERROR
    ]
    invocation: dict[str, Any] = {"executionSuccessful": report.verdict != Verdict.ERROR}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    configuration = _ignore_file_notifications(report.gate.get("suppressions"))
    if configuration:
        invocation["toolConfigurationNotifications"] = configuration
    return invocation


def _ignore_file_notifications(suppressions: Any) -> list[dict[str, Any]]:
    """Expired entries (they no longer suppress: a warning) and unused ones (a note), one each."""
    if not isinstance(suppressions, dict):
        return []
    file = one_line(suppressions.get("file") or "ignore file", SHORT_LIMIT)
    notes = []
    for kind, level in (("expired", "warning"), ("unused", "note")):
        entries = suppressions.get(kind)
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            selects = ", ".join(f"{k} {one_line(entry[k], SHORT_LIMIT)}" for k in ("rule", "fingerprint", "path", "endpoint")
                                if isinstance(entry.get(k), str))
            head = f"{file}: entry {one_line(entry.get('entry'), 20)}" + (f" ({selects})" if selects else "")
            if kind == "expired":
                matches = entry.get("matches")
                text = (f"{head} expired on {one_line(entry.get('expires'), 20)}: it suppresses nothing"
                        + (f" and would match {matches} finding{'s' if matches != 1 else ''} of this run"
                           if isinstance(matches, int) and not isinstance(matches, bool) else "")
                        + ". Renew it with a new date or fix the findings.")
            else:
                text = f"{head} matched no finding in this run: remove it if the problem was fixed."
            reason = one_line(entry.get("reason") or "", SHORT_LIMIT)
            notes.append({"level": level, "message": {"text": text + (f" Reason: {reason}" if reason else "")},
                          "descriptor": {"id": f"ignore-file/{kind}"}})
    return notes


def _repo_root_uri(repo: Any) -> str | None:
    if not repo:
        return None
    path = Path(str(repo))
    if not path.is_absolute():
        return None  # a relative repo path means nothing to a SARIF consumer on another machine
    uri = path.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def catalogue_rule(check_id: str, rule_id: str) -> Any | None:
    """The catalogue entry (title, severity, remediation) of a built-in check's rule, or None."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", check_id):
        return None  # ids come from a saved (untrusted) report: only plain names reach import_module
    try:
        module = importlib.import_module(f"checks.{check_id}.rules")
    except Exception:  # noqa: BLE001 — a check without a catalogue (plugin, placeholder) falls back
        return None
    rules = getattr(module, "RULES", None)
    return rules.get(rule_id) if isinstance(rules, dict) else None


def _rule(check: CheckResult, finding: Finding) -> dict[str, Any]:
    entry = catalogue_rule(check.id, finding.rule_id)
    title = str(getattr(entry, "title", "") or finding.title or finding.rule_id)
    remediation = str(getattr(entry, "remediation", "") or finding.remediation or "")
    severity = getattr(entry, "severity", None)
    severity = Severity(severity) if severity else finding.severity
    docs = f"{CATALOGUE_BASE}{check.id}.md#{finding.rule_id.lower()}"
    help_text = (remediation + "\n\n" if remediation else "") + f"Catalogue: {docs}"
    rule: dict[str, Any] = {
        "id": finding.rule_id,
        "name": _pascal(title),
        "shortDescription": {"text": truncate(title, 300)},
        "fullDescription": {"text": truncate(f"{title} ({check.id} check).", TEXT_LIMIT)},
        "help": {"text": truncate(help_text, TEXT_LIMIT),
                 "markdown": truncate(f"{remediation}\n\nSee [{finding.rule_id}]({docs}) in the check catalogue.",
                                      TEXT_LIMIT)},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {"check": check.id, "severity": str(severity), "tags": _tags(check)},
    }
    if check.section == Section.SECURITY:
        rule["properties"]["security-severity"] = SECURITY_SEVERITY[severity]
    return rule


def _tags(check: CheckResult) -> list[str]:
    """Unique tags (the schema requires uniqueness): the check id and its report section."""
    return list(dict.fromkeys([check.id, str(check.section)]))


def _pascal(title: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in title).split()
    return "".join(w[:1].upper() + w[1:] for w in words)[:100] or "Rule"


def _result(check: CheckResult, finding: Finding) -> dict[str, Any]:
    message = finding.title if not finding.message else f"{finding.title}: {finding.message}"
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": LEVELS[finding.severity],
        "message": {"text": truncate(message, TEXT_LIMIT)},
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {"check": check.id, "severity": str(finding.severity), "title": finding.title,
                       "remediation": truncate(finding.remediation, TEXT_LIMIT)},
    }
    if finding.evidence:
        result["properties"]["evidence"] = truncate(finding.evidence, EVIDENCE_LIMIT)
    if check.section == Section.SECURITY:
        result["properties"]["security-severity"] = SECURITY_SEVERITY[finding.severity]
    location = _location(finding.location)
    if location:
        result["locations"] = [location]
    if finding.suppressed:
        result["suppressions"] = [_suppression(finding)]
    return result


def _suppression(finding: Finding) -> dict[str, Any]:
    """external: an ignore-file entry accepted it (reason, expiry, owner); inSource: the check itself did,
    from a marker in the audited code (bandit's `# nosec`), so there is no entry to quote."""
    data = finding.suppression
    if not isinstance(data, dict):
        return {"kind": "inSource", "status": "accepted", "justification": IN_SOURCE_NOTE}
    suppression: dict[str, Any] = {"kind": "external", "status": "accepted",
                                   "justification": truncate(data.get("reason") or "", TEXT_LIMIT)}
    properties = {key: data[key] for key in ("expires", "owner", "entry", "file") if data.get(key) is not None}
    if properties:
        suppression["properties"] = properties
    return suppression


def _location(where: dict[str, Any]) -> dict[str, Any] | None:
    if not where:
        return None
    location: dict[str, Any] = {}
    file = where.get("file")
    if file:
        artifact = _artifact(str(file))
        physical: dict[str, Any] = {"artifactLocation": artifact}
        line = where.get("line")
        if isinstance(line, int) and not isinstance(line, bool) and line >= 1:
            region: dict[str, Any] = {"startLine": line}
            end = where.get("end_line")
            if isinstance(end, int) and end >= line:
                region["endLine"] = end
            physical["region"] = region
        location["physicalLocation"] = physical
    logical = []
    if where.get("endpoint"):
        logical.append({"name": str(where["endpoint"]), "fullyQualifiedName": str(where["endpoint"]),
                        "kind": "resource"})
    if where.get("url"):
        logical.append({"name": str(where["url"]), "kind": "resource"})
    if logical:
        location["logicalLocations"] = logical
    rest = {k: v for k, v in where.items() if k not in ("file", "line", "end_line", "endpoint", "url")}
    if rest:
        location["properties"] = {"auditorLocation": rest}
    return location or None


def _artifact(file: str) -> dict[str, Any]:
    """Repo-relative paths become relative URIs under %SRCROOT% (percent-encoded, forward slashes)."""
    posix = file.replace("\\", "/")
    if posix.startswith("/"):
        return {"uri": Path(posix).as_uri()}
    while posix.startswith("./"):
        posix = posix[2:]
    return {"uri": quote(str(PurePosixPath(posix)), safe="/-._~"), "uriBaseId": SRCROOT}
