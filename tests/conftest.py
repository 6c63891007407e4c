from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from auditor.artifacts import Artifacts
from auditor.demo import demo_serve_spec
from auditor.http import HttpClient
from auditor.interface import AuditContext, CheckConfig, Target
from auditor.service import ServiceProcess
from tests.services import CI_PROVIDES, ci_provides, skip_allowed_in_ci
from tests.stub_server import StubServer

REPO_ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------------------
# CI runs every test: with AUDIT_CI_PROVIDES set (.ci/run), a skip is a failure unless it is for a
# service CI does not declare (tests/services.py). Outside CI, skips stay skips.
def pytest_configure(config: pytest.Config) -> None:
    ci_provides()  # an unknown service name is a usage error at once, not a surprise later


def _refused_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or ci_provides() is None:
        return
    longrepr = report.longrepr
    reason = (longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)).removeprefix("Skipped: ")
    if skip_allowed_in_ci(reason):
        return
    report.outcome = "failed"
    report.longrepr = (f"skipped in a CI run ({CI_PROVIDES}={os.environ[CI_PROVIDES]}), where every test must "
                       f"run: {reason}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _refused_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _refused_skip(report)
    return report


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


def run_audit_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                  timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The real `audit` command in a subprocess, as a user or CI runs it."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    # Neither the developer's AUDIT_* settings nor a CI job's step summary leak into a test's audit.
    full_env = {k: v for k, v in full_env.items()
                if not (k.startswith("AUDIT_") or k == "GITHUB_STEP_SUMMARY") or (env and k in env)}
    return subprocess.run([sys.executable, "-m", "auditor", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout)


@contextmanager
def sample_service(log_dir: Path, defects: Sequence[str] = (), env: dict[str, str] | None = None,
                   ) -> Iterator[ServiceProcess]:
    """The bundled sample service on SQLite (migrated, seeded, SQL echo on), exactly as `audit demo`
    starts it, on a free loopback port; its combined output in log_dir/service.log."""
    serve, _repo = demo_serve_spec(list(defects))
    service = ServiceProcess(serve.command, log_dir / "service.log", env={**serve.env, **(env or {})},
                             cwd=serve.cwd)
    service.start(60)
    try:
        yield service
    finally:
        service.stop()


def check_context(url: str | None, config: CheckConfig, tmp_path: Path, *, spec: str | None = None,
                  repo: Path | None = None, db_url: str | None = None, service_log: Path | None = None,
                  read_only: bool = True, seconds: float = 120, settings: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> AuditContext:
    """An AuditContext as the runner builds it, for calling a check's run() directly in a test.
    Close ctx.http when done (or use it as a context manager)."""
    http = HttpClient(url, headers=headers or {}, read_only=read_only)
    return AuditContext(target=Target(url=url, spec=spec, repo=repo, db_url=db_url), http=http,
                        artifacts=Artifacts(http, spec=spec, service_log=service_log), config=config,
                        tmp_dir=tmp_path, deadline=time.monotonic() + seconds, read_only=read_only,
                        settings=settings or {})
