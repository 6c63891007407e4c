"""Online source: pip-audit in a subprocess, fed the exact pins found in the repo, JSON output parsed.

pip-audit resolves nothing here (--no-deps --disable-pip): it checks exactly the versions the repo pins,
never installs anything and never runs the repo's code. Its JSON lists a dependency it could not check
with a ``skip_reason`` (without network the PyPI service marks every one "not found" and exits 0 with
"No known vulnerabilities found"): each such package is "not audited", never clean.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from checks.dependencies.model import Package, SourceResult, Vulnerability
from checks.dependencies.sources.interface import Budget, SourceUnavailable

POLL_S = 0.1
STDERR_LIMIT = 64_000
_NETWORK_WORDS = ("NameResolutionError", "Failed to resolve", "ConnectionError", "Max retries exceeded",
                  "Connection refused", "ConnectTimeout", "Network is unreachable", "Temporary failure")


class PipAuditSource:
    def __init__(self, *, service: str = "pypi", osv_url: str | None = None, timeout: float = 120,
                 command: list[str] | None = None) -> None:
        self.service = "osv" if osv_url else service
        self.osv_url = osv_url
        self.timeout = timeout
        # The interpreter running the audit has pip-audit (a dependency of this project).
        self.command = command or [sys.executable, "-m", "pip_audit"]

    @property
    def name(self) -> str:
        where = f" at {mask_userinfo(self.osv_url)}" if self.osv_url else ""
        return f"pip-audit ({'PyPI' if self.service == 'pypi' else 'OSV'}{where})"

    def audit(self, packages: list[Package], budget: Budget,
              progress: Callable[[str], None] = lambda message: None) -> SourceResult:
        result = SourceResult(source=self.name)
        valid: list[Package] = []
        for package in packages:
            if package.ecosystem != "PyPI":
                # Said, not skipped silently: pip-audit asks PyPI's (or OSV's PyPI) advisories only.
                result.not_audited[package] = (f"pip-audit audits PyPI packages only: {package.ecosystem} packages "
                                               "need --vuln-db DIR (an OSV database with their records)")
                continue
            try:
                Version(package.version)
                valid.append(package)
            except InvalidVersion:
                result.not_audited[package] = f"version {package.version!r} is not a PEP 440 version"
        # One requirement per name per run: pip-audit refuses two pins of one package in one file.
        rounds: list[list[Package]] = []
        for package in valid:
            slot = next((r for r in rounds if all(p.key != package.key for p in r)), None)
            if slot is None:
                slot = []
                rounds.append(slot)
            slot.append(package)
        deadline = time.monotonic() + min(self.timeout, budget.remaining())
        for number, batch in enumerate(rounds):
            if budget.should_stop() or time.monotonic() >= deadline:
                for package in batch:
                    result.not_audited[package] = "the audit's deadline came before pip-audit ran"
                continue
            progress(f"pip-audit: {len(batch)} packages")
            self._run(batch, budget, deadline, budget.tmp_dir / f"pip-audit-{number}", result)
        return result

    def _run(self, batch: list[Package], budget: Budget, deadline: float, work: Path, result: SourceResult) -> None:
        work.mkdir(parents=True, exist_ok=True)
        requirements = work / "requirements.txt"
        requirements.write_text("".join(f"{p.key}=={p.version}\n" for p in batch), encoding="utf-8")
        output = work / "report.json"
        args = [*self.command, "-r", str(requirements), "--no-deps", "--disable-pip", "-f", "json", "-o", str(output),
                "--progress-spinner", "off", "--desc", "on", "--aliases", "on",
                "--timeout", str(max(1, int(min(15, deadline - time.monotonic())))),
                "--cache-dir", str(work / "cache"), "-s", self.service]
        if self.osv_url:
            args += ["--osv-url", self.osv_url]
        stderr_path = work / "stderr.txt"
        try:
            with stderr_path.open("wb") as stderr:
                process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                           env={**os.environ, "PIP_NO_INPUT": "1"}, cwd=work)
        except OSError as exc:
            raise SourceUnavailable(f"pip-audit cannot be started: {exc.strerror or exc}") from None
        stopped = ""
        while process.poll() is None:
            if budget.should_stop():
                stopped = "the audit was stopped while pip-audit ran"
            elif time.monotonic() >= deadline:
                stopped = "pip-audit did not finish in time"
            if stopped:
                process.kill()
                process.wait(5)
                break
            time.sleep(POLL_S)
        stderr_text = stderr_path.read_bytes()[-STDERR_LIMIT:].decode("utf-8", "replace")
        if stopped:
            for package in batch:
                result.not_audited[package] = stopped
            return
        report = _read_json(output)
        if report is None:
            if "No module named pip_audit" in stderr_text:
                raise SourceUnavailable("pip-audit is not installed in the auditor's environment")
            reason = failure_reason(stderr_text, self.name)
            for package in batch:
                result.not_audited[package] = reason
            return
        apply_report(report, batch, result)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("dependencies"), list) else None


def mask_userinfo(text: str) -> str:
    """A mirror URL may carry credentials (https://user:token@mirror/...): never show them."""
    return re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@", r"\1***@", text)


def failure_reason(stderr: str, source: str) -> str:
    """One line saying why pip-audit produced no report (its stderr ends with a traceback)."""
    stderr = mask_userinfo(stderr)
    if any(word in stderr for word in _NETWORK_WORDS):
        host = re.search(r"host='([^']+)'", stderr)
        where = host.group(1) if host else "the vulnerability service"
        return f"{source} could not reach {where} (network unreachable)"
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("WARNING:")]
    last = lines[-1] if lines else "no output"
    return f"{source} failed: {last[:200]}"


