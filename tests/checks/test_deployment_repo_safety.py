"""The deployment check never reads outside the audited repository and never blocks on a special file:
symlinks resolving outside the repo are not followed, FIFOs, sockets and devices are skipped."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from auditor.model import Outcome
from checks.deployment.repo_files import walk
from tests.checks.deployment_helpers import by_rule, copy_repo, items, run_check

OUTSIDE_SECRET = "outside-value-never-read-9f3k2"
JOIN_GUARD_S = 120.0  # a hang guard, not a timing assertion: the check takes about a second


def _outside(tmp_path: Path) -> Path:
    """Files of "the auditor's machine": next to the repo, not in it."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "Dockerfile").write_text(f"FROM python:latest\nENV API_TOKEN={OUTSIDE_SECRET}\n")
    (outside / "secrets.env").write_text(f"API_TOKEN={OUTSIDE_SECRET}\n")
    (outside / "README.md").write_text(f"# {OUTSIDE_SECRET}\n\n## Deployment\n\nsteps\n")
    (outside / "dockerignore").write_text("**/.env\n.git\n")
    return outside


def _run_guarded(repo: Path, tmp_path: Path, fifos: list[Path]) -> Outcome:
    """The check in a thread: a read blocked on a FIFO fails the test instead of hanging the suite."""
    result: dict[str, Outcome] = {}
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result["outcome"] = run_check(repo, tmp_path)
        except BaseException as exc:  # noqa: BLE001 — handed to the test thread
            errors.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(JOIN_GUARD_S)
    finished = not worker.is_alive()
    if not finished:
        for fifo in fifos:  # release the blocked open() so the thread ends with the test
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
    assert finished, "the deployment check blocked on a FIFO"
    assert not errors, errors
    return result["outcome"]


def _unix_socket(path: Path) -> socket.socket:
    """A listening-capable UNIX socket file at ``path`` (bound by its short name: socket paths are limited
    to about 100 bytes and pytest's temp paths can be longer)."""
    sock = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        sock.bind(path.name)
    finally:
        os.chdir(cwd)
    return sock


def test_symlinks_resolving_outside_the_repo_are_not_followed(tmp_path):
    outside = _outside(tmp_path)
    repo = tmp_path / "svc"
    repo.mkdir()
    (repo / "app.py").write_text("import os\nDEBUG = os.environ.get('DEBUG')\n")
    (repo / "Dockerfile").symlink_to(outside / "Dockerfile")
    (repo / ".env").symlink_to(outside / "secrets.env")
    (repo / "README.md").symlink_to(outside / "README.md")
    (repo / ".dockerignore").symlink_to(outside / "dockerignore")

    found = walk(repo)
    assert found.dockerfiles == [] and found.env_files == []
    assert {rel for rel, _ in found.skipped} >= {"Dockerfile", ".env", "README.md", ".dockerignore"}
    assert all("outside the repository" in reason for _, reason in found.skipped)

    outcome = run_check(repo, tmp_path)
    # The outside Dockerfile (latest tag, a secret ENV) and .env were never judged: no Dockerfile at all.
    assert [f.rule_id for f in by_rule(outcome, "DPL001")] == ["DPL001"]
    assert not by_rule(outcome, "DPL003") and not by_rule(outcome, "DPL005") and not by_rule(outcome, "DPL020")
    # The outside README's "Deployment" heading does not count as this repo's runbook.
    assert outcome.metrics["runbook"] is None and by_rule(outcome, "DPL040")
    assert "Dockerfile" in str(outcome.metrics["skipped_files"])
    assert OUTSIDE_SECRET not in repr(outcome)


def test_a_symlink_inside_the_repo_is_still_read(tmp_path):
    repo = copy_repo("bad", tmp_path)
    (repo / "docker").mkdir()
    (repo / "Dockerfile").rename(repo / "docker" / "Dockerfile.real")
    (repo / "Dockerfile").symlink_to(Path("docker") / "Dockerfile.real")
    found = walk(repo)
    assert repo / "Dockerfile" in found.dockerfiles and not found.skipped
    assert by_rule(run_check(repo, tmp_path), "DPL005")


def test_a_fifo_named_like_a_dockerfile_or_env_file_is_skipped_and_the_check_finishes(tmp_path):
    repo = copy_repo("good", tmp_path)
    fifos = [repo / ".env", repo / "app" / "Dockerfile", repo / "deploy" / "pods.yaml", repo / "RUNBOOK.md"]
    (repo / "RUNBOOK.md").unlink()
    for fifo in fifos:
        os.mkfifo(fifo)
    sock = _unix_socket(repo / "app" / "settings.env")
    try:
        found = walk(repo)
        assert not set(fifos) & set(found.dockerfiles + found.env_files + found.yaml_files + found.docs)
        assert repo / "app" / "settings.env" not in found.env_files
        assert {rel for rel, _ in found.skipped} == {".env", "app/Dockerfile", "deploy/pods.yaml", "RUNBOOK.md",
                                                     "app/settings.env"}

        outcome = _run_guarded(repo, tmp_path, fifos)
    finally:
        sock.close()
    assert not by_rule(outcome, "DPL020") and not by_rule(outcome, "DPL002")
    assert items(outcome)["Dockerfile present"]["status"] == "pass"
    assert outcome.metrics["dockerfiles"] == ["Dockerfile"]
