"""The dependencies check end to end on fixture repos: offline OSV matching, pip-audit against a fake OSV
API on 127.0.0.1, and the honest "not audited" when no source answers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor.interface import CheckConfig, CheckError, CheckSkipped
from auditor.model import Severity, Status

from checks.dependencies.config import DependenciesConfig
from tests.stub_server import StubServer, slow
from tests.checks.dependencies_helpers import (CLEAN_APP, OSV_DIR, REPOS, VULNERABLE_APP, by_rule, closed_port,
                                               fake_osv_api, good_db, record, run_check, run_check_plain)

SAMPLE_SERVICE = Path(__file__).resolve().parents[2] / "sample_service"


# ----------------------------------------------------------------------------------------------------
# Offline OSV database

def test_fixture_repo_against_fixture_osv_gives_exactly_the_expected_findings(tmp_path):
    outcome = run_check(VULNERABLE_APP, tmp_path, vuln_db=OSV_DIR)
    found = {(f.rule_id, f.title.split(":")[0], f.severity) for f in outcome.findings}
    assert found == {
        ("DEP001", "fixture-web 1.2.0", Severity.CRITICAL),      # CVSS 9.8 from the GHSA alias record
        ("DEP001", "fixture-lock 1.5.0", Severity.HIGH),         # CVSS 1.8, but a fix exists
        ("DEP002", "Fixture_Parser 0.9.1", Severity.MEDIUM),     # explicit versions list, rated MODERATE
        ("DEP002", "fixture-last 2.0.0", Severity.MEDIUM),       # last_affected, no fix, no rating
        ("DEP010", "requirements.txt", Severity.LOW),            # flask: unpinned, no lock pins it
        ("DEP011", "Unparsable requirement", Severity.MEDIUM),   # "this is not valid ==="
        ("DEP030", "Malformed vulnerability records", Severity.LOW),
    }
    rules = by_rule(outcome)
    web = next(f for f in rules["DEP001"] if "fixture-web" in f.title)
    # PYSEC and its GHSA alias are one vulnerability; aliases and both fixed release lines are shown.
    assert "PYSEC-2099-1" in web.message and "Upgrade to 1.2.5 or later" in web.message
    assert "GHSA-w3b1-aaaa-bbbb" in web.evidence and "CVE-2099-0001" in web.evidence
    assert "fixed in 1.2.5, 2.0.3" in web.evidence and "CVSS:3.1 9.8" in web.evidence
    assert "poetry.lock:12" in web.message and "requirements.txt:2" in web.message
    assert web.location == {"file": "poetry.lock", "line": 12}
    lock = next(f for f in rules["DEP001"] if "fixture-lock" in f.title)
    assert "Upgrade to 1.5.1 or later" in lock.message
    assert rules["DEP011"][0].location == {"file": "requirements.txt", "line": 9}
    assert {"broken/no-id.json", "broken/not-yaml.yaml"} == {
        line.split(":")[0] for line in rules["DEP030"][0].evidence.splitlines()}
    assert outcome.status is Status.WARN  # flask was not audited: never a silent pass
    metrics = outcome.metrics
    assert (metrics["packages"], metrics["audited"], metrics["not_audited"], metrics["vulnerable"]) == (7, 6, 1, 4)
    assert metrics["source"] == "osv-offline" and metrics["records_malformed"] == 2
    assert [r["package"] for r in metrics["vulnerable_packages"]] == [
        "fixture-web", "fixture-lock", "fixture-last", "fixture-parser"]  # worst first
    rows = {r["package"]: r for r in metrics["vulnerable_packages"]}
    assert rows["fixture-web"]["fixed_in"] == "1.2.5" and rows["fixture-last"]["fixed_in"] == "none"
    assert "GHSA-w3b1-aaaa-bbbb" in rows["fixture-web"]["aliases"]


def test_advisory_fixed_before_the_pin_and_withdrawn_advisories_are_not_reported(tmp_path):
    outcome = run_check(CLEAN_APP, tmp_path, vuln_db=good_db(tmp_path))
    # fixture-old 3.1.0 (fixed in 3.0.0), fixture-clean (withdrawn, and an npm record), fixture-web 1.2.5 (the fix)
    assert outcome.findings == []
    assert outcome.status is None  # the runner makes it "pass": everything was audited and is clean
    assert (outcome.metrics["audited"], outcome.metrics["vulnerable"]) == (3, 0)
    assert "3 audited with osv-offline: no known vulnerabilities" in outcome.summary


def test_fingerprints_survive_a_line_move_and_differ_per_package(tmp_path):
    first = run_check(VULNERABLE_APP, tmp_path / "a", vuln_db=OSV_DIR)
    repo = tmp_path / "moved"
    shutil.copytree(VULNERABLE_APP, repo)
    text = (repo / "requirements.txt").read_text()
    (repo / "requirements.txt").write_text("# a new first line\n\n" + text)
    second = run_check(repo, tmp_path / "b", vuln_db=OSV_DIR)
    prints = {f.title: f.fingerprint for f in first.findings if f.rule_id.startswith("DEP00")}
    assert prints == {f.title: f.fingerprint for f in second.findings if f.rule_id.startswith("DEP00")}
    assert len(set(prints.values())) == len(prints) == 4


def test_empty_vulnerability_database_is_not_a_clean_audit(tmp_path):
    empty = tmp_path / "empty-db"
    empty.mkdir()
    outcome = run_check(CLEAN_APP, tmp_path, vuln_db=empty)
    assert outcome.status is Status.WARN and "NOT AUDITED" in outcome.summary
    assert outcome.metrics["audited"] == 0 and outcome.metrics["not_audited"] == 3
    assert [f.rule_id for f in outcome.findings] == ["DEP020"]


def test_only_malformed_records_is_not_a_clean_audit(tmp_path):
    broken = tmp_path / "broken-db"
    shutil.copytree(OSV_DIR / "broken", broken)
    outcome = run_check(CLEAN_APP, tmp_path, vuln_db=broken)
    assert outcome.status is Status.WARN
    assert sorted(f.rule_id for f in outcome.findings) == ["DEP020", "DEP030"]


def test_require_audit_turns_not_audited_into_an_error(tmp_path):
    empty = tmp_path / "empty-db"
    empty.mkdir()
    outcome = run_check(CLEAN_APP, tmp_path, vuln_db=empty, require_audit=True)
    assert outcome.status is Status.ERROR


def test_vuln_db_that_is_not_a_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(CheckError, match="is not a directory"):
        run_check(CLEAN_APP, tmp_path, vuln_db=tmp_path / "missing")
    with pytest.raises(CheckError, match="needs an OSV database"):
        run_check(CLEAN_APP, tmp_path, source="osv")


def test_repo_without_manifests_is_skipped(tmp_path):
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "app.py").write_text("print('hi')\n")
    with pytest.raises(CheckSkipped, match="no requirements files"):
        run_check(repo, tmp_path, vuln_db=OSV_DIR)


def test_empty_requirements_file_passes_with_nothing_declared(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("# nothing yet\n")
    outcome = run_check(repo, tmp_path, vuln_db=OSV_DIR)
    assert outcome.metrics["packages"] == 0 and "no third-party dependencies" in outcome.summary
    assert all(f.rule_id == "DEP030" for f in outcome.findings)  # nothing to audit; the db's own problems only


def test_bad_manifests_become_findings_not_crashes(tmp_path):
    repo = tmp_path / "bad"
    shutil.copytree(REPOS / "bad_input", repo)
    big = repo / "requirements-big.txt"
    big.write_text("x==1.0\n" * 200_000)  # 1.4 MB
    outside = tmp_path / "secret-requirements.txt"
    outside.write_text("outside-pkg==1.0\n")
    (repo / "requirements-link.txt").symlink_to(outside)
    outcome = run_check(repo, tmp_path, vuln_db=good_db(tmp_path), max_file_bytes=1_000_000)
    messages = [f.message for f in outcome.findings]
    assert any("requirements.txt is not UTF-8" in m for m in messages)
    assert any("pyproject.toml is not valid TOML" in m for m in messages)
    assert any("Pipfile.lock is not valid JSON" in m for m in messages)
    assert any("requirements-big.txt is 1.4 MB" in m for m in messages)
    assert any("symlink to a file outside the repository" in m for m in messages)
    assert not any("outside-pkg" in m for m in messages)  # never read
    assert outcome.metrics["audited"] == 1  # good-pkg from the readable poetry.lock
    assert outcome.status is Status.WARN   # unreadable manifests: the audit is incomplete


def test_plain_check_config_is_accepted(tmp_path):
    outcome = run_check_plain(CLEAN_APP, tmp_path, CheckConfig(), {"vuln_db": good_db(tmp_path)})
    assert outcome.metrics["audited"] == 3


def test_config_rejects_unknown_keys_and_bad_urls():
    with pytest.raises(ValueError):
        DependenciesConfig(unknown=1)
    with pytest.raises(ValueError):
        DependenciesConfig(osv_url="ftp://x")


# ----------------------------------------------------------------------------------------------------
# pip-audit, online, against a fake OSV API on 127.0.0.1

def test_pip_audit_against_a_local_osv_api_finds_the_vulnerable_pin(tmp_path):
    web = record(OSV_DIR / "vulns" / "fixture-web" / "PYSEC-2099-1.yaml")
    with fake_osv_api({("fixture-web", "1.2.0"): [web]}) as api:
        outcome = run_check(VULNERABLE_APP, tmp_path, osv_url=api.url)
    asked = {(q["package"]["name"], q["version"]) for q in api.queries}
    assert asked == {("fixture-web", "1.2.0"), ("fixture-parser", "0.9.1"), ("fixture-old", "3.1.0"),
                     ("fixture-last", "2.0.0"), ("fixture-clean", "1.0.0"), ("fixture-lock", "1.5.0")}
    rules = by_rule(outcome)
    assert [f.title for f in rules["DEP001"]] == ["fixture-web 1.2.0: PYSEC-2099-1 (fixed in 1.2.5)"]
    finding = rules["DEP001"][0]
    assert finding.severity is Severity.HIGH  # a fix exists; pip-audit gives no CVSS
    assert "Upgrade to 1.2.5 or later" in finding.message and "GHSA-w3b1-aaaa-bbbb" in finding.evidence
    assert "2.0.3" in finding.evidence  # both release lines' fixes above 1.2.0
    assert "DEP020" not in rules
    assert outcome.metrics["audited"] == 6
    assert outcome.metrics["source"].startswith("pip-audit (OSV at http://127.0.0.1")


def test_pip_audit_with_no_reachable_service_is_not_audited_never_pass(tmp_path):
    dead = f"http://127.0.0.1:{closed_port()}/v1/query"
    outcome = run_check(CLEAN_APP, tmp_path, osv_url=dead)
    assert outcome.status is Status.WARN
    assert "NOT AUDITED" in outcome.summary and "--vuln-db" in outcome.summary
    assert outcome.metrics["audited"] == 0 and outcome.metrics["not_audited"] == 3
    (finding,) = outcome.findings
    assert finding.rule_id == "DEP020" and "could not reach 127.0.0.1" in finding.message
    assert run_check(CLEAN_APP, tmp_path / "again", osv_url=dead, require_audit=True).status is Status.ERROR


def test_pip_audit_service_errors_are_not_audited(tmp_path):
    with fake_osv_api({}, status=503) as api:
        outcome = run_check(CLEAN_APP, tmp_path, osv_url=api.url)
    assert outcome.status is Status.WARN and outcome.metrics["audited"] == 0
    assert [f.rule_id for f in outcome.findings] == ["DEP020"]
    assert "pip-audit (OSV" in outcome.findings[0].message


def test_sample_service_without_a_reachable_source_says_not_audited(tmp_path):
    """What `audit demo` does in a sandbox: the sample service's pins, no vulnerability source."""
    dead = f"http://127.0.0.1:{closed_port()}/v1/query"
    outcome = run_check(SAMPLE_SERVICE, tmp_path, osv_url=dead)
    assert outcome.status is Status.WARN
    assert outcome.metrics["packages"] >= 10 and outcome.metrics["audited"] == 0
    assert all(f.severity.rank < Severity.HIGH.rank for f in outcome.findings)  # warn, not a failed demo


