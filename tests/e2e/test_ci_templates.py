"""The CI templates (docs/ci/github-actions.yml, docs/ci/gitlab-ci.yml, .pre-commit-hooks.yaml) tested by
running their own commands.

Each template is parsed with PyYAML and the commands that invoke `audit` are taken from it: the
workflow's `run:` steps, the GitLab job's `script:` and `after_script:`, the hooks' `entry`. They run as
the CI runner runs them (bash -eo pipefail; a hook's entry split like pre-commit does, no shell) in a
scratch checkout of sample_service/ (a git repository holding the template, as a user's repo would),
with the CI variables set to local values: SERVICE_CMD starts the bundled sample service,
$GITHUB_STEP_SUMMARY, $RUNNER_TEMP and $BASELINE_DIR are temp paths, AUDIT_CHECKS keeps the run to the
fast checks (a config value the templates leave open). Steps that only install or download (pip, gh,
curl) are not run; where the fetch step would put the baseline, the test puts an earlier run's report.
Then: the exit codes are the documented ones and every file a later step uploads exists and is valid.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from auditor.registry import load_checks
from tests.checks.security_helpers import AWS_KEY
from tests.conftest import REPO_ROOT
from tests.reports.test_sarif import SCHEMA_FILE, assert_valid

pytestmark = pytest.mark.timeout(240)

GITHUB = REPO_ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = REPO_ROOT / "docs" / "ci" / "gitlab-ci.yml"
HOOKS = REPO_ROOT / ".pre-commit-hooks.yaml"
PRE_COMMIT_EXAMPLE = REPO_ROOT / "docs" / "ci" / "pre-commit-config.yaml"

# A line of a script that runs the auditor (not `pip install backend-auditor`, not a comment).
AUDIT_LINE = re.compile(r"^\s*audit\s+\w", re.M)
FAST_CHECKS = ["health", "security", "deployment", "migrations"]
# -P: the checkout's root holds sample_service's own modules (logging.py among them), which must not
# shadow the standard library of the service's interpreter.
SERVICE_CMD = (f"{shlex.quote(sys.executable)} -P -m sample_service serve --host 127.0.0.1 --port {{port}} "
               "--migrate --seed")
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]  # GitHub's `shell: bash`; GitLab's bash


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _workflow() -> dict[str, Any]:
    return _load(GITHUB)


def _job(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow["jobs"]["audit"]


def _step(workflow: dict[str, Any], uses_prefix: str) -> dict[str, Any]:
    steps = [s for s in _job(workflow)["steps"] if str(s.get("uses", "")).startswith(uses_prefix)]
    assert len(steps) == 1, f"one step uses {uses_prefix}"
    return steps[0]


def _audit_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """The run: steps that invoke audit, in workflow order."""
    return [s for s in _job(workflow)["steps"] if AUDIT_LINE.search(s.get("run", ""))]


def _plain_env(*scopes: dict[str, Any] | None) -> dict[str, str]:
    """env: values of the template (workflow < job < step); expressions are runner-side, not shell."""
    env: dict[str, str] = {}
    for scope in scopes:
        for key, value in (scope or {}).items():
            if "${{" not in str(value):
                env[key] = str(value)
    return env


def _checkout(tmp_path: Path, ci_file: str, template: Path) -> Path:
    """sample_service as the root of a git work tree, the CI template where the platform reads it."""
    repo = tmp_path / "checkout"
    shutil.copytree(REPO_ROOT / "sample_service", repo, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    target = repo / ci_file
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, target)
    _git(repo, "init", "-q")
    _commit_all(repo)
    return repo


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", *args], cwd=repo,
                   check=True, capture_output=True, timeout=30)


def _commit_all(repo: Path) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "commit")


def _local_env(tmp_path: Path, template_env: dict[str, str], **extra: str) -> dict[str, str]:
    """The runner's environment, locally: the template's own variables, then local values for the CI
    ones. SERVICE_CMD must be a template variable, or substituting it would test nothing."""
    assert "{port}" in template_env["SERVICE_CMD"]
    data_dir = tmp_path / f"data-{len(list(tmp_path.glob('data-*')))}"  # a fresh database per service
    data_dir.mkdir()
    return {**_base_env(), **template_env, "SERVICE_CMD": SERVICE_CMD, "DATA_DIR": str(data_dir),
            "SQL_ECHO": "1", "AUDIT_CHECKS": ",".join(FAST_CHECKS), **extra}


def _base_env() -> dict[str, str]:
    """This machine's environment without CI or auditor settings, with this checkout's `audit` first."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AUDIT_") and k not in ("GITHUB_STEP_SUMMARY", "RUNNER_TEMP", "BASELINE_DIR")}
    env.update({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "NO_COLOR": "1", "COLUMNS": "200"})
    return env


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BASH, script], cwd=cwd, env=env, text=True, capture_output=True, timeout=180)


