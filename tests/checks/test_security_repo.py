"""security check, repository part: bandit and committed secrets on a fixture repository with known
issues, the repo's own bandit config, `# nosec` as suppressed findings, odd files, masking."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from auditor.interface import CheckError, CheckSkipped
from auditor.model import Outcome, Severity
from checks.security import bandit_scan
from checks.security.check import SecurityCheck
from checks.security.config import SecurityConfig
from reports.sarif import SarifRenderer
from tests.checks.security_helpers import GITHUB_TOKEN, OUTSIDE_SECRET, SECRETS, make_repo
from tests.conftest import check_context, run_audit_cli


def run_repo(repo: Path, tmp_path: Path, config: SecurityConfig | None = None) -> Outcome:
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    ctx = check_context(None, config or SecurityConfig(), work, repo=repo)
    with ctx.http:
        return SecurityCheck().run(ctx)


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("secrepo")
    return make_repo(root, outside=root / "outside")


@pytest.fixture(scope="module")
def outcome(fixture_repo, tmp_path_factory) -> Outcome:
    return run_repo(fixture_repo, tmp_path_factory.mktemp("secwork"))


def keyed(outcome: Outcome) -> set[tuple]:
    return {(f.rule_id, f.location.get("file"), f.location.get("line"), str(f.severity), f.suppressed)
            for f in outcome.findings}


def test_fixture_repo_gives_exactly_the_expected_findings(outcome):
    assert keyed(outcome) == {
        # bandit (tests/ left out by default); severity = bandit severity × confidence
        ("SEC001", "app/shell.py", 1, "info", False),      # B404 import subprocess: advice, info
        ("SEC001", "app/shell.py", 5, "high", False),      # B602 shell=True
        ("SEC001", "app/crypto.py", 5, "high", False),     # B324 md5
        ("SEC001", "app/cache.py", 1, "info", False),      # B403 import pickle: advice, info
        ("SEC001", "app/cache.py", 5, "medium", True),     # B301 pickle.loads, `# nosec B301`
        ("SEC002", "app/latin.py", None, "low", False),    # not UTF-8: bandit's errors array
        # secrets
        ("SEC010", "app/db.py", 1, "high", False),
        ("SEC010", "app/latin.py", 2, "high", False),      # found in the non-UTF-8 file too
        ("SEC013", "config/cloud.py", 1, "critical", False),  # AWS key
        ("SEC013", "config/cloud.py", 2, "critical", False),  # GitHub token (no 2nd high-entropy finding)
        ("SEC011", "deploy/key.pem", 1, "critical", False),
        ("SEC012", ".env", None, "high", False),           # .env.example is a template: not reported
        ("SEC003", None, None, "info", False),             # 50 MB file and outside symlinks
    }
    by_test = {f.title.split()[0] for f in outcome.findings if f.rule_id == "SEC001"}
    assert by_test == {"B404", "B602", "B324", "B403", "B301"}


def test_metrics_count_issues_suppressions_and_skips(outcome):
    m = outcome.metrics
    assert (m["bandit_issues"], m["bandit_suppressed"], m["bandit_errors"]) == (4, 1, 1)
    assert m["bandit_files"] == 7  # tests/test_app.py excluded, the symlink not followed
    skipped = {s["file"]: s["reason"] for s in m["files_skipped"]}
    assert set(skipped) == {"data.bin", "app/leak.py", "vendor_link"}
    assert "larger than" in skipped["data.bin"] and "outside" in skipped["app/leak.py"]
    assert m["secret_files_transcoded"] == 1


def test_no_secret_appears_unmasked_and_nothing_outside_was_read(outcome):
    text = json.dumps([f.to_dict() for f in outcome.findings]) + json.dumps(outcome.metrics) + outcome.summary
    assert [s for s in SECRETS if s in text] == []
    assert [s for s in SECRETS if s[4:] in text] == []  # nor the secret less its prefix (ghp_...)
    assert OUTSIDE_SECRET not in text  # behind the symlink: never read
    assert not [f for f in outcome.findings if str(f.location.get("file", "")).startswith(("app/leak", "vendor"))]
    db = next(f for f in outcome.findings if f.rule_id == "SEC010" and f.location["file"] == "app/db.py")
    assert db.evidence == 'app/db.py:1: db_password = "********"'


def test_bandit_tests_option_scans_test_code_and_judges_it_as_tests(fixture_repo, tmp_path):
    without = run_repo(fixture_repo, tmp_path / "without", SecurityConfig(secrets=False))
    outcome = run_repo(fixture_repo, tmp_path / "with", SecurityConfig(bandit_tests=True, secrets=False))
    assert outcome.metrics["bandit_files"] == without.metrics["bandit_files"] + 1  # tests/test_app.py scanned
    # ...and its `assert` (B101) is the test itself, not an insecure pattern: counted, not reported.
    assert ("SEC001", "tests/test_app.py", 2, "low", False) not in keyed(outcome)
    assert outcome.metrics["bandit_not_applicable"] == 1 and without.metrics["bandit_not_applicable"] == 0


def test_repo_bandit_config_in_pyproject_is_honoured(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "a.py").write_text("import subprocess\nsubprocess.call('ls', shell=True)\n")
    before = {f.title.split()[0] for f in run_repo(repo, tmp_path / "1").findings if f.rule_id == "SEC001"}
    assert "B404" in before
    (repo / "pyproject.toml").write_text('[tool.bandit]\nskips = ["B404"]\n')
    outcome = run_repo(repo, tmp_path / "2")
    after = {f.title.split()[0] for f in outcome.findings if f.rule_id == "SEC001"}
    assert "B404" not in after and after  # skipped by the repo's config, the others still reported
    assert outcome.metrics["bandit_config"] == ["pyproject.toml [tool.bandit]"]


def test_repo_dot_bandit_ini_is_honoured(tmp_path):
    repo = tmp_path / "r"
    (repo / "legacy").mkdir(parents=True)
    (repo / "legacy" / "old.py").write_text("import hashlib\nhashlib.md5(b'x')\n")
    (repo / "new.py").write_text("import hashlib\nhashlib.md5(b'x')\n")
    (repo / ".bandit").write_text("[bandit]\nexclude = ./legacy\n")
    outcome = run_repo(repo, tmp_path / "w", SecurityConfig(secrets=False))
    assert {f.location["file"] for f in outcome.findings if f.rule_id == "SEC001"} == {"new.py"}
    assert outcome.metrics["bandit_config"] == [".bandit"]


def test_git_repo_scans_what_git_would_commit_only(tmp_path):
    repo = tmp_path / "g"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text(".env\n")
    (repo / ".env").write_text("SECRET_KEY=abcdef0123456789abcdef\n")        # ignored: a local file
    (repo / "settings.env").write_text("API_TOKEN=abcdef0123456789abcdef\n")  # would be committed
    outcome = run_repo(repo, tmp_path / "w", SecurityConfig(bandit=False))
    assert [f.location["file"] for f in outcome.findings if f.rule_id == "SEC012"] == ["settings.env"]
    assert outcome.metrics["files_listed_by"] == "git"


def test_bandit_on_a_missing_path_is_not_a_clean_pass(tmp_path):
    """bandit exits 0 on a path that does not exist and lists it in `errors`: that must show."""
    report = bandit_scan.run(tmp_path, ["does_not_exist.py"], [], out_dir=tmp_path, timeout_s=60,
                             should_stop=lambda: False)
    assert report.results == [] and report.errors
    findings = bandit_scan.judge(report, None)
    assert [(f.rule_id, f.location["file"]) for f in findings] == [("SEC002", "does_not_exist.py")]


def test_bandit_does_not_import_the_audited_repo(tmp_path):
    """A logging.py in the repo must not shadow the stdlib inside bandit (bandit runs isolated)."""
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "logging.py").write_text("raise SystemExit('repo code was executed')\n")
    (repo / "app.py").write_text("import hashlib\nhashlib.md5(b'x')\n")
    outcome = run_repo(repo, tmp_path / "w", SecurityConfig(secrets=False))
    assert {f.location["file"] for f in outcome.findings if f.rule_id == "SEC001"} == {"app.py"}


def test_bandit_stops_when_the_audit_stops(fixture_repo, tmp_path):
    with pytest.raises(bandit_scan.BanditFailed, match="stopped"):
        bandit_scan.run(fixture_repo, ["app/shell.py"], [], out_dir=tmp_path, timeout_s=60, should_stop=lambda: True)


def test_bandit_writing_more_than_a_pipe_holds_to_stderr_finishes(tmp_path):
    """Real bandit warns once per `# nosec` naming an unknown test: 3000 of them are over 200 KB on
    stderr, more than a pipe buffers. Read only after exit, bandit blocked on the write until the time
    budget ran out; its output goes to a file now, and the report comes back."""
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "noisy.py").write_text("import hashlib\nhashlib.md5(b'x')\n"
                                   + "".join(f"x{i} = {i}  # nosec B999\n" for i in range(3000)))
    outcome = run_repo(repo, tmp_path / "w", SecurityConfig(secrets=False, bandit_timeout_s=60))
    assert [(f.title.split()[0], f.location["file"]) for f in outcome.findings if f.rule_id == "SEC001"] == [
        ("B324", "noisy.py")]
    log = next((tmp_path / "w").rglob("bandit-std-0.log"))
    assert log.stat().st_size > 200_000  # the warnings really were written, to the file


def test_severity_matrix():
    assert bandit_scan.severity_of("HIGH", "HIGH") == Severity.HIGH
    assert bandit_scan.severity_of("MEDIUM", "LOW") == Severity.LOW
    assert bandit_scan.severity_of("LOW", "LOW") == Severity.INFO
    assert bandit_scan.severity_of("UNDEFINED", "HIGH") == Severity.LOW


def test_placeholders_and_test_fixtures_are_low(tmp_path):
    repo = tmp_path / "r"
    (repo / "tests").mkdir(parents=True)
    (repo / "example.py").write_text('password = "alice-password"\n')
    (repo / "tests" / "conftest.py").write_text('password = "Qz8wNq5Kt3Hy7Lm"\n')
    outcome = run_repo(repo, tmp_path / "w", SecurityConfig(bandit=False))
    assert {(f.location["file"], str(f.severity)) for f in outcome.findings} == {
        ("example.py", "low"), ("tests/conftest.py", "low")}


def test_skipped_without_repo_or_url_and_error_on_missing_repo(tmp_path):
    with pytest.raises(CheckSkipped):
        SecurityCheck().run(check_context(None, SecurityConfig(), tmp_path))
    with pytest.raises(CheckError, match="not a directory"):
        SecurityCheck().run(check_context(None, SecurityConfig(), tmp_path, repo=tmp_path / "nope"))


def test_secrets_never_unmasked_in_any_output_file(fixture_repo, tmp_path):
    """The real CLI: every file it writes, plus SARIF rendered from its report.json."""
    out = tmp_path / "out"
    result = run_audit_cli("run", "--repo", str(fixture_repo), "--checks", "security", "--output-dir", str(out),
                           timeout=120)
    assert result.returncode == 1, result.stderr  # high findings: the gate fails
    from auditor.model import Report

    report = Report.from_dict(json.loads((out / "report.json").read_text()))
    (out / "report.sarif").write_text(SarifRenderer().render(report))
    written = sorted(p.name for p in out.iterdir())
    assert {"report.json", "report.html", "report.sarif"} <= set(written)
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8", errors="replace")
        assert [s for s in SECRETS if s in text] == [], path.name
    sarif = json.loads((out / "report.sarif").read_text())
    schema = json.loads((Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json").read_text())
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(sarif))
    assert errors == [], errors[:3]
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"SEC001", "SEC010", "SEC011", "SEC012", "SEC013"}
    shell = next(r for r in results if r["properties"]["title"].startswith("B602"))
    assert shell["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "app/shell.py", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 5}}
    assert sum(1 for r in results if r.get("suppressions")) == 1  # the `# nosec` one


def test_word_like_values_are_masked_in_their_own_finding_only(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "a.py").write_text('MIRROR = "https://user:token@mirror.example/simple"\n')
    (repo / "b.py").write_text('import subprocess\n\n\ndef f(token):\n    return subprocess.call(token, shell=True)\n')
    outcome = run_repo(repo, tmp_path / "w")
    own = next(f for f in outcome.findings if f.rule_id == "SEC010")
    assert own.location == {"file": "a.py", "line": 1} and "user:********@" in own.evidence
    shell = next(f for f in outcome.findings if f.title.startswith("B602"))
    assert "subprocess.call(token, shell=True)" in shell.evidence  # the word is not a secret elsewhere


SHORT_SECRETS_PY = ('import subprocess\napi_key = "qwerty"\npassword = "hunter"\nauth_token = "abcd"\n'
                    'subprocess.call(cmd, shell=True)\n')


def test_short_word_like_secrets_are_masked_in_bandit_evidence_of_their_file(tmp_path):
    """bandit quotes the lines around an issue. "hunter" and "qwerty" (detect-secrets keyword hits, too
    word-like to mask across the whole report) and "abcd" (only bandit's B105 flags it) sit next to
    B404 and B602: none shows in any bandit finding."""
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "m.py").write_text(SHORT_SECRETS_PY)
    (repo / "notes.py").write_text('import subprocess\nsubprocess.call("hunter qwerty", shell=True)\n')
    outcome = run_repo(repo, tmp_path / "w")
    bandit = {f.title.split()[0]: f for f in outcome.findings if f.rule_id == "SEC001" and f.location["file"] == "m.py"}
    assert set(bandit) == {"B404", "B602"}
    text = json.dumps([f.to_dict() for f in bandit.values()])
    assert [s for s in ("hunter", "qwerty", "abcd") if s in text] == []
    assert 'api_key = "********"' in bandit["B404"].evidence  # detect-secrets' hit only (not a B105 name)
    assert 'password = "********"' in bandit["B404"].evidence
    assert 'auth_token = "********"' in bandit["B602"].evidence
    # Per file: the same words in another file are not secrets there.
    other = next(f for f in outcome.findings if f.location.get("file") == "notes.py" and f.title.startswith("B602"))
    assert "hunter qwerty" in other.evidence
    # Without the secret scan, bandit's own hardcoded-password strings are still masked.
    alone = run_repo(repo, tmp_path / "w2", SecurityConfig(secrets=False))
    text = json.dumps([f.to_dict() for f in alone.findings if f.location.get("file") == "m.py"])
    assert "hunter" not in text and "abcd" not in text
    assert "qwerty" in text  # only the secret scan knows it is one


def test_a_hardcoded_password_finding_never_shows_its_string(tmp_path):
    """B105/B106/B107 are left to the secret scanner, but a finding built from one (real bandit output)
    must not show the string in any field either."""
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "p.py").write_text('password = "hunter"\nconnect(password="swordfish")\n\n\n'
                               'def login(user, password="tiger"):\n    return user\n')
    report = bandit_scan.run(repo, ["p.py"], [], out_dir=tmp_path, timeout_s=60, should_stop=lambda: False)
    by_test = {str(r["test_id"]): r for r in report.results}
    assert set(by_test) == {"B105", "B106", "B107"}
    assert bandit_scan.judge(report, None) == []  # left to the secret scanner
    for test_id, literal in (("B105", "hunter"), ("B106", "swordfish"), ("B107", "tiger")):
        finding = bandit_scan.issue_finding(by_test[test_id], suppressed=False)
        assert literal not in json.dumps(finding.to_dict()), test_id
        assert "Possible hardcoded password: '********'" in finding.message


def test_secret_scan_time_budget_gives_warn_never_a_silent_pass(fixture_repo, tmp_path):
    outcome = run_repo(fixture_repo, tmp_path, SecurityConfig(secrets_timeout_s=0.000001, bandit=False))
    assert outcome.status == "warn" and "time budget" in outcome.summary
    skipped = [s for s in outcome.metrics["files_skipped"] if "time budget" in s["reason"]]
    assert skipped and outcome.metrics["secret_files_scanned"] + len(skipped) == outcome.metrics["files_scanned"]


def test_bandit_failing_on_the_repo_config_is_a_check_error(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "a.py").write_text("x = 1\n")
    (repo / ".bandit").write_text("[bandit]\ntests = B999\n")
    with pytest.raises(CheckError, match="bandit failed"):
        run_repo(repo, tmp_path / "w", SecurityConfig(secrets=False))


def test_github_and_gitlab_tokens_are_masked_whole_not_just_their_prefix(tmp_path):
    """detect-secrets reports these tokens' regex group, the prefix ("ghp", "glpat"): masking that alone
    left the rest of the token, the credential, in the evidence of its finding and of bandit's."""
    gitlab = "glpat-" + "Xq7Lm2Rw8Zk4Tv9Nb3Hs"
    repo = tmp_path / "r"
    repo.mkdir()
    # Names bandit's B105 does not flag, so only the secret scan can mask the values.
    (repo / "ci.py").write_text(f'import subprocess\nGH = "{GITHUB_TOKEN}"\nGL = "{gitlab}"\n'
                                "subprocess.call(GH, shell=True)\n")
    outcome = run_repo(repo, tmp_path / "w")
    text = json.dumps([f.to_dict() for f in outcome.findings]) + json.dumps(outcome.metrics)
    assert GITHUB_TOKEN[4:] not in text and gitlab[6:] not in text
    tokens = {f.title.split(": ")[-1]: f for f in outcome.findings if f.rule_id == "SEC013"}
    assert tokens["GitHub Token"].evidence == 'ci.py:2: GH = "********"'
    assert tokens["GitLab Token"].evidence == 'ci.py:3: GL = "********"'
    shell = next(f for f in outcome.findings if f.title.startswith("B404"))
    assert 'GH = "********"' in shell.evidence and 'GL = "********"' in shell.evidence


def test_the_auditors_own_output_and_baseline_inside_the_repo_are_not_scanned(tmp_path):
    from tests.checks.security_helpers import AWS_KEY

    repo = tmp_path / "svc"
    (repo / "audit-report").mkdir(parents=True)
    (repo / "app.py").write_text("print('hi')\n")
    leaked = json.dumps({"evidence": f"aws_access_key_id = {AWS_KEY}"})
    (repo / "audit-report" / "report.json").write_text(leaked)   # an earlier run's output
    from auditor.model import CheckResult, Finding, Report
    old = Report(tool={"name": "backend-auditor", "version": "0"}, target={"url": None, "spec": None, "repo": None},
                 started_at="2026-01-01T00:00:00+00:00", duration_s=1.0, verdict="pass",
                 checks=[CheckResult(id="security", title="t", section="security", status="warn", summary="s",
                                     findings=[Finding(rule_id="SEC010", severity="low", title="t", message="m",
                                                       evidence=f"aws_access_key_id = {AWS_KEY}")])])
    (repo / "old-report.json").write_text(json.dumps(old.to_dict()))  # the --baseline
    (repo / "elsewhere.json").write_text(leaked)                  # any other file: still scanned
    out = repo / "audit-report"
    proc = run_audit_cli("run", "--repo", str(repo), "--checks", "security", "--format", "json",
                         "--output-dir", str(out), "--baseline", str(repo / "old-report.json"), "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    files = {f["location"].get("file") for c in report["checks"] for f in c["findings"]}
    assert "elsewhere.json" in files
    assert not any(str(f).startswith("audit-report/") or f == "old-report.json" for f in files), files
