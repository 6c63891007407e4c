"""Judging: findings, metrics, summary and status from what the repo declares (Inventory) and what the
vulnerability source said (SourceResult). Pure functions: no file or network access."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from auditor.model import Finding, Severity, Status

from checks.dependencies.model import Declared, Inventory, Package, SourceResult, Vulnerability
from checks.dependencies.rules import make_finding

EVIDENCE_LINES = 12
TABLE_ROWS = 100


@dataclass(frozen=True)
class Judgement:
    findings: list[Finding]
    metrics: dict[str, Any]
    summary: str
    status: Status | None


def severity_of(vulns: list[Vulnerability]) -> tuple[str, Severity]:
    """(rule id, severity) for one vulnerable package: CVSS (or the database's rating) where given; a fix
    available makes it at least high (the readiness contract), no fix and no rating is medium."""
    rated = [v.severity for v in vulns if v.severity is not None]
    worst = max(rated, key=lambda s: s.rank) if rated else None
    if any(v.fixed for v in vulns):
        return "DEP001", worst if worst is not None and worst.rank > Severity.HIGH.rank else Severity.HIGH
    return "DEP002", worst if worst is not None else Severity.MEDIUM


def upgrade_target(vulns: list[Vulnerability]) -> str | None:
    """The lowest version that fixes every advisory that has a fix: the highest of their first fixes.
    (Advisories fixed on several release lines list one fix per line; the first above the pin is the
    nearest upgrade, and it is what each advisory needs at least.)"""
    firsts: list[Version] = []
    for vuln in vulns:
        versions = []
        for raw in vuln.fixed:
            try:
                versions.append(Version(raw))
            except InvalidVersion:
                continue
        if versions:
            firsts.append(min(versions))
    return str(max(firsts)) if firsts else None


def _where(places: list[Declared]) -> str:
    shown = [f"{d.file}:{d.line}" if d.line else d.file for d in places[:3]]
    more = f" and {len(places) - 3} more" if len(places) > 3 else ""
    return ", ".join(shown) + more


def _location(declared: Declared) -> dict[str, Any]:
    return {"file": declared.file, "line": declared.line} if declared.line else {"file": declared.file}


def _vuln_line(vuln: Vulnerability) -> str:
    aliases = f" ({', '.join(vuln.aliases[:4])})" if vuln.aliases else ""
    rating = f" [{vuln.rating}]" if vuln.rating else ""
    fixed = f"; fixed in {', '.join(vuln.fixed[:4])}" if vuln.fixed else "; no fixed version"
    summary = f" — {vuln.summary[:140]}" if vuln.summary else ""
    return f"{vuln.id}{aliases}{rating}{fixed}{summary}"


def vulnerable_findings(pins: dict[Package, list[Declared]], result: SourceResult) -> list[Finding]:
    findings = []
    for package in sorted(result.vulnerable):
        vulns = result.vulnerable[package]
        places = pins.get(package) or []
        first = places[0] if places else None
        rule_id, severity = severity_of(vulns)
        name = first.name if first else package.key
        target = upgrade_target(vulns)
        ids = ", ".join(v.id for v in vulns[:6]) + (f" and {len(vulns) - 6} more" if len(vulns) > 6 else "")
        fix_text = (f" Upgrade to {target} or later." if target and rule_id == "DEP001" else
                    " No fixed version is known for " + ("any of them." if len(vulns) > 1 else "it."))
        partly = [v.id for v in vulns if not v.fixed]
        if rule_id == "DEP001" and partly:
            fix_text += f" {', '.join(partly)} {'has' if len(partly) == 1 else 'have'} no fix yet."
        message = (f"{name} {package.version} (pinned in {_where(places) if places else 'the repo'}) is affected by "
                   f"{len(vulns)} known vulnerabilit{'y' if len(vulns) == 1 else 'ies'}: {ids}.{fix_text}")
        evidence = "\n".join([_vuln_line(v) for v in vulns[:EVIDENCE_LINES]]
                             + ([f"… {len(vulns) - EVIDENCE_LINES} more"] if len(vulns) > EVIDENCE_LINES else []))
        location = _location(first) if first else {}
        findings.append(make_finding(
            rule_id, message, location, evidence=evidence, severity=severity,
            title=f"{name} {package.version}: {vulns[0].id}"
                  + (f" and {len(vulns) - 1} more" if len(vulns) > 1 else "")
                  + (f" (fixed in {target})" if target else " (no fix)"),
            stable_location={"file": first.file} if first else {}, key=package.key))
    return findings


def unpinned_findings(inventory: Inventory) -> list[Finding]:
    """One DEP010 per manifest, listing every dependency it declares that no pin in the repo (or a lock
    file up to the git root) resolves: twenty unpinned names in one pyproject.toml are one fact."""
    by_file: dict[str, list[Declared]] = {}
    for declared in inventory.unresolved():
        by_file.setdefault(declared.file, []).append(declared)
    findings = []
    for file, items in by_file.items():
        names = [d.name for d in items]
        shown = ", ".join(names[:15]) + (f" and {len(names) - 15} more" if len(names) > 15 else "")
        urls = [d for d in items if "URL/VCS" in d.reason or "git" in d.reason or "VCS" in d.reason]
        what = (f"{len(items)} dependenc{'y' if len(items) == 1 else 'ies'}")
        why = "without an exact version" if not urls else (
            "given by URL/VCS" if len(urls) == len(items) else f"without an exact version ({len(urls)} by URL/VCS)")
        message = (f"{file} declares {what} {why}: {shown}. No lock file or pinned requirement in the repo (or up "
                   "to its git root) gives their exact versions, so they were not audited.")
        first = min((d for d in items if d.line), key=lambda d: d.line or 0, default=items[0])
        evidence = "\n".join(f"{d.spec}: {d.reason}"[:200] for d in items[:EVIDENCE_LINES]) + (
            f"\n… {len(items) - EVIDENCE_LINES} more" if len(items) > EVIDENCE_LINES else "")
        findings.append(make_finding(
            "DEP010", message, _location(first), evidence=evidence,
            title=f"{file}: {len(items)} unpinned dependenc{'y' if len(items) == 1 else 'ies'} (not audited)",
            stable_location={"file": file}, key="unpinned"))
    return findings


def problem_findings(inventory: Inventory) -> list[Finding]:
    findings = []
    for problem in inventory.problems:
        location = {"file": problem.file, "line": problem.line} if problem.line else {"file": problem.file}
        findings.append(make_finding(problem.rule_id, problem.message, location, evidence=problem.evidence,
                                     stable_location={"file": problem.file},
                                     key=problem.evidence or problem.message))
    return findings


def not_audited_findings(pins: dict[Package, list[Declared]], result: SourceResult) -> list[Finding]:
    """One DEP020 per manifest: which of its pins the source could not check, and why."""
    by_file: dict[str, list[tuple[Package, str]]] = {}
    for package, reason in sorted(result.not_audited.items()):
        places = pins.get(package) or []
        by_file.setdefault(places[0].file if places else "", []).append((package, reason))
    findings = []
    for file, items in by_file.items():
        reasons = sorted({reason for _, reason in items})
        listed = ", ".join(str(p) for p, _ in items[:8]) + (f" and {len(items) - 8} more" if len(items) > 8 else "")
        message = (f"{len(items)} pinned package{'s' if len(items) != 1 else ''} in {file or 'the repo'} "
                   f"{'were' if len(items) != 1 else 'was'} not audited ({listed}): {'; '.join(reasons[:3])}"
                   f"{' …' if len(reasons) > 3 else ''}. Nothing is known about their vulnerabilities.")
        evidence = "\n".join(f"{p}: {r}" for p, r in items[:EVIDENCE_LINES])
        findings.append(make_finding("DEP020", message, {"file": file} if file else {}, evidence=evidence,
                                     key="not-audited"))
    return findings


def malformed_finding(result: SourceResult, vuln_db: Path | None) -> list[Finding]:
    if not result.malformed:
        return []
    count = len(result.malformed)
    evidence = "\n".join(f"{name}: {why}" for name, why in result.malformed[:EVIDENCE_LINES])
    location = {"url": vuln_db.resolve().as_uri()} if vuln_db else {}
    return [make_finding("DEP030", f"{count} record{'s' if count != 1 else ''} of the OSV database "
                         f"{'were' if count != 1 else 'was'} left out as unreadable; advisories may be missing.",
                         location, evidence=evidence, stable_location={"vuln_db": True}, key="malformed")]


def judge(inventory: Inventory, result: SourceResult | None, *, vuln_db: Path | None = None,
          require_audit: bool = False, method: str = "") -> Judgement:
    """Everything the report shows. ``result`` is None when no pinned package was there to audit."""
    result = result or SourceResult(source="none")
    pins = inventory.pins()
    findings = (vulnerable_findings(pins, result) + not_audited_findings(pins, result)
                + unpinned_findings(inventory) + problem_findings(inventory) + malformed_finding(result, vuln_db))

    # Counted per package name: audited when every pinned version of it was checked.
    keys = inventory.keys()
    versions: dict[str, list[Package]] = {}
    for package in pins:
        versions.setdefault(package.key, []).append(package)
    audited = [k for k in keys if versions.get(k) and all(p in result.audited for p in versions[k])]
    vulnerable = [k for k in keys if any(p in result.vulnerable for p in versions.get(k, []))]
    not_audited = [k for k in keys if k not in audited]
    advisories = {v.id for vulns in result.vulnerable.values() for v in vulns}
    unreadable = [p for p in inventory.problems if p.rule_id == "DEP012"]

    metrics: dict[str, Any] = {
        "method": method,
        "source": result.source,
        "packages": len(keys),
        "audited": len(audited),
        "not_audited": len(not_audited),
        "vulnerable": len(vulnerable),
        "vulnerabilities": len(advisories),
        **result.facts,
        "manifests": [{"file": m.file, "kind": m.kind, "dependencies": m.dependencies} for m in inventory.manifests],
        "parent_locks": inventory.parent_locks,
        "ecosystems": sorted({d.ecosystem for d in inventory.declared}),
        "vulnerable_packages": [
            {"package": p.key, "version": p.version, "ecosystem": p.ecosystem,
             "advisories": ", ".join(v.id for v in vs),
             "aliases": ", ".join(a for v in vs for a in v.aliases),
             "fixed_in": upgrade_target(vs) or "none", "severity": str(severity_of(vs)[1]),
             "file": (pins.get(p) or [Declared(p.key, "", None, "", "", None)])[0].file}
            # Worst first, as every table of the report.
            for p, vs in sorted(result.vulnerable.items(), key=lambda item: (-severity_of(item[1])[1].rank, item[0]))],
        "not_audited_packages": _not_audited_rows(inventory, result)[:TABLE_ROWS],
    }

    summary = _summary(inventory, result, len(keys), len(audited), len(not_audited), len(vulnerable), len(advisories))
    status: Status | None = None
    incomplete = bool(not_audited) or bool(unreadable) or not inventory.complete
    if incomplete:
        status = Status.ERROR if require_audit else Status.WARN
    return Judgement(findings, metrics, summary, status)


def _not_audited_rows(inventory: Inventory, result: SourceResult) -> list[dict[str, str]]:
    rows = [{"package": p.key, "version": p.version, "reason": r} for p, r in sorted(result.not_audited.items())]
    rows += [{"package": d.key, "version": "", "reason": d.reason} for d in inventory.unresolved()]
    return rows


def _summary(inventory: Inventory, result: SourceResult, packages: int, audited: int, not_audited: int,
             vulnerable: int, advisories: int) -> str:
    manifests = len(inventory.manifests)
    head = f"{packages} package{'s' if packages != 1 else ''} in {manifests} manifest{'s' if manifests != 1 else ''}"
    if packages == 0:
        text = f"no third-party dependencies declared in {manifests} manifest{'s' if manifests != 1 else ''}"
    elif audited == 0:
        reasons = sorted(set(result.not_audited.values()))
        why = reasons[0] if len(reasons) == 1 else (
            "none pinned to an exact version" if not result.not_audited else "; ".join(reasons[:2]))
        text = f"{head}: NOT AUDITED ({why})"
    else:
        found = (f"{vulnerable} vulnerable ({advisories} advisor{'y' if advisories == 1 else 'ies'})" if vulnerable
                 else "no known vulnerabilities")
        text = f"{head}, {audited} audited with {result.source}: {found}"
        if not_audited:
            text += f"; {not_audited} NOT audited"
    problems = len(inventory.problems)
    if problems:
        text += f"; {problems} manifest problem{'s' if problems != 1 else ''}"
    if not inventory.complete:
        text += " (stopped at the deadline: not every manifest was read)"
    return text
