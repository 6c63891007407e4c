from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stub_server import StubServer

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


def run_audit_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                  timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The real `audit` command in a subprocess, as a user or CI runs it."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    full_env = {k: v for k, v in full_env.items() if not k.startswith("AUDIT_") or (env and k in env)}
    return subprocess.run([sys.executable, "-m", "auditor", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout)
