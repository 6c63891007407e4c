"""Shared pieces of the dependencies check's tests: fixture paths, a fake OSV API on 127.0.0.1 (the
internet's api.osv.dev, mocked), and a way to run the check directly."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from auditor.interface import CheckConfig
from auditor.model import Outcome

from checks.dependencies import DependenciesCheck
from checks.dependencies.config import DependenciesConfig
from tests.conftest import check_context
from tests.stub_server import StubServer

DATA = Path(__file__).resolve().parents[1] / "data"
OSV_DIR = DATA / "osv"
REPOS = DATA / "dep_repos"
VULNERABLE_APP = REPOS / "vulnerable_app"
CLEAN_APP = REPOS / "clean_app"


def run_check(repo: Path, tmp_path: Path, *, vuln_db: Path | None = None, seconds: float = 60,
              **config: Any) -> Outcome:
    ctx = check_context(None, DependenciesConfig(**config), tmp_path, repo=repo, seconds=seconds,
                        settings={"vuln_db": vuln_db})
    with ctx.http:
        return DependenciesCheck().run(ctx)


def run_check_plain(repo: Path, tmp_path: Path, config: CheckConfig, settings: dict[str, Any]) -> Outcome:
    """With a bare CheckConfig, as the runner passes when a test builds the context by hand."""
    ctx = check_context(None, config, tmp_path, repo=repo, settings=settings)
    with ctx.http:
        return DependenciesCheck().run(ctx)


def good_db(tmp_path: Path) -> Path:
    """The fixture OSV database without its broken/ records."""
    target = tmp_path / "osv-good"
    shutil.copytree(OSV_DIR / "vulns", target / "vulns")
    return target


def record(path: Path) -> dict[str, Any]:
    import yaml

    return json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())


def by_rule(outcome: Outcome) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for finding in outcome.findings:
        out.setdefault(finding.rule_id, []).append(finding)
    return out


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeOsvApi:
    """An OSV-API-compatible /v1/query on 127.0.0.1: POST {"package": {"name", "ecosystem"}, "version"} →
    {"vulns": [...]} from a fixed table (name, version) → records; an empty object when none match, as
    api.osv.dev answers. Every query is kept, to prove what pip-audit asked."""

    def __init__(self, answers: dict[tuple[str, str], list[dict[str, Any]]], status: int = 200) -> None:
        self.answers = answers
        self.status = status
        self.queries: list[dict[str, Any]] = []
        self.stub = StubServer(routes={"/v1/query": self._query})

    def _query(self, handler: Any) -> tuple[int, dict[str, str], str]:
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}")
        self.queries.append(body)
        if self.status != 200:
            return self.status, {"Content-Type": "text/plain"}, "unavailable"
        key = (body.get("package", {}).get("name", ""), body.get("version", ""))
        vulns = self.answers.get(key, [])
        return 200, {"Content-Type": "application/json"}, json.dumps({"vulns": vulns} if vulns else {})

    @property
    def url(self) -> str:
        return f"{self.stub.url}/v1/query"


@contextmanager
def fake_osv_api(answers: dict[tuple[str, str], list[dict[str, Any]]], status: int = 200) -> Iterator[FakeOsvApi]:
    api = FakeOsvApi(answers, status)
    with api.stub:
        yield api
