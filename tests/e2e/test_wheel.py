"""What users install is what is tested (issue 20): the sdist and the wheel built as a release builds them
(``python -m build``: the sdist, then the wheel from the sdist), the wheel installed — not editable, with
its dependencies and the ``[demo]`` extra — into a fresh venv, and the installed ``audit`` run from a
directory unrelated to this checkout: `audit demo` says READY (exit 0) exactly as the checkout's does
(tests/e2e/demo_helpers.py), and `audit checks`, `audit report` and bad input answer as documented.

The install reuses pip's cache. The build copies the checkout's files (tracked and untracked, minus what
.gitignore ignores) to a temporary directory first, so nothing is written into the checkout. The measured
figures are printed (``-s`` shows them); none is asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.demo_helpers import CLEAN_STATUSES, assert_clean_demo, clean_demo_args

pytestmark = pytest.mark.timeout(900)

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Built:
    source: Path
    files: list[str]                     # what the source tree holds, relative, as git lists it
    sdist: Path
    wheel: Path
    figures: dict[str, float] = field(default_factory=dict)


def _source_files() -> list[str]:
    listed = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, check=True).stdout.decode()
    # a file deleted in the work tree (still in the index) is not part of what is being built
    return sorted(name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file())


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(cmd[:4])} ... exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("wheel")
    source, dist = work / "source", work / "dist"
    files = _source_files()
    for name in files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, source / name)
    began = time.monotonic()
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)])
    figures = {"build_s": time.monotonic() - began}
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    figures["wheel_kb"] = wheel.stat().st_size / 1024
    figures["sdist_kb"] = sdist.stat().st_size / 1024
    return Built(source, files, sdist, wheel, figures)


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment a user's shell would give: nothing of this checkout or this test run."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AUDIT_", "PYTHON", "VIRTUAL_ENV", "PYTEST", "COV_")) and k != "GITHUB_STEP_SUMMARY"}
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv)
    return {**env, "NO_COLOR": "1", "COLUMNS": "200"}


def test_the_wheel_holds_every_file_of_its_packages_and_the_sdist_every_source_file(built: Built):
    packages = tomllib.loads((built.source / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    roots = sorted({pattern.rstrip("*").rstrip(".") for pattern in packages["include"]})
    assert roots == ["auditor", "checks", "reports", "sample_service"]
    expected = {name for name in built.files if name.split("/", 1)[0] in roots}
    with zipfile.ZipFile(built.wheel) as wheel:
        shipped = {name for name in wheel.namelist() if ".dist-info/" not in name}
    assert sorted(expected - shipped) == []   # e.g. sample_service/Dockerfile, RUNBOOK.md, requirements.txt
    assert sorted(shipped - expected) == []   # and nothing else (no tests/, no build debris)
    for data in ("sample_service/Dockerfile", "sample_service/Dockerfile.dockerignore", "sample_service/RUNBOOK.md",
                 "sample_service/requirements.txt", "sample_service/alembic.ini", "auditor/report.schema.json"):
        assert data in shipped, data
    with tarfile.open(built.sdist) as sdist:
        top = sdist.getnames()[0].split("/", 1)[0]
        in_sdist = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name and sdist.getmember(name).isfile()}
    assert sorted(set(built.files) - in_sdist) == []   # the sdist is the whole source: tests, docs, benchmarks
    assert top == built.sdist.name.removesuffix(".tar.gz")


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "venv"
    began = time.monotonic()
    _run([sys.executable, "-m", "venv", str(venv)])
    # a real install: the wheel, its dependencies and the demo extra, resolved by pip (cache reused)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{built.wheel}[demo]"], env=_clean_env(),
         cwd=venv.parent)
    built.figures["install_s"] = time.monotonic() - began
    return venv


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory unrelated to the checkout (no pyproject.toml, no sample_service beside it)."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


def _audit(venv: Path, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "audit"), *args], cwd=cwd, env=_clean_env(venv), text=True,
                          capture_output=True, timeout=timeout)


def test_the_installed_package_is_not_the_checkout(installed: Path, elsewhere: Path):
    code = ("import json, auditor, checks, reports, sample_service; "
            "print(json.dumps([m.__file__ for m in (auditor, checks, reports, sample_service)]))")
    done = _run([str(installed / "bin" / "python"), "-c", code], cwd=elsewhere, env=_clean_env(installed))
    site = str(installed / "lib")
    assert all(path.startswith(site) for path in json.loads(done.stdout)), done.stdout


def test_installed_audit_demo_is_ready_like_the_checkout(installed: Path, built: Built, elsewhere: Path):
    out = elsewhere / "out"
    began = time.monotonic()
    demo = _audit(installed, "demo", *clean_demo_args(elsewhere), "--output-dir", str(out), cwd=elsewhere)
    built.figures["demo_s"] = time.monotonic() - began
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "verdict: READY (pass, exit 0)" in demo.stdout
    report = assert_clean_demo(out, installed=True)
    assert report["target"]["repo"].startswith(str(installed / "lib")), report["target"]
    print("\nwheel test figures: " + ", ".join(f"{k} {v:.1f}" for k, v in built.figures.items()))

    # the saved report re-rendered by the installed command
    again = elsewhere / "again"
    rendered = _audit(installed, "report", str(out / "report.json"), "--format", "md,html",
                      "--output-dir", str(again), cwd=elsewhere)
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    assert sorted(p.name for p in again.iterdir()) == ["report.html", "report.md"]
    assert "READY" in (again / "report.md").read_text().splitlines()[1]


def test_installed_audit_checks_lists_every_built_in_check(installed: Path, elsewhere: Path):
    done = _audit(installed, "checks", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    assert lines[0][0] == "id" and {line[0] for line in lines[1:]} == set(CLEAN_STATUSES), done.stdout


@pytest.mark.parametrize(("args", "first_line"), [
    (("report", "no-such-report.json"), "error: saved report no-such-report.json does not exist"),
    (("demo", "--defects", "no_such_defect"), "error: --defects: unknown defect 'no_such_defect' (known: "),
    (("run", "--no-such-option"), "Usage: audit run [OPTIONS]"),
])
def test_installed_audit_bad_input_is_exit_2(installed: Path, elsewhere: Path, args: tuple[str, ...],
                                            first_line: str):
    done = _audit(installed, *args, cwd=elsewhere)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[0].startswith(first_line), done.stderr
    if first_line.startswith("error:"):
        assert len(lines) == 1, done.stderr  # one line, as the README promises
    else:
        assert "No such option: --no-such-option" in done.stderr
    assert list(elsewhere.iterdir()) == []  # nothing written where it was run
