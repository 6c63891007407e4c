"""The deployment check on fixture repositories (tests/data/deploy_repos): what it finds statically."""

from __future__ import annotations

import json
import subprocess

import pytest

from auditor.model import Severity
from checks.deployment.checklist import ITEMS
from tests.checks.deployment_helpers import by_rule, copy_repo, git_commit_all, items, rule_ids, run_check

SECRET = "sup3r-s3cret-value-123"


def test_bad_dockerfile_latest_root_secret_and_no_healthcheck_are_each_found(tmp_path):
    outcome = run_check(copy_repo("bad", tmp_path), tmp_path)
    found = rule_ids(outcome)

    latest = [f for f in by_rule(outcome, "DPL003") if f.location["file"] == "Dockerfile"]
    assert latest and "latest" in latest[0].message and latest[0].location["line"] == 1
    untagged = [f for f in by_rule(outcome, "DPL003") if f.location["file"] == "worker.Dockerfile"]
    assert untagged and "no tag" in untagged[0].message and untagged[0].severity == Severity.HIGH

    root = {f.location["file"]: f for f in by_rule(outcome, "DPL004")}
    assert "no USER" in root["Dockerfile"].message
    assert root["worker.Dockerfile"].location["line"] == 3 and "USER root" in root["worker.Dockerfile"].message

    secret = [f for f in by_rule(outcome, "DPL005")]
    assert len(secret) == 1 and "SECRET_KEY" in secret[0].evidence and secret[0].severity == Severity.HIGH
    assert secret[0].location == {"file": "Dockerfile", "line": 2}
    named = by_rule(outcome, "DPL006")
    assert [f.evidence for f in named] == ["ARG GITHUB_TOKEN"]

    assert "DPL007" in found                      # no HEALTHCHECK, no probes anywhere
    assert by_rule(outcome, "DPL008")[0].evidence == "CMD python app.py"
    assert "DPL010" in found                      # no .dockerignore at all
    assert "DPL021" in found and "DPL040" in found and "DPL041" in found

    rows = items(outcome)
    for title in ("Base image pinned", "Runs as non-root", "No secrets in ENV/ARG"):
        assert rows[title]["status"] == "fail", title
    assert rows["HEALTHCHECK or probe config"]["status"] == "fail"
    assert rows["Runbook / operations docs"]["status"] == "fail" and rows["CI configuration"]["status"] == "warn"
    assert rows["Dockerfile present"]["status"] == "pass"


def test_the_secret_value_never_reaches_the_outcome(tmp_path):
    outcome = run_check(copy_repo("bad", tmp_path), tmp_path)
    dumped = json.dumps({"summary": outcome.summary, "metrics": outcome.metrics,
                         "findings": [f.to_dict() for f in outcome.findings]})
    assert SECRET not in dumped and SECRET[:6] not in dumped
    assert "masked" in by_rule(outcome, "DPL005")[0].evidence


def test_a_well_prepared_repo_passes_every_static_item(tmp_path):
    repo = copy_repo("good", tmp_path, git=True)
    outcome = run_check(repo, tmp_path)
    assert outcome.findings == [], [f"{f.rule_id} {f.message}" for f in outcome.findings]
    rows = items(outcome)
    assert len(rows) == len(ITEMS)
    static = ("Dockerfile present", "Base image pinned", "Runs as non-root", "No secrets in ENV/ARG",
              "HEALTHCHECK or probe config", ".dockerignore excludes .env and .git",
              "Configuration from the environment, no committed .env", "Runbook / operations docs",
              "CI configuration")
    for title in static:
        assert rows[title]["status"] == "pass", (title, rows[title])
    # Nothing ran that could judge these: they say so instead of passing.
    for title in ("Graceful shutdown", "JSON structured logs", "Health and metrics endpoints"):
        assert rows[title]["status"] == "not checked", title
    assert "digest" in rows["Base image pinned"]["detail"]
    assert "probes on 1 of 2 Kubernetes containers" in rows["HEALTHCHECK or probe config"]["detail"]
    assert outcome.metrics["kubernetes_manifests"] == ["deploy/k8s.yaml"]
    assert outcome.metrics["compose_files"] == ["compose.yaml"]
    assert outcome.metrics["ci_files"] == [".github/workflows/ci.yml"]
    assert "app/settings.py:4" in rows["Configuration from the environment, no committed .env"]["detail"]
    # Not measured, but what the repo shows about shutdown is said.
    assert "app/__main__.py:5 (timeout_graceful_shutdown)" in rows["Graceful shutdown"]["detail"]