class _Budget:
    """A stand-in for AuditContext's time budget: should_stop turns true after ``calls`` checks."""

    def __init__(self, tmp_dir, remaining=60.0, calls=10**9):
        self.tmp_dir, self._remaining, self._calls = tmp_dir, remaining, calls

    def remaining(self):
        return self._remaining

    def should_stop(self):
        self._calls -= 1
        return self._calls < 0


def test_pip_audit_that_outlives_its_time_is_killed_and_not_audited(tmp_path):
    from checks.dependencies.model import Package
    from checks.dependencies.sources.pip_audit import PipAuditSource

    packages = [Package("fixture-web", "1.2.0")]
    with StubServer(routes={"/v1/query": slow(30, (200, {}, "{}"))}) as hanging:
        result = PipAuditSource(osv_url=f"{hanging.url}/v1/query", timeout=3).audit(packages, _Budget(tmp_path))
    assert result.audited == set()
    assert result.not_audited[packages[0]].startswith(("pip-audit did not finish in time", "pip-audit (OSV"))


def test_pip_audit_is_killed_when_the_audit_stops(tmp_path):
    from checks.dependencies.model import Package
    from checks.dependencies.sources.pip_audit import PipAuditSource

    packages = [Package("fixture-web", "1.2.0")]
    with StubServer(routes={"/v1/query": slow(30, (200, {}, "{}"))}) as hanging:
        result = PipAuditSource(osv_url=f"{hanging.url}/v1/query").audit(packages, _Budget(tmp_path, calls=3))
    assert result.not_audited[packages[0]] == "the audit was stopped while pip-audit ran"


