"""DPL020 (committed .env): one definition of an env file, shared with the security check, and only keys
that carry a value count as committed configuration."""

from __future__ import annotations

import pytest

from auditor import repofiles
from auditor.model import Severity
from checks.deployment import repo_files
from checks.security import secrets_scan
from tests.checks.deployment_helpers import by_rule, copy_repo, git_commit_all, items, run_check


def test_the_deployment_and_security_checks_share_the_cores_env_file_rule():
    assert repo_files.is_env_file is secrets_scan.is_env_file is repofiles.is_env_file


@pytest.mark.parametrize(("name", "expected"), [
    (".env", True), (".env.production", True), (".env.production.local", True), ("prod.env", True),
    (".env.local", True),
    # Templates people commit on purpose.
    (".env.example", False), (".env.sample", False), (".env.template", False), (".env.local.example", False),
    (".env.dist", False), (".env.tpl", False),
    (".envrc", False), ("environment.py", False),
])
def test_env_file_names(name, expected):
    assert repo_files.is_env_file(name) is expected


def test_a_multi_suffix_env_file_in_the_repo_is_found(tmp_path):
    repo = copy_repo("good", tmp_path)
    (repo / ".env.production.local").write_text("API_TOKEN=tok-live-0123456789\n")
    git_commit_all(repo)
    committed = by_rule(run_check(repo, tmp_path), "DPL020")
    assert [f.location["file"] for f in committed] == [".env.production.local"]
    assert committed[0].severity == Severity.HIGH


def test_only_keys_with_a_value_count(tmp_path):
    repo = copy_repo("good", tmp_path)
    (repo / ".env").write_text("# API_TOKEN=tok-in-a-comment-123\n\nAPI_TOKEN=\nexport SECRET_KEY=\nPASSWORD=''\n"
                               "DEBUG=1\n   \n")
    git_commit_all(repo)
    outcome = run_check(repo, tmp_path)
    [finding] = by_rule(outcome, "DPL020")
    # The secret-named keys are empty: nothing secret is committed, only ordinary configuration.
    assert finding.severity == Severity.MEDIUM
    assert "API_TOKEN" not in finding.message and "SECRET_KEY" not in finding.message
    assert finding.evidence == "DEBUG=***"
    assert "tok-in-a-comment" not in repr(outcome)


def test_a_committed_env_file_without_values_is_not_a_finding(tmp_path):
    repo = copy_repo("good", tmp_path)
    (repo / ".env").write_text("# fill these in locally\n\nAPI_TOKEN=\nexport DATABASE_URL=\nDEBUG=\"\"\n")
    git_commit_all(repo)
    outcome = run_check(repo, tmp_path)
    assert not by_rule(outcome, "DPL020")
    detail = items(outcome)["Configuration from the environment, no committed .env"]["detail"]
    assert "no committed .env; without values (a template, not reported): .env" in detail


def test_committed_templates_are_not_env_files(tmp_path):
    repo = copy_repo("good", tmp_path)
    for name in (".env.example", ".env.sample", ".env.template"):
        (repo / name).write_text("API_TOKEN=replace-me-with-a-real-token\nDEBUG=1\n")
    git_commit_all(repo)
    outcome = run_check(repo, tmp_path)
    assert not by_rule(outcome, "DPL020")
    assert "no committed .env" in items(outcome)["Configuration from the environment, no committed .env"]["detail"]
