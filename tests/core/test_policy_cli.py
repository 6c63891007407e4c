"""The gate's policy through the real CLI: baselines, suppressions, levels (issue 8's proofs), with the
throwaway test plugins (tests/plugins.py) as checks whose findings the test controls."""

import json
import os
from datetime import date, timedelta

import pytest

from tests.conftest import run_audit_cli
from tests.plugins import install_test_plugins


@pytest.fixture
def plugin_env(tmp_path) -> dict[str, str]:
    root = install_test_plugins(tmp_path / "plugins")
    return {"PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    return path


def audit(repo, out, env, *args):
    """`audit run` of the failer plugin (one high TST002 finding in app.py) on the repo."""
    proc = run_audit_cli("run", "--repo", str(repo), "--checks", "failer", "--format", "json,sarif",
                         "--output-dir", str(out), *args, env=env)
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else None
    return proc, report


def findings(report):
    return [f for c in report["checks"] for f in c["findings"]]


def test_baseline_with_the_same_findings_passes_and_keeps_them_marked_known(tmp_path, repo, plugin_env):
    first, before = audit(repo, tmp_path / "a", plugin_env)
    assert first.returncode == 1  # the high finding gates without a baseline
    proc, after = audit(repo, tmp_path / "b", plugin_env, "--baseline", str(tmp_path / "a" / "report.json"))
    assert proc.returncode == 0, proc.stderr
    assert [f["known"] for f in findings(after)] == [True]
    assert [f["fingerprint"] for f in findings(after)] == [f["fingerprint"] for f in findings(before)]
    assert after["gate"]["baseline"]["new"] == 0 and after["gate"]["baseline"]["known"] == 1
    assert after["checks"][0]["status"] == "warn"  # still reported, only the gate lets it through


def test_one_new_finding_against_the_baseline_fails(tmp_path, repo, plugin_env):
    empty = tmp_path / "empty"
    run_audit_cli("run", "--repo", str(repo), "--checks", "failer", "--config", str(_config(tmp_path, 'severity = "info"')),
                  "--format", "json", "--output-dir", str(empty), env=plugin_env)
    # the info finding has the same fingerprint (rule + location), so change the location: another file
    baseline = json.loads((empty / "report.json").read_text())
    for finding in findings(baseline):
        finding["location"]["file"], finding["fingerprint"] = "other.py", "0" * 16
    (empty / "report.json").write_text(json.dumps(baseline))
    proc, report = audit(repo, tmp_path / "b", plugin_env, "--baseline", str(empty / "report.json"))
    assert proc.returncode == 1, proc.stderr
    assert [f["known"] for f in findings(report)] == [False]
    assert report["gate"]["baseline"]["new"] == 1
    assert [f["fingerprint"] for f in report["gate"]["baseline"]["fixed"]] == ["0" * 16]


def _config(tmp_path, failer_line: str = "", extra: str = ""):
    cfg = tmp_path / "audit.toml"
    cfg.write_text(f"{extra}\n[failer]\n{failer_line}\n")
    return cfg


def _ignore(tmp_path, body: str):
    path = tmp_path / "ignore.toml"
    path.write_text(body)
    return path


def test_valid_suppression_passes_and_is_marked_in_json_and_sarif(tmp_path, repo, plugin_env):
    tomorrow = (date.today() + timedelta(days=30)).isoformat()
    ignore = _ignore(tmp_path, f'[[ignore]]\nrule = "TST002"\npath = "app.py"\nreason = "accepted: test fixture"\n'
                               f'expires = {tomorrow}\n')
    proc, report = audit(repo, tmp_path / "out", plugin_env, "--ignore-file", str(ignore))
    assert proc.returncode == 0, proc.stderr
    (finding,) = findings(report)
    assert finding["suppressed"] is True and finding["suppression"]["reason"] == "accepted: test fixture"
    assert report["gate"]["suppressions"]["applied"] == 1
    sarif = json.loads((tmp_path / "out" / "report.sarif").read_text())
    (result,) = [r for run in sarif["runs"] for r in run["results"]]
    assert result["suppressions"][0]["justification"] == "accepted: test fixture"


def test_expired_suppression_no_longer_suppresses_and_is_reported(tmp_path, repo, plugin_env):
    ignore = _ignore(tmp_path, '[[ignore]]\nrule = "TST002"\nreason = "was fine last year"\nexpires = 2020-01-01\n')
    proc, report = audit(repo, tmp_path / "out", plugin_env, "--ignore-file", str(ignore))
    assert proc.returncode == 1, proc.stderr
    assert [f["suppressed"] for f in findings(report)] == [False]
    (expired,) = report["gate"]["suppressions"]["expired"]
    assert expired["entry"] == 1 and expired["reason"] == "was fine last year"


def test_unused_suppression_is_reported(tmp_path, repo, plugin_env):
    ignore = _ignore(tmp_path, '[[ignore]]\nrule = "TST002"\nreason = "ok"\n\n'
                               '[[ignore]]\nrule = "XYZ999"\nreason = "left over"\n')
    proc, report = audit(repo, tmp_path / "out", plugin_env, "--ignore-file", str(ignore))
    assert proc.returncode == 0, proc.stderr
    assert [u["entry"] for u in report["gate"]["suppressions"]["unused"]] == [2]


def test_default_ignore_file_in_the_repo_is_used(tmp_path, repo, plugin_env):
    (repo / ".audit-ignore.toml").write_text('[[ignore]]\nrule = "TST002"\nreason = "repo policy"\n')
    proc, report = audit(repo, tmp_path / "out", plugin_env)
    assert proc.returncode == 0, proc.stderr
    assert report["gate"]["suppressions"]["file"].endswith(".audit-ignore.toml")


@pytest.mark.parametrize("option, content, expected", [
    ("--ignore-file", '[[ignore]]\nrule = "TST002"\n', "reason"),
    ("--ignore-file", "not toml [", "ignore.toml"),
    ("--baseline", '{"schema_version": "1.1", "checks": "nope"}', "baseline"),
])
def test_bad_baseline_or_ignore_file_is_one_line_exit_2_before_auditing(tmp_path, repo, plugin_env, option,
                                                                        content, expected):
    path = tmp_path / ("ignore.toml" if option == "--ignore-file" else "old.json")
    path.write_text(content)
    proc, report = audit(repo, tmp_path / "out", plugin_env, option, str(path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], proc.stderr
    assert report is None  # failed before the audit: nothing measured, no report


def test_policy_level_warn_lets_a_failing_check_pass_the_gate(tmp_path, repo, plugin_env):
    cfg = _config(tmp_path, extra='[policy.levels]\nfailer = "warn"\n')
    proc, report = audit(repo, tmp_path / "out", plugin_env, "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr
    assert report["checks"][0]["status"] == "warn" and report["gate"]["levels"] == {"failer": "warn"}


def test_policy_level_off_does_not_run_the_check(tmp_path, repo, plugin_env):
    cfg = _config(tmp_path, extra='[policy.levels]\nfailer = "off"\n')
    proc = run_audit_cli("run", "--repo", str(repo), "--checks", "failer,repoonly", "--config", str(cfg),
                         "--format", "json", "--output-dir", str(tmp_path / "out"), env=plugin_env)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [c["id"] for c in report["checks"]] == ["repoonly"], proc.stderr


def test_compare_prints_new_and_fixed_and_gates_on_new(tmp_path, repo, plugin_env):
    audit(repo, tmp_path / "old", plugin_env)
    moved = json.loads((tmp_path / "old" / "report.json").read_text())
    for finding in findings(moved):
        finding["location"]["file"], finding["fingerprint"] = "gone.py", "f" * 16
    (tmp_path / "moved.json").write_text(json.dumps(moved))
    same = run_audit_cli("compare", str(tmp_path / "old" / "report.json"), str(tmp_path / "old" / "report.json"))
    assert same.returncode == 0, same.stderr
    changed = run_audit_cli("compare", str(tmp_path / "moved.json"), str(tmp_path / "old" / "report.json"),
                            "--output-dir", str(tmp_path / "cmp"))
    assert changed.returncode == 1, changed.stderr
    assert "TST002" in changed.stdout
    assert {"compare.md", "compare.html", "compare.json"} <= {p.name for p in (tmp_path / "cmp").iterdir()}
    result = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert json.dumps(result).count("f" * 16) >= 1  # the fixed one is listed
    bad = run_audit_cli("compare", str(tmp_path / "nope.json"), str(tmp_path / "old" / "report.json"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1


def test_init_writes_a_block_the_next_run_accepts(tmp_path, plugin_env):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    proc = run_audit_cli("init", "--repo", str(project), env=plugin_env)
    assert proc.returncode == 0, proc.stderr
    text = (project / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "x"') and "[tool.auditor]" in text and "# fail_on" in text
    again = run_audit_cli("init", "--repo", str(project), env=plugin_env)
    assert again.returncode == 2 and "[tool.auditor]" in again.stderr
    # the written (all-commented) block is valid config: a run with it works
    run = run_audit_cli("run", "--repo", str(project), "--checks", "failer", "--format", "json",
                        "--output-dir", str(tmp_path / "out"), env=plugin_env)
    assert run.returncode == 1, run.stderr


def test_console_summary_marks_known_findings_and_expired_entries(tmp_path, repo, plugin_env):
    audit(repo, tmp_path / "a", plugin_env)
    ignore = _ignore(tmp_path, '[[ignore]]\nrule = "XYZ001"\nreason = "old"\nexpires = 2020-01-01\n')
    proc, _ = audit(repo, tmp_path / "b", plugin_env, "--baseline", str(tmp_path / "a" / "report.json"),
                    "--ignore-file", str(ignore))
    assert "1 known from the baseline" in proc.stdout and "TST002" in proc.stdout and "[known]" in proc.stdout
    assert "expired ignore entry #1 (old)" in proc.stdout