def skip_reason(raw: str) -> str:
    """pip-audit's skip_reason without the trailing "name (version)", so one cause reads as one reason."""
    reason = re.sub(r":\s*\S+ \([^)]*\)\s*$", "", raw.strip())[:200]
    if "not found on PyPI" in reason:
        # What pip-audit says for every package when PyPI cannot be reached, and for private packages.
        return "pip-audit: not found on PyPI (no network? or not a PyPI package)"
    return f"pip-audit skipped it: {reason}"


def apply_report(report: dict[str, Any], batch: list[Package], result: SourceResult) -> None:
    """Fold pip-audit's JSON into ``result``: audited, vulnerable, or not audited (skip_reason, or a package
    pip-audit did not mention at all)."""
    by_key = {p.key: p for p in batch}
    seen: set[str] = set()
    for dep in report["dependencies"]:
        if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
            continue
        key = canonicalize_name(dep["name"])
        package = by_key.get(key)
        if package is None:
            continue
        seen.add(key)
        if dep.get("skip_reason"):
            result.not_audited[package] = skip_reason(str(dep["skip_reason"]))
            continue
        result.audited.add(package)
        vulns = [_vulnerability(v, package.version) for v in dep.get("vulns") or []
                 if isinstance(v, dict) and v.get("id")]
        if vulns:
            result.vulnerable[package] = vulns
    for key, package in by_key.items():
        if key not in seen:
            result.not_audited[package] = "pip-audit did not report on it"


def _vulnerability(vuln: dict[str, Any], installed: str) -> Vulnerability:
    """pip-audit lists every fixed event of the advisory's range, also fixes of older release lines:
    only the ones above the installed version are upgrade targets."""
    fixed: list[str] = []
    for raw in vuln.get("fix_versions") or []:
        try:
            if Version(str(raw)) > Version(installed):
                fixed.append(str(raw))
        except InvalidVersion:
            continue
    fixed.sort(key=Version)
    aliases = tuple(str(a) for a in vuln.get("aliases") or [] if a and a != vuln["id"])
    return Vulnerability(id=str(vuln["id"]), aliases=aliases, fixed=tuple(fixed),
                         summary=" ".join(str(vuln.get("description") or "").split())[:300])
