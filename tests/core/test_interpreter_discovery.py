"""Which interpreter runs the repo's code (auditor.sandbox.interpreter), on real virtualenvs: the repo's or
a parent's up to the git root, VIRTUAL_ENV, --python relative to the working directory (the venv's
symlink kept), and the auditor's own only as the loud last resort."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from auditor.sandbox.interpreter import InterpreterError, find_python, is_own
from tests.checks.coverage_helpers import git_init, write


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("venvs") / "elsewhere-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, capture_output=True)
    return path


def test_parent_venv_up_to_the_git_root_but_not_above(tmp_path, venv):
    root = tmp_path / "outer" / "mono"
    service = root / "services" / "api"
    write(service / "app.py", "x = 1\n")
    git_init(root)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True, capture_output=True)
    python, why = find_python(service, None, {})
    assert python == root / ".venv" / "bin" / "python" and "a parent of the repo" in why
    # A venv above the git root belongs to something else: not taken.
    (root / ".venv").rename(tmp_path / "outer" / ".venv")
    python, why = find_python(service, None, {})
    assert is_own(why) and python == Path(sys.executable)


def test_virtual_env_is_used_unless_it_is_the_auditors_own(tmp_path, venv):
    repo = tmp_path / "repo"
    repo.mkdir()
    python, why = find_python(repo, None, {"VIRTUAL_ENV": str(venv)})
    assert python == venv / "bin" / "python" and "VIRTUAL_ENV" in why
    python, why = find_python(repo, None, {"VIRTUAL_ENV": sys.prefix})
    assert is_own(why)


def test_relative_python_is_relative_to_the_working_directory_and_keeps_the_venv(tmp_path, venv, monkeypatch):
    monkeypatch.chdir(venv.parent)
    python, why = find_python(tmp_path, f"{venv.name}/bin/python", {})
    assert why == "--python" and python == venv / "bin" / "python"
    assert python.is_symlink()  # the venv's own entry, not the base interpreter it points at
    with pytest.raises(InterpreterError, match="no such file .*relative to the working directory"):
        find_python(tmp_path, "no/such/python", {})
