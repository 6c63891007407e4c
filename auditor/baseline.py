"""--baseline for the gate: read a previous report.json, mark this run's findings known or new, list the
ones fixed since, and add metric regressions (auditor.regressions) as findings.

``--baseline`` may also be an older OpenAPI document, which only the openapi check uses (breaking
changes); for the gate that is "no baseline" (``load_baseline`` returns None). A file is a report when
it is a JSON object with ``schema_version`` or ``checks``; such a file must then be a valid report
(schema 1.0 or 1.1), else BaselineError — never silently "no baseline", which would gate on everything.
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from auditor.config import RegressionSettings
from auditor.files import UnreadableFile, read_regular_file
from auditor.model import CheckResult, Report, Status
from auditor.regressions import REGRESSION_RULE_IDS, metric_changes
from auditor.report_file import ReportLoadError, report_from_data

MAX_BASELINE_BYTES = 50 * 1024 * 1024  # as the openapi check's own limit (checks/openapi/inventory.py)


class BaselineError(Exception):
    """A --baseline (or compared report) that cannot be used; ``str(exc)`` is one line."""


def load_baseline(path: str | PathLike[str]) -> Report | None:
    """The baseline Report, or None when ``path`` is an OpenAPI document (YAML or JSON with a top-level
    ``openapi`` or ``swagger`` key). BaselineError for a missing, unreadable or invalid file."""
    path = Path(path)
    data = _read(path)
    if isinstance(data, dict) and ("schema_version" in data or "checks" in data):
        try:
            return report_from_data(data, path)
        except ReportLoadError as exc:
            raise BaselineError(f"baseline: {exc}") from None
    if isinstance(data, dict) and ("openapi" in data or "swagger" in data):
        return None
    raise BaselineError(f"baseline {path} is neither a report.json (no schema_version) nor an OpenAPI "
                        "document (no openapi key)")


def _read(path: Path) -> Any:
    """The parsed JSON, else YAML, of ``path``; BaselineError (one line) when it is neither."""
    try:
        text = read_regular_file(path, MAX_BASELINE_BYTES).decode("utf-8")
    except UnreadableFile as exc:
        raise BaselineError(f"baseline {path} {exc}") from None
    except UnicodeDecodeError:
        raise BaselineError(f"baseline {path} is not a text file (not UTF-8)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        json_error = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if text.lstrip().startswith(("{", "[")):  # meant as JSON: the JSON error is the useful one
        raise BaselineError(f"baseline {path} is not valid JSON ({json_error})")
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 — a safe loader
    except yaml.YAMLError:
        raise BaselineError(f"baseline {path} is neither JSON nor YAML ({json_error})") from None


def mark_known(checks: list[CheckResult], baseline: Report, path: str) -> dict[str, Any]:
    """Mark every finding whose fingerprint is in the baseline (under any check, suppressed there or not)
    as known; return gate["baseline"]: how many are new and known, and the baseline's unsuppressed
    findings that are gone — only from checks that ran this time: a skipped check fixed nothing."""
    old = [(c, f) for c in baseline.checks for f in c.findings if f.rule_id not in REGRESSION_RULE_IDS]
    old_prints = {f.fingerprint for _, f in old}
    new = known = 0
    current_prints: set[str] = set()
    for check in checks:
        for finding in check.findings:
            current_prints.add(finding.fingerprint)
            finding.known = finding.fingerprint in old_prints
            known += finding.known
            new += not finding.known
    ran = {c.id for c in checks if c.status not in (Status.ERROR, Status.SKIPPED)}
    fixed = [{"check": c.id, "rule_id": f.rule_id, "fingerprint": f.fingerprint, "title": f.title,
              "location": f.location}
             for c, f in old if not f.suppressed and c.id in ran and f.fingerprint not in current_prints]
    return {"path": path, "new": new, "known": known, "fixed": fixed}


def add_regressions(checks: list[CheckResult], baseline: Report, limits: RegressionSettings) -> list[dict[str, Any]]:
    """Append a high finding (LAT900/COV900/NPQ900/OAS900) to each check whose metric regressed beyond
    ``limits`` (complete: ``PolicySettings.regression_limits()``) and return gate["regressions"]."""
    by_id = {c.id: c for c in checks}
    items = []
    for change in metric_changes(baseline.checks, checks, limits):
        if change.direction != "regressed":
            continue
        by_id[change.check].findings.append(change.finding())
        items.append(change.to_dict())
    return items