def test_unparsable_dockerfile_and_manifest_are_findings_not_crashes(tmp_path):
    repo = copy_repo("broken", tmp_path)
    (repo / "Containerfile").write_bytes(b"FROM python:3.12\n\xff\xfe RUN x\n")
    outcome = run_check(repo, tmp_path)
    parse = {f.location["file"]: f for f in by_rule(outcome, "DPL002")}
    assert parse["Dockerfile"].location["line"] == 3 and "FORM" in parse["Dockerfile"].message
    assert "not UTF-8" in parse["Containerfile"].message
    manifest = by_rule(outcome, "DPL016")
    assert [f.location["file"] for f in manifest] == ["k8s/deployment.yaml"]  # not-a-manifest.yaml is not ours
    assert manifest[0].location["line"] > 1
    rows = items(outcome)
    assert rows["Base image pinned"]["status"] == "not checked"
    # The Helm template cannot be parsed as YAML but its probes count.
    assert "Helm" in rows["HEALTHCHECK or probe config"]["detail"]


def test_committed_env_file_is_found_with_values_masked_and_a_local_one_is_not(tmp_path):
    repo = copy_repo("good", tmp_path)
    (repo / ".env").write_text("DATABASE_URL=postgresql://app:pa55word@db/app\nAPI_TOKEN=tok-123456\n")
    (repo / ".env.local").write_text("DEBUG=1\n")
    (repo / ".gitignore").write_text(".env.local\n")
    git_commit_all(repo)
    outcome = run_check(repo, tmp_path)
    committed = by_rule(outcome, "DPL020")
    assert [f.location["file"] for f in committed] == [".env"]
    assert committed[0].severity == Severity.HIGH and "API_TOKEN" in committed[0].message
    assert "pa55word" not in committed[0].evidence and "tok-123456" not in committed[0].evidence
    # The ignore file excludes **/.env, so the image stays clean even with the file present.
    assert not by_rule(outcome, "DPL011")

    subprocess.run(["git", "-C", str(repo), "rm", "-q", "--cached", ".env"], check=True)
    (repo / ".gitignore").write_text(".env.local\n.env\n")
    git_commit_all(repo)
    assert not by_rule(run_check(repo, tmp_path), "DPL020")


def test_dockerignore_without_env_and_git_exclusions(tmp_path):
    repo = copy_repo("good", tmp_path, git=True)
    (repo / ".dockerignore").write_text(".venv\n")
    outcome = run_check(repo, tmp_path)
    env = by_rule(outcome, "DPL011")
    assert env and env[0].severity == Severity.LOW and ".env" in env[0].message
    assert by_rule(outcome, "DPL012")
    (repo / "app" / ".env").write_text("SECRET_KEY=x\n")   # now one exists in a copied directory
    env = by_rule(run_check(repo, tmp_path), "DPL011")
    assert env[0].severity == Severity.MEDIUM and "app/.env" in env[0].message


def test_context_of_a_dockerfile_in_a_subdirectory_is_found_up_to_the_git_root(tmp_path):
    # Like sample_service: built from the repo root with -f svc/Dockerfile and svc/Dockerfile.dockerignore.
    root = tmp_path / "mono"
    svc = root / "svc"
    svc.mkdir(parents=True)
    (svc / "main.py").write_text("import os\nPORT = os.environ['PORT']\n")
    (svc / "Dockerfile").write_text("FROM python:3.12-slim\nCOPY svc /app/svc\nUSER 1000\n"
                                    "HEALTHCHECK CMD true\nCMD [\"python\", \"/app/svc/main.py\"]\n")
    (svc / "Dockerfile.dockerignore").write_text(".git\n**/.env\n")
    (root / ".dockerignore").write_text("# not used: BuildKit prefers svc/Dockerfile.dockerignore\n")
    (root / ".gitlab-ci.yml").write_text("test:\n  script: [pytest]\n")
    git_commit_all(root)
    outcome = run_check(svc, tmp_path)
    rows = items(outcome)
    assert rows[".dockerignore excludes .env and .git"]["status"] == "pass"
    assert "context .." in rows[".dockerignore excludes .env and .git"]["detail"]
    assert outcome.metrics["ci_files"] == ["../.gitlab-ci.yml"]


def test_kubernetes_probes_and_security_context(tmp_path):
    repo = copy_repo("bad", tmp_path)
    (repo / "k8s.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
        "      securityContext: {runAsNonRoot: true}\n      containers:\n        - name: web\n"
        "          image: web:1.0\n          readinessProbe: {httpGet: {path: /readyz, port: 80}}\n"
        "---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  jobTemplate:\n"
        "    spec:\n      template:\n        spec:\n          securityContext: {runAsUser: 1000}\n"
        "          containers: [{name: job, image: 'web:1.0'}]\n")
    outcome = run_check(repo, tmp_path)
    probes = by_rule(outcome, "DPL015")
    assert len(probes) == 1 and "livenessProbe" in probes[0].message and "web" in probes[0].message
    assert probes[0].location == {"file": "k8s.yaml", "line": 9}
    assert "DPL007" not in rule_ids(outcome)   # a readiness probe is probe config
    # Every container runs as non-root in Kubernetes: the missing USER is softened, not dropped.
    assert {f.severity for f in by_rule(outcome, "DPL004")} == {Severity.MEDIUM}