def test_stop_before_anything_was_read_is_an_error_not_a_skip(tmp_path):
    with pytest.raises(CheckError, match="stopped before any dependency manifest was read"):
        run_check(CLEAN_APP, tmp_path, vuln_db=OSV_DIR, seconds=0)


def test_only_ranges_and_no_lock_is_not_audited(tmp_path):
    repo = tmp_path / "lib"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "lib"\ndependencies = ["fixture-web>=1", "x~=2.0"]\n')
    outcome = run_check(repo, tmp_path, vuln_db=OSV_DIR)
    assert outcome.status is Status.WARN and outcome.metrics["source"] == "none"
    assert "NOT AUDITED (none pinned to an exact version)" in outcome.summary
    # One finding per manifest, naming both (issue 14: twenty unpinned names were twenty findings).
    (finding,) = outcome.findings
    assert finding.rule_id == "DEP010" and finding.location["file"] == "pyproject.toml"
    assert "2 dependencies without an exact version: fixture-web, x" in finding.message


def test_saved_pip_audit_report_without_network_is_read_as_not_audited(tmp_path):
    """pip-audit's real JSON when PyPI is unreachable (it exits 0 with 'No known vulnerabilities found')."""
    from checks.dependencies.model import Package, SourceResult
    from checks.dependencies.sources.pip_audit import apply_report

    saved = json.loads('{"dependencies": [{"name": "requests", "skip_reason": "Dependency not found on PyPI and '
                       'could not be audited: requests (2.19.0)"}, {"name": "flask", "version": "0.12", "vulns": []}],'
                       ' "fixes": []}')
    batch = [Package("requests", "2.19.0"), Package("flask", "0.12"), Package("six", "1.0")]
    result = SourceResult(source="pip-audit (PyPI)")
    apply_report(saved, batch, result)
    assert result.audited == {Package("flask", "0.12")}
    assert "not found on PyPI" in result.not_audited[Package("requests", "2.19.0")]
    assert "requests (2.19.0)" not in result.not_audited[Package("requests", "2.19.0")]
    assert result.not_audited[Package("six", "1.0")] == "pip-audit did not report on it"


def test_a_pin_that_is_not_a_pep440_version_is_not_audited(tmp_path):
    repo = tmp_path / "odd"
    repo.mkdir()
    (repo / "requirements.txt").write_text("fixture-web===not-a-version!\nfixture-clean==1.0.0\n")
    outcome = run_check(repo, tmp_path, vuln_db=good_db(tmp_path))
    assert outcome.status is Status.WARN
    assert (outcome.metrics["audited"], outcome.metrics["not_audited"]) == (1, 1)
    (finding,) = outcome.findings
    assert finding.rule_id == "DEP020" and "is not a PEP 440 version" in finding.message
