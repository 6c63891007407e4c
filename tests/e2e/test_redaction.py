"""Never leak: what the service says back is redacted before any output sees it, through the real CLI.

A fixture service (a purpose-built HTTP server on 127.0.0.1) whose secured `GET /me` answers
`{"user": {"token": "<a fresh JWT>"}}` and sets a session cookie without cache headers (so a finding
quotes the body), and whose public `GET /users` hands every caller the users' bcrypt hashes. The full
audit runs with `--header`; no JWT, cookie value, header value or hash appears in any output file or
on the console, while the findings that quoted them still exist with the values masked.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import bcrypt
import jwt

from auditor.redact import MASK, Redactor, scrub_file
from tests.conftest import run_audit_cli
from tests.stub_server import StubServer

SIGNING_KEY = secrets.token_hex(32)


def _token(subject: str) -> str:
    return jwt.encode({"sub": subject, "iat": int(time.time()), "n": secrets.token_hex(8)}, SIGNING_KEY,
                      algorithm="HS256")


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "leaky", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/me": {"get": {"operationId": "me", "summary": "the current user", "security": [{"bearer": []}],
                        "responses": {"200": {"description": "ok"}, "401": {"description": "no"}}}},
        "/users": {"get": {"operationId": "users", "summary": "every user",
                           "responses": {"200": {"description": "ok"}}}},
    },
}


class LeakyService:
    def __init__(self) -> None:
        self.header_token = _token("auditor")
        self.issued: list[str] = []
        self.cookies: list[str] = []
        self.hashes = [bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode() for p in ("pw-ann", "pw-bob")]
        self.stub = StubServer(routes={
            "/openapi.json": (200, {"Content-Type": "application/json"}, json.dumps(SPEC)),
            "/me": self._me,
            "/users": (200, {"Content-Type": "application/json"},
                       json.dumps({"users": [{"username": "ann", "password_hash": self.hashes[0]},
                                             {"username": "bob", "password_hash": self.hashes[1]}]})),
        })

    def _me(self, handler):  # noqa: ANN001
        if handler.headers.get("Authorization") != f"Bearer {self.header_token}":
            return 401, {"Content-Type": "application/json"}, '{"detail": "not authenticated"}'
        token, cookie = _token("ann"), secrets.token_urlsafe(24)
        self.issued.append(token)
        self.cookies.append(cookie)
        return 200, {"Content-Type": "application/json", "Set-Cookie": f"session={cookie}; Path=/; HttpOnly"}, \
            json.dumps({"user": {"name": "ann", "token": token}})


def test_nothing_the_service_says_back_leaks_and_the_findings_remain(tmp_path):
    service = LeakyService()
    out = tmp_path / "out"
    with service.stub:
        result = run_audit_cli("run", "--url", service.stub.url, "--header",
                               f"Authorization: Bearer {service.header_token}", "--output-dir", str(out),
                               "--load-duration", "2", "--load-rate", "20", timeout=300)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert service.issued, "the audit never fetched /me with its credentials"
    written = sorted(p.name for p in out.iterdir())
    assert {"report.json", "report.html", "report.md", "report.sarif", "junit.xml"} <= set(written)
    everything = result.stdout + result.stderr + "".join(p.read_text(errors="replace") for p in out.iterdir()
                                                         if p.is_file())
    for secret in [service.header_token, *service.issued, *service.cookies, *service.hashes]:
        assert secret not in everything
    for part in service.issued:  # not even the signature alone
        assert part.rsplit(".", 1)[1] not in everything
    report = json.loads((out / "report.json").read_text())
    findings = [f for c in report["checks"] for f in c["findings"]]
    cached = [f for f in findings if f["rule_id"] == "SEC042"]
    assert len(cached) == 1 and f'"token": "{MASK}"' in cached[0]["evidence"]
    assert f"session={MASK}" in cached[0]["evidence"] or "set-cookie: ***" in cached[0]["evidence"].lower()
    exposed = [f for f in findings if f["rule_id"] == "SEC025"]
    assert len(exposed) == 1 and exposed[0]["severity"] == "high"
    assert exposed[0]["location"] == {"endpoint": "GET /users"}
    assert "$.users[].password_hash (password hash)" in exposed[0]["message"]


def test_service_log_is_rewritten_through_the_redactor(tmp_path):
    log = tmp_path / "service.log"
    token = _token("x")
    log.write_bytes(f"INFO issued {token}\nINFO GET /login?password=hunter2 200\nbinary \xff tail\n"
                    .encode("utf-8", "surrogateescape") + b"\xff\n")
    scrub_file(log, Redactor(["my-header-value"]))
    text = log.read_bytes()
    assert token.encode() not in text and b"hunter2" not in text
    assert text.startswith(b"INFO issued ***\nINFO GET /login?password=*** 200\n") and text.endswith(b"\xff\n")


def test_a_hex_revision_id_is_no_secret_and_stays_intact_in_every_message(tmp_path):
    """A migration's revision id is an identifier (never a secret finding); a real secret in the same file is
    found, masked where it stands, while the file name holding the hex id stays as it is."""
    revision = "f3a91c07be24d5a1"
    password = "kR9vT2qLw8zP4mXe"  # pragma: allowlist secret — a fixture value for this test
    repo = tmp_path / "repo"
    versions = repo / "migrations" / "versions"
    versions.mkdir(parents=True)
    name = f"{revision}_add_users.py"
    (versions / name).write_text(f'"""add users\n\nRevision ID: {revision}\n"""\nrevision = "{revision}"\n'
                                 f'down_revision = None\nDB_PASSWORD = "{password}"\n\n\n'
                                 "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")
    out = tmp_path / "out"
    result = run_audit_cli("run", "--repo", str(repo), "--checks", "security", "--output-dir", str(out))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    (check,) = json.loads((out / "report.json").read_text())["checks"]
    assert check["metrics"]["secret_identifiers_dropped"] >= 1
    secrets = [f for f in check["findings"] if f["rule_id"].startswith("SEC01")]
    assert [f["rule_id"] for f in secrets] == ["SEC010"]  # the password, not the revision id
    finding = secrets[0]
    assert finding["severity"] == "low" and "in migrations (not deployed code)" in finding["message"]
    text = finding["message"] + finding["evidence"]
    assert f"migrations/versions/{name}" in text and "versions/*" not in text
    assert password not in (out / "report.json").read_text() and 'DB_PASSWORD = "********"' in finding["evidence"]
