"""Helpers for the deployment check's tests: fixture repos copied to a temp dir (optionally made a git
repository), and the check run on them through a real AuditContext."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from auditor.model import CheckResult, Outcome
from auditor.service import ServiceProcess
from checks.deployment import DeploymentCheck
from checks.deployment.config import DeploymentConfig
from tests.conftest import check_context

REPOS = Path(__file__).resolve().parents[1] / "data" / "deploy_repos"


def copy_repo(name: str, tmp_path: Path, *, git: bool = False) -> Path:
    """tests/data/deploy_repos/<name> in tmp_path/<name> (outside any git checkout unless git=True)."""
    target = tmp_path / name
    shutil.copytree(REPOS / name, target)
    if git:
        git_commit_all(target)
    return target


def git_commit_all(repo: Path) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "fixture"], check=True, env=env)


def run_check(repo: Path, tmp_path: Path, *, config: dict[str, Any] | None = None,
              service: ServiceProcess | None = None, service_log: Path | None = None,
              earlier: dict[str, CheckResult] | None = None, settings: dict[str, Any] | None = None) -> Outcome:
    work = tmp_path / "check-tmp"
    work.mkdir(exist_ok=True)
    ctx = check_context(service.url if service else None, DeploymentConfig(**(config or {})), work, repo=repo,
                        service_log=service_log, settings=settings)
    ctx.artifacts.service = service
    ctx.earlier = earlier or {}
    with ctx.http:
        return DeploymentCheck().run(ctx)


def items(outcome: Outcome) -> dict[str, dict[str, Any]]:
    """Checklist rows by item title."""
    return {row["item"]: row for row in outcome.metrics["checklist"]}


def rule_ids(outcome: Outcome) -> list[str]:
    return sorted(f.rule_id for f in outcome.findings)


def by_rule(outcome: Outcome, rule_id: str) -> list[Any]:
    return [f for f in outcome.findings if f.rule_id == rule_id]
