"""Reading manifests and lock files: every supported format, includes, and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from checks.dependencies.manifests import exact_version, manifest_kind, read_inventory
from checks.dependencies.model import Package
from tests.checks.dependencies_helpers import REPOS, VULNERABLE_APP


def _declared(inventory):
    return {(d.key, d.version, d.file) for d in inventory.declared}


def test_every_lock_and_manifest_format_is_read(tmp_path):
    inventory = read_inventory(REPOS / "locks")
    pins = {(p.key, p.version) for p in inventory.pins()}
    assert pins == {
        ("pipfile-pinned", "1.1.0"), ("pipfile-any", "3.2.1"), ("pipfile-dev", "2.5.0"),  # Pipfile(.lock)
        ("poetry-pkg", "1.0.0"),                                                           # poetry.lock
        ("pylock-pkg", "4.0.0"),                                                           # pylock.toml
        ("uv-pkg", "2.0.0"),                                                               # uv.lock
        ("group-pinned", "0.5.0"), ("poetry-exact", "1.4.2"), ("poetry-table", "0.7.0"),   # pyproject.toml
        ("base-pkg", "1.0.0"), ("prod-pkg", "2.0.0"),                                      # requirements/
        ("included-pkg", "9.9.9"),                                                         # -r include
    }
    unresolved = {d.key: d.reason for d in inventory.unresolved()}
    # Pinned by a lock elsewhere: not unresolved (pipfile-any "*" is pinned by Pipfile.lock, uv-pkg by uv.lock).
    assert "pipfile-any" not in unresolved and "uv-pkg" not in unresolved
    assert set(unresolved) == {"pipfile-git", "poetry-git", "pylock-vcs", "uv-git", "uv-dynamic", "pep621-url",
                               "group-range", "poetry-caret", "prod-wild"}
    assert "VCS" in unresolved["pipfile-git"] and "no version" in unresolved["uv-dynamic"]
    assert "not pinned" in unresolved["prod-wild"]  # ==2.* is a range
    # Local code and the project itself are neither audited nor reported.
    keys = {d.key for d in inventory.declared}
    assert not keys & {"locks-project", "poetry-local", "pylock-local", "poetry-path", "python"}
    (outside,) = [p for p in inventory.problems]
    assert outside.rule_id == "DEP012" and "outside the repository" in outside.message and outside.line == 3


def test_requirements_lines_keep_their_numbers_and_pins():
    inventory = read_inventory(VULNERABLE_APP)
    lines = {(d.key, d.file): d.line for d in inventory.declared}
    assert lines[("fixture-web", "requirements.txt")] == 2   # the continuation line with --hash
    assert lines[("fixture-last", "requirements.txt")] == 6  # with an environment marker
    assert lines[("fixture-lock", "poetry.lock")] == 4
    assert lines[("fixture-web", "pyproject.toml")] == 6
    assert Package("fixture-parser", "0.9.1") in inventory.pins()  # Fixture_Parser, PEP 503-normalised
    spec = next(d.spec for d in inventory.declared if d.key == "fixture-web" and d.file == "requirements.txt")
    assert "--hash" not in spec
    assert "fixture-app" not in {d.key for d in inventory.declared}  # the project's own extra


def test_exact_version():
    assert exact_version("==1.2.3") == "1.2.3"
    assert exact_version("===1.0-custom") == "1.0-custom"
    assert exact_version("==1.*") is None
    assert exact_version(">=1,<2") is None
    assert exact_version("==1.0,!=1.1") is None
    assert exact_version("not a spec") is None


def test_manifest_names(tmp_path):
    assert manifest_kind(tmp_path / "requirements-dev.txt") == "requirements"
    assert manifest_kind(tmp_path / "dev_requirements.txt") == "requirements"
    assert manifest_kind(tmp_path / "requirements" / "prod.txt") == "requirements"
    assert manifest_kind(tmp_path / "pylock.prod.toml") == "pylock.toml"
    assert manifest_kind(tmp_path / "notes.txt") is None
    assert manifest_kind(tmp_path / "requirementsish.md") is None


def test_virtualenvs_vcs_dirs_and_excluded_dirs_are_not_walked(tmp_path):
    repo = tmp_path / "repo"
    for sub in ("env", ".git", "node_modules", "vendor", "app"):
        (repo / sub).mkdir(parents=True)
        (repo / sub / "requirements.txt").write_text(f"{sub.strip('.')}-pkg==1.0\n")
    (repo / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    inventory = read_inventory(repo, exclude=["vendor"])
    assert {d.key for d in inventory.declared} == {"app-pkg"}


def test_configured_extra_manifest_and_a_missing_one(tmp_path):
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "pins.txt").write_text("extra-pkg==1.0\n")
    inventory = read_inventory(repo, extra=["deploy/pins.txt", "nope.txt"])
    assert _declared(inventory) == {("extra-pkg", "1.0", "deploy/pins.txt")}
    assert [p.message for p in inventory.problems] == ["configured manifest nope.txt does not exist"]


def test_symlinked_directory_is_not_followed_and_link_inside_repo_is_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "requirements.txt").write_text("outside-pkg==1.0\n")
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "clean_app", repo)
    (repo / "linked").symlink_to(outside, target_is_directory=True)
    (repo / "requirements-copy.txt").symlink_to(repo / "requirements.txt")
    inventory = read_inventory(repo)
    assert "outside-pkg" not in {d.key for d in inventory.declared}
    assert ("fixture-web", "1.2.5", "requirements-copy.txt") in _declared(inventory)


def test_include_cycle_terminates(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("-r requirements-b.txt\na==1.0\n")
    (repo / "requirements-b.txt").write_text("-r requirements.txt\nb==2.0\n")
    inventory = read_inventory(repo)
    assert {(p.key, p.version) for p in inventory.pins()} == {("a", "1.0"), ("b", "2.0")}


def test_stop_request_leaves_the_inventory_incomplete():
    inventory = read_inventory(REPOS / "locks", should_stop=lambda: True)
    assert inventory.complete is False and inventory.declared == []


def test_fifo_or_directory_named_like_a_manifest_is_skipped_with_a_note(tmp_path):
    """A FIFO named requirements.txt would block a plain read forever: the inventory runs in a child
    process with a timeout, so this test fails instead of hanging if the FIFO is ever opened."""
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    os.mkfifo(repo / "requirements.txt")
    (repo / "dev-requirements.txt").mkdir()  # a directory: only reachable as a configured manifest
    (repo / "sub" / "requirements.txt").write_text("real-pkg==1.0.0\n")
    script = ("import json, sys\nfrom pathlib import Path\nfrom checks.dependencies.manifests import read_inventory\n"
              "inv = read_inventory(Path(sys.argv[1]), extra=['dev-requirements.txt'])\n"
              "print(json.dumps({'problems': [[p.rule_id, p.file, p.message] for p in inv.problems],"
              " 'pins': sorted(p.key for p in inv.pins())}))\n")
    root = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run([sys.executable, "-c", script, str(repo)], cwd=root, capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("reading the manifests blocked on the FIFO") from None
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout)
    assert got["pins"] == ["real-pkg"]  # the regular manifest is still read
    assert sorted(tuple(p) for p in got["problems"]) == [
        ("DEP012", "dev-requirements.txt", "dev-requirements.txt is not a regular file (a directory): not read"),
        ("DEP012", "requirements.txt", "requirements.txt is not a regular file (a FIFO): not read"),
    ]
