"""The labelled cases of the precision harness (run.py): each writes its fixture into a work dir, yields
the audit's arguments, and labels the findings it must (TRUE) or must never (FALSE) produce."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.checks.test_security_context import FILES as CONTEXT_FILES
from tests.e2e.nplusone_apps import command, seed, write_app
from tests.e2e.test_redaction import LeakyService


@dataclass(frozen=True)
class Label:
    check: str
    rule: str
    where: str              # a substring of the finding's location (JSON) or message
    true: bool = True
    severity: str | None = None   # a TRUE label holds only at this severity (a fixture password: low)


@dataclass
class Case:
    name: str
    start: Callable[[Path], contextmanager]
    labels: list[Label] = field(default_factory=list)


@contextmanager
def _context_repo(work: Path) -> Iterator[list[str]]:
    repo = work / "repo"
    files = {**CONTEXT_FILES,
             ".env": "SECRET_KEY=Zq8vN3pL6wR1tY9kQ2\nDEBUG=0\n",  # pragma: allowlist secret
             "docker-compose.yml": "services:\n  db:\n    image: postgres:16\n    environment:\n"
                                   "      POSTGRES_PASSWORD: postgres\n"}
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    yield ["--repo", str(repo), "--checks", "security"]


@contextmanager
def _leaky_service(work: Path) -> Iterator[list[str]]:
    service = LeakyService()
    with service.stub:
        yield ["--url", service.stub.url, "--header", f"Authorization: Bearer {service.header_token}",
               "--checks", "security", "--load-duration", "1"]


@contextmanager
def _n_plus_one(work: Path) -> Iterator[list[str]]:
    app = write_app("flask", work)
    db = work / "shop.sqlite"
    seed(db)
    yield ["--serve", command("flask", sys.executable, db), "--repo", str(app), "--checks", "nplusone"]


CASES = [
    Case("repo: fixtures, docs, CI, migrations, lock file, seed script next to real secrets", _context_repo, [
        Label("security", "SEC010", "app/settings.py", severity="high"),
        Label("security", "SEC001", "app/run.py", severity="high"),
        Label("security", "SEC012", ".env", severity="high"),
        Label("security", "SEC010", "tests/conftest.py", severity="low"),
        Label("security", "SEC010", "tests/test_login.py", severity="low"),
        Label("security", "SEC013", "tests/fixtures/aws.py", severity="medium"),
        Label("security", "SEC010", "docker-compose.yml", severity="low"),
        # never again (the real-service triage's false positives)
        Label("security", "SEC014", "migrations/versions", true=False),
        Label("security", "SEC014", "package-lock.json", true=False),
        Label("security", "SEC010", ".github/workflows", true=False),
        Label("security", "SEC001", "scripts/seed_data.py", true=False),
    ]),
    Case("service: credentials in answers, cache headers, banner", _leaky_service, [
        Label("security", "SEC025", "GET /users", severity="high"),
        Label("security", "SEC042", "GET /me", severity="medium"),
        Label("security", "SEC040", "BaseHTTP"),
        Label("security", "SEC041", "of"),
        Label("security", "SEC052", "rate-limit"),
        Label("security", "SEC020", "GET /me", true=False),
    ]),
    Case("service: Flask + SQLAlchemy, an N+1 list and a joined one", _n_plus_one, [
        Label("nplusone", "NPQ001", "GET /authors\"", severity="medium"),
        Label("nplusone", "NPQ001", "GET /authors-clean", true=False),
        Label("nplusone", "NPQ003", "GET /authors", true=False),
    ]),
]
