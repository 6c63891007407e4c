"""Fixtures of the security check's tests: a repository with known bandit issues and committed
secrets (built in a temp dir: the secrets are assembled at run time so that this source file itself
holds none), and a purpose-built insecure HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.stub_server import Answer, StubServer

# Fake credentials, split so that no scanner flags this file; the fixture files hold them whole.
AWS_KEY = "AKIA" + "ZQ4NDJ7XH2LBUT5E"
GITHUB_TOKEN = "ghp_" + "N8kq2Lr5Vx7Tz1Wb4Yc6Hd9Jf3Gm0Ps8Qa2E"
DB_PASSWORD = "x9Qv" + "T7mLp2Rw8Zk4"
ENV_SECRET = "d8f1" + "c0b94e7a2f6153ad9e0c7b48f2a61d"
LATIN_PASSWORD = "Zr8w" + "Nq5Kt3Hy"
OUTSIDE_SECRET = "ghp_" + "OUTSIDEq2Lr5Vx7Tz1Wb4Yc6Hd9Jf3Gm0Ps8"
PRIVATE_KEY = ("-----BEGIN RSA " + "PRIVATE KEY-----\n"
               "MIIEowIBAAKCAQEAx3vJ8kq2Lr5Vx7Tz1Wb4Yc6Hd9Jf3Gm0Ps8Qa2EN8kq2Lr5Vx7T\n"
               "-----END RSA " + "PRIVATE KEY-----\n")
SECRETS = (AWS_KEY, GITHUB_TOKEN, DB_PASSWORD, ENV_SECRET, LATIN_PASSWORD, OUTSIDE_SECRET)

FILES = {
    "app/__init__.py": "",
    # B404 (import subprocess, low) and B602 (shell=True with a variable: high severity, high confidence).
    "app/shell.py": "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n",
    # B324: md5 for security (high, high).
    "app/crypto.py": "import hashlib\n\n\ndef digest(data):\n    return hashlib.md5(data).hexdigest()\n",
    # B403 import pickle (low) reported; B301 pickle.loads (medium) suppressed by `# nosec`.
    "app/cache.py": "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)  # nosec B301\n",
    # A hard-coded password: detect-secrets' keyword finding (bandit's B105 is left to it).
    "app/db.py": f'db_password = "{DB_PASSWORD}"\n',
    "config/cloud.py": f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\nGITHUB_TOKEN = "{GITHUB_TOKEN}"\n',
    ".env": f"SECRET_KEY={ENV_SECRET}\nDEBUG=1\n",
    ".env.example": "SECRET_KEY=\nDEBUG=1\n",
    "deploy/key.pem": PRIVATE_KEY,
    # Test code: bandit is not run on it by default (its asserts are intended).
    "tests/test_app.py": "def test_x():\n    assert 1 + 1 == 2\n",
}


def make_repo(root: Path, *, outside: Path) -> Path:
    """The fixture repository under root/repo; ``outside`` is a directory outside it (symlink targets)."""
    repo = root / "repo"
    for rel, text in FILES.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    # Not UTF-8 (latin-1 é): bandit cannot parse it; the secret scanner still reads it.
    (repo / "app" / "latin.py").write_bytes(b'name = "caf\xe9"\npassword = "' + LATIN_PASSWORD.encode() + b'"\n')
    # 50 MB (sparse: no time spent writing it): over the size cap, never read.
    with open(repo / "data.bin", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    # Symlinks out of the repository, to a file and a directory holding a secret: never followed.
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "leak.py").write_text(f'TOKEN = "{OUTSIDE_SECRET}"\nimport os\nos.system("ls " + TOKEN)\n')
    os.symlink(outside / "leak.py", repo / "app" / "leak.py")
    os.symlink(outside, repo / "vendor_link")
    return repo


# ---- a purpose-built insecure server ------------------------------------------------------------------

INSECURE_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "insecure", "version": "1"},
    "paths": {
        "/items": {"get": {"operationId": "list_items", "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}],
            "responses": {"200": {"description": "ok"}}}},
        "/secret": {"get": {"operationId": "secret", "security": [{"bearer": []}],
                            "responses": {"200": {"description": "ok"}, "401": {"description": "no"}}}},
        "/private": {"get": {"operationId": "private", "security": [{"bearer": []}],
                             "responses": {"200": {"description": "ok"}, "401": {"description": "no"}}}},
    },
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
}
TRACEBACK = ('Traceback (most recent call last):\n  File "/srv/app/views.py", line 12, in items\n'
             "    limit = int(request.args['limit'])\nValueError: invalid literal for int() with base 10\n")
BANNERS = {"Server": "Werkzeug/3.1.9 Python/3.11.7", "X-Powered-By": "PHP/8.1.2"}


def _insecure(handler, status: int, body: str, content_type: str = "application/json") -> Answer:
    headers = {"Content-Type": content_type, **BANNERS}
    origin = handler.headers.get("Origin")
    if origin:  # echoes any origin, null included, with credentials: the classic CORS hole
        headers.update({"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"})
    return status, headers, body


def insecure_server() -> StubServer:
    """Open secured endpoint (/secret), credentialed CORS echo, tracebacks in 500s, version banners; no
    nosniff, no rate-limit headers. /private checks only that *some* Authorization header is there
    (accepts a bogus token) and answers it without Cache-Control."""

    def items(handler) -> Answer:
        query = parse_qs(urlsplit(handler.path).query)
        limit = query.get("limit", ["10"])[0]
        if not limit.isdigit():
            return _insecure(handler, 500, TRACEBACK, "text/plain")
        return _insecure(handler, 200, json.dumps({"items": [{"id": 1}]}))

    def private(handler) -> Answer:
        if not handler.headers.get("Authorization"):
            return _insecure(handler, 401, '{"detail": "no"}')
        return _insecure(handler, 200, '{"me": 1}')

    return StubServer(routes={
        "/openapi.json": (200, {"Content-Type": "application/json"}, json.dumps(INSECURE_SPEC)),
        "/items": items,
        "/secret": lambda handler: _insecure(handler, 200, '{"secret": 42}'),
        "/private": private,
    }, default=(404, {"Content-Type": "text/plain", **BANNERS}, "not found"))