def test_no_dockerfile_is_high_unless_not_required(tmp_path):
    repo = tmp_path / "plain"
    repo.mkdir()
    (repo / "app.py").write_text("import os\nos.environ.get('X')\n")
    outcome = run_check(repo, tmp_path)
    assert by_rule(outcome, "DPL001")[0].severity == Severity.HIGH
    assert items(outcome)["Base image pinned"]["status"] == "not checked"
    relaxed = run_check(repo, tmp_path, config={"require_dockerfile": False})
    assert not by_rule(relaxed, "DPL001")
    assert items(relaxed)["Dockerfile present"]["status"] == "not checked"


def test_runbook_is_the_best_operations_doc_and_a_readme_section_counts(tmp_path):
    repo = copy_repo("bad", tmp_path)
    (repo / "README.md").write_text("# Shop\n\nIntro.\n\n## Deploying to production\n\nSteps.\n")
    assert items(run_check(repo, tmp_path))["Runbook / operations docs"]["detail"] == \
        "README.md (section “Deploying to production”)"
    (repo / "docs" / "ops").mkdir(parents=True)
    (repo / "docs" / "ops" / "notes.md").write_text("x")
    (repo / "docs" / "deployment.md").write_text("x")
    assert run_check(repo, tmp_path).metrics["runbook"] == "docs/deployment.md"
    (repo / "docs" / "RUNBOOK.md").write_text("x")
    assert run_check(repo, tmp_path).metrics["runbook"] == "docs/RUNBOOK.md"
    (repo / "wiki").mkdir()
    (repo / "wiki" / "oncall-guide.md").write_text("x")
    assert run_check(repo, tmp_path, config={"runbook_paths": ["wiki/*.md"]}).metrics["runbook"] == \
        "wiki/oncall-guide.md"
    plain = copy_repo("bad", tmp_path / "plain")
    (plain / "README.md").write_text("# Shop\n\nNothing about running it.\n")
    assert by_rule(run_check(plain, tmp_path), "DPL040")[0].severity == Severity.HIGH


def test_a_production_or_self_hosting_guide_is_an_operations_doc(tmp_path):
    # Open-source services document their operation as "Running in Production" in the README or as a
    # self-hosting guide among their docs: DPL040 (high) would be false for them.
    repo = copy_repo("bad", tmp_path)
    (repo / "README.md").write_text("# Pinger\n\n## Setting Up for Development\n\nx\n\n## Running in Production\n\n"
                                    "Run the web process behind a proxy.\n")
    outcome = run_check(repo, tmp_path)
    assert outcome.metrics["runbook"] == "README.md (section “Running in Production”)"
    assert not by_rule(outcome, "DPL040")
    (repo / "site" / "docs").mkdir(parents=True)
    (repo / "site" / "docs" / "self_hosted_configuration.md").write_text("# Configuration\n")
    assert run_check(repo, tmp_path).metrics["runbook"] == "site/docs/self_hosted_configuration.md"
    # A README about development only still has no operations doc.
    plain = copy_repo("bad", tmp_path / "plain")
    (plain / "README.md").write_text("# Pinger\n\n## Setting Up for Development\n\n## Productivity tips\n")
    assert by_rule(run_check(plain, tmp_path), "DPL040")[0].severity == Severity.HIGH


@pytest.mark.parametrize("ci_file", [
    ".github/workflows/ci.yml", ".gitlab-ci.yml", ".gitea/workflows/build.yaml", ".forgejo/workflows/test.yml",
    ".woodpecker.yml", ".woodpecker/test.yml", ".drone.yml", ".circleci/config.yml", "Jenkinsfile",
    "azure-pipelines.yml", "bitbucket-pipelines.yml", ".buildkite/pipeline.yml", ".travis.yml"])
def test_every_major_ci_system_is_recognised(tmp_path, ci_file):
    repo = tmp_path / "repo"
    (repo / ci_file).parent.mkdir(parents=True, exist_ok=True)
    (repo / ci_file).write_text("steps: []\n")
    (repo / "app.py").write_text("print('hi')\n")
    outcome = run_check(repo, tmp_path)
    assert "DPL041" not in {f.rule_id for f in outcome.findings}
    assert ci_file in outcome.metrics["ci_files"]