def _out(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


def _findings(report_path: Path) -> list[dict[str, Any]]:
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return [f for c in report["checks"] for f in c["findings"]]


def _sarif_is_valid(path: Path) -> None:
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    assert_valid(validator, json.loads(path.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------------- GitHub


def test_workflow_structure_uploads_always_and_runs_audit_in_bash():
    workflow = _workflow()
    job = _job(workflow)
    assert workflow["defaults"]["run"]["shell"] == "bash"  # -eo pipefail: the audit's exit code fails the step
    # PyYAML reads the key `on` as True (YAML 1.1).
    assert {"pull_request", "push"} <= set(workflow[True])
    permissions = workflow["permissions"]
    assert permissions["security-events"] == "write" and permissions["pull-requests"] == "write"
    assert permissions["actions"] == "read" and permissions["contents"] == "read"

    uploads = [_step(workflow, "actions/upload-artifact@"), _step(workflow, "github/codeql-action/upload-sarif@"),
               _step(workflow, "marocchino/sticky-pull-request-comment@")]
    for step in uploads:
        assert str(step.get("if", "")).startswith("always()"), step["name"]  # also after a failed gate
    artifact, sarif, comment = uploads
    assert artifact["with"]["path"].rstrip("/") == "audit-report"
    assert sarif["with"]["sarif_file"] == "audit-report/report.sarif"
    assert f"hashFiles('{sarif['with']['sarif_file']}')" in sarif["if"]
    assert comment["with"]["path"] == "audit-report/report.md" and comment["with"]["header"]

    steps = _audit_steps(workflow)
    assert [s.get("id") for s in steps][:1] == ["audit"]
    audit_step = steps[0]
    assert "--output-dir audit-report" in audit_step["run"] and "--format html,json,md,junit,sarif" in audit_step["run"]
    # The compare step and the uploads run after the audit step, whatever its exit code.
    names = [s.get("name") for s in job["steps"]]
    assert all(names.index(s["name"]) > names.index(audit_step["name"]) for s in uploads)
    for step in steps:
        assert "${{" not in step["run"], "expressions go through env:, never into a script"
        if step is not audit_step:
            assert str(step.get("if", "")).startswith("always()"), step["name"]
    # The baseline fetch writes where the audit step reads it.
    fetch = next(s for s in job["steps"] if "gh run download" in s.get("run", ""))
    assert '--dir "$RUNNER_TEMP/baseline"' in fetch["run"] and "$RUNNER_TEMP/baseline/report.json" in audit_step["run"]


def _run_workflow(tmp_path: Path, repo: Path, summary: Path, **extra: str,
                  ) -> list[subprocess.CompletedProcess[str]]:
    """Every step of the workflow that invokes audit, in order, as the runner would: a failed step
    does not stop the `if: always()` ones after it."""
    workflow = _workflow()
    results = []
    for step in _audit_steps(workflow):
        env = _local_env(tmp_path, _plain_env(workflow.get("env"), _job(workflow).get("env"), step.get("env")),
                         GITHUB_STEP_SUMMARY=str(summary), RUNNER_TEMP=str(tmp_path / "runner-temp"), **extra)
        if results and results[0].returncode != 0:
            assert str(step.get("if", "")).startswith("always()")
        results.append(_bash(step["run"], repo, env))
    return results


def test_workflow_steps_pass_on_the_clean_service_and_feed_every_upload(tmp_path):
    repo = _checkout(tmp_path, ".github/workflows/audit.yml", GITHUB)
    summary = tmp_path / "step-summary.md"
    summary.write_text("## an earlier step's summary\n", encoding="utf-8")
    (tmp_path / "runner-temp").mkdir()
    audit, compare = _run_workflow(tmp_path, repo, summary)
    assert audit.returncode == 0, _out(audit)
    assert compare.returncode == 0, _out(compare)  # no baseline on a push to main: nothing to compare

    workflow = _workflow()
    out = repo / _step(workflow, "actions/upload-artifact@")["with"]["path"]
    assert {"report.html", "report.json", "report.md", "junit.xml", "report.sarif", "service.log"} <= {
        p.name for p in out.iterdir()}
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert sorted(c["id"] for c in report["checks"]) == sorted(FAST_CHECKS)
    assert report["gate"]["exit_code"] == 0 and "baseline" not in report["gate"]
    _sarif_is_valid(repo / _step(workflow, "github/codeql-action/upload-sarif@")["with"]["sarif_file"])
    assert (repo / _step(workflow, "marocchino/sticky-pull-request-comment@")["with"]["path"]).stat().st_size > 0
    # The step summary: appended to, not overwritten, with the Markdown report.
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## an earlier step's summary\n")
    assert (out / "report.md").read_text(encoding="utf-8").strip() in text
    assert not (out / "compare").exists()


def test_workflow_on_a_pull_request_gates_only_what_is_new(tmp_path):
    repo = _checkout(tmp_path, ".github/workflows/audit.yml", GITHUB)
    summary = tmp_path / "step-summary.md"
    baseline = tmp_path / "runner-temp" / "baseline"  # where the fetch step's gh run download puts it
    out = repo / "audit-report"

    # The main branch's run: the service has no health endpoints. Gate fails, reports still written.
    audit, _ = _run_workflow(tmp_path, repo, summary, SAMPLE_DEFECTS="no_health")
    assert audit.returncode == 1, _out(audit)
    _sarif_is_valid(out / "report.sarif")
    assert {"HLT001"} <= {f["rule_id"] for f in _findings(out / "report.json")}
    baseline.mkdir(parents=True)
    shutil.copytree(out, baseline, dirs_exist_ok=True)  # the artifact, as downloaded
    shutil.rmtree(out)

    # A PR that changes nothing: the same findings are known, the gate passes, compare says so.
    audit, compare = _run_workflow(tmp_path, repo, summary, SAMPLE_DEFECTS="no_health")
    assert audit.returncode == 0, _out(audit)
    assert compare.returncode == 0, _out(compare)
    findings = _findings(out / "report.json")
    assert findings and all(f["known"] for f in findings if f["rule_id"].startswith("HLT"))
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["gate"]["baseline"]["new"] == 0 and report["gate"]["baseline"]["known"] >= 1
    assert (out / "compare" / "compare.md").is_file() and (out / "compare" / "compare.json").is_file()
    assert (out / "compare" / "compare.md").read_text(encoding="utf-8").strip() in summary.read_text(encoding="utf-8")
    _sarif_is_valid(out / "report.sarif")
    shutil.rmtree(out)

    # A PR that also drops /metrics: HLT020 is new, the gate fails; compare's own exit 1 is accepted
    # by its step (the audit step already failed for it) and its report names the new finding.
    audit, compare = _run_workflow(tmp_path, repo, summary, SAMPLE_DEFECTS="no_health,no_metrics")
    assert audit.returncode == 1, _out(audit)
    assert compare.returncode == 0, _out(compare)
    new = [f for f in _findings(out / "report.json") if not f["known"]]
    assert "HLT020" in {f["rule_id"] for f in new}
    compared = json.loads((out / "compare" / "compare.json").read_text(encoding="utf-8"))
    assert compared["exit_code"] == 1 and "HLT020" in {f["rule_id"] for f in compared["findings"]["new"]}
    _sarif_is_valid(out / "report.sarif")


def test_workflow_audit_step_exits_2_when_the_service_cannot_start(tmp_path):
    repo = _checkout(tmp_path, ".github/workflows/audit.yml", GITHUB)
    workflow = _workflow()
    step = _audit_steps(workflow)[0]
    env = _local_env(tmp_path, _plain_env(workflow.get("env"), _job(workflow).get("env"), step.get("env")),
                     GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"), RUNNER_TEMP=str(tmp_path))
    env["SERVICE_CMD"] = f"{shlex.quote(sys.executable)} -c 'raise SystemExit(3)' --port {{port}}"
    proc = _bash(step["run"], repo, env)
    assert proc.returncode == 2, _out(proc)  # untrusted: fails the step like a failed gate
    assert "error:" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------------------- GitLab


def test_gitlab_job_structure_keeps_artifacts_always_and_reports_junit():
    job = _load(GITLAB)["audit"]
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    junit = artifacts["reports"]["junit"]
    assert junit == "audit-report/junit.xml"
    assert any(junit.startswith(p.rstrip("/") + "/") for p in artifacts["paths"])  # browsable too
    script = "\n".join(job["script"])
    assert AUDIT_LINE.search(script) and "--output-dir audit-report" in script and "junit" in script
    assert not AUDIT_LINE.search("\n".join(job["before_script"]))  # installs and the fetch only
    assert any("merge_request_event" in r["if"] for r in job["rules"])
    # The baseline is fetched to where the script reads it, outside the checkout.
    assert '"$BASELINE_DIR/report.json"' in "\n".join(job["before_script"]) and "$BASELINE_DIR/report.json" in script
    assert not job["variables"]["BASELINE_DIR"].startswith(("./", "audit-report"))


def test_gitlab_job_exit_code_is_the_job_status_and_junit_lands_where_the_report_points(tmp_path):
    repo = _checkout(tmp_path, ".gitlab-ci.yml", GITLAB)
    job = _load(GITLAB)["audit"]
    baseline_dir = tmp_path / "baseline"
    env = _local_env(tmp_path, _plain_env(job["variables"]), BASELINE_DIR=str(baseline_dir),
                     SAMPLE_DEFECTS="no_health")
    script = _bash("\n".join(job["script"]), repo, env)
    assert script.returncode == 1, _out(script)  # the gate failed: so does the job

    junit = repo / job["artifacts"]["reports"]["junit"]
    suites = {s.get("name"): s for s in ET.parse(junit).getroot().iter("testsuite")}
    assert set(FAST_CHECKS) <= set(suites)
    failures = [tc.get("name", "") for tc in suites["health"].iter("testcase") if tc.find("failure") is not None]
    assert any("HLT001" in name for name in failures), failures
    for path in job["artifacts"]["paths"]:
        assert (repo / path).exists()
    _sarif_is_valid(repo / "audit-report" / "report.sarif")

    # after_script with the main branch's report in $BASELINE_DIR: compare runs, and whatever it exits,
    # after_script never changes the job's status (GitLab ignores it; the template adds `|| true`).
    baseline_dir.mkdir()
    shutil.copy(repo / "audit-report" / "report.json", baseline_dir / "report.json")
    after = _bash("\n".join(job["after_script"]), repo, env)
    assert after.returncode == 0, _out(after)
    compared = json.loads((repo / "audit-report" / "compare" / "compare.json").read_text(encoding="utf-8"))
    assert compared["exit_code"] == 0 and not compared["findings"]["new"]


# ------------------------------------------------------------------------------------------- pre-commit


def _hooks() -> dict[str, dict[str, Any]]:
    return {hook["id"]: hook for hook in _load(HOOKS)}


def _repo_only_checks() -> set[str]:
    return {cid for cid, check in load_checks().items() if not check.needs & {"service", "spec", "database"}}


def _entry_checks(entry: str) -> set[str]:
    argv = shlex.split(entry)
    return set(argv[argv.index("--checks") + 1].split(","))


def test_hook_definitions_are_repo_only_fast_and_installable():
    hooks = _hooks()
    assert set(hooks) == {"backend-auditor", "backend-auditor-dependencies"}
    for hook in hooks.values():
        assert {"id", "name", "entry", "language"} <= set(hook)  # what pre-commit requires
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert shlex.split(hook["entry"])[:4] == ["audit", "run", "--repo", "."]
        assert _entry_checks(hook["entry"]) <= _repo_only_checks()
        assert "coverage" not in _entry_checks(hook["entry"])  # runs the whole test suite: not per commit
    # language: python installs this repository: its console script is the entry's `audit`.
    assert 'audit = "auditor.cli:main"' in (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # The dependency audit runs only when a manifest is staged.
    files = re.compile(hooks["backend-auditor-dependencies"]["files"])
    for name in ("requirements.txt", "svc/requirements-dev.in", "pyproject.toml", "poetry.lock", "uv.lock"):
        assert files.search(name), name
    for name in ("app.py", "docs/requirements.md", "README.md"):
        assert not files.search(name), name
    # The example config uses exactly these hooks.
    example = _load(PRE_COMMIT_EXAMPLE)
    assert {h["id"] for r in example["repos"] for h in r["hooks"]} == set(hooks)


def _run_hook(hook: dict[str, Any], repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """As pre-commit runs a hook: the entry split with shlex, its args appended, no shell, no filenames,
    in the repository's root."""
    return subprocess.run([*shlex.split(hook["entry"]), *args], cwd=repo, env=_base_env(), text=True,
                          capture_output=True, timeout=120)


def test_hook_passes_a_clean_repo_and_blocks_a_committed_secret(tmp_path):
    repo = _checkout(tmp_path, ".pre-commit-config.yaml", PRE_COMMIT_EXAMPLE)
    (repo / ".gitignore").write_text(".audit-report/\n", encoding="utf-8")  # as docs/ci.md tells users
    hook = _hooks()["backend-auditor"]
    clean = _run_hook(hook, repo)
    assert clean.returncode == 0, _out(clean)
    report = repo / ".audit-report" / "report.md"
    assert "READY" in report.read_text(encoding="utf-8")
    assert clean.stdout.startswith("verdict:")  # --quiet: no progress lines, the verdict first

    (repo / "deploy_settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n', encoding="utf-8")
    _git(repo, "add", "deploy_settings.py")  # staged, as in a pre-commit run
    blocked = _run_hook(hook, repo)
    assert blocked.returncode == 1, _out(blocked)
    assert "deploy_settings.py" in blocked.stdout
    assert AWS_KEY not in blocked.stdout + blocked.stderr + report.read_text(encoding="utf-8")
    # The repo's own policy applies to the hook as it does in CI: a check at level warn never blocks.
    (repo / "pyproject.toml").write_text('[tool.auditor.policy.levels]\nsecurity = "warn"\n', encoding="utf-8")
    warned = _run_hook(hook, repo)
    assert warned.returncode == 0, _out(warned)
    (repo / "pyproject.toml").unlink()
    # args: appended by pre-commit; the last --checks wins, so a user can narrow the hook.
    narrowed = _run_hook(hook, repo, "--checks", "deployment")
    assert narrowed.returncode == 0, _out(narrowed)


def test_dependencies_hook_audits_offline_with_a_vuln_db(tmp_path):
    repo = _checkout(tmp_path, ".pre-commit-config.yaml", PRE_COMMIT_EXAMPLE)
    hook = _hooks()["backend-auditor-dependencies"]
    proc = _run_hook(hook, repo, "--vuln-db", str(REPO_ROOT / "tests" / "data" / "osv" / "vulns"))
    assert proc.returncode == 0, _out(proc)
    md = (repo / ".audit-report" / "dependencies" / "report.md").read_text(encoding="utf-8")
    assert "dependencies" in md and "NOT AUDITED" not in md
