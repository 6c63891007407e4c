"""The real server: CLI, migrations + seed, JSON stdout, a clean exit on SIGTERM, fail-fast config."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.timeout(120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SAMPLE_DEFECTS", "REDIS_URL", "SECRET_KEY", "RATE_LIMIT_PER_MINUTE")}
    return {**env, "DATA_DIR": str(tmp_path / "data"), "BCRYPT_ROUNDS": "4", "SQL_ECHO": "1", **extra}


def test_serve_migrate_seed_then_sigterm(tmp_path: Path) -> None:
    port = free_port()
    out = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "sample_service", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--migrate", "--seed"],
                            cwd=tmp_path, env=_env(tmp_path), stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{base}/livez", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not answer /livez within 30 s"
            time.sleep(0.1)
        resp = httpx.get(f"{base}/books", params={"limit": 3}, headers={"X-Request-ID": "subprocess-test"})
        assert resp.status_code == 200 and resp.json()["total"] == 500
        assert resp.headers["X-Request-ID"] == "subprocess-test" and "server" not in resp.headers
        token = httpx.post(f"{base}/auth/token", data={"username": "admin@example.com",
                                                       "password": "admin-password"}).json()["access_token"]  # pragma: allowlist secret
        assert httpx.get(f"{base}/orders", headers={"Authorization": f"Bearer {token}"}).json()["total"] == 5
        assert httpx.get(f"{base}/readyz").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=45)  # a generous deadline: how fast it stops is not measured here
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("server did not stop after SIGTERM")
        out.close()
    assert code == 0
    assert (tmp_path / "data" / "sample.db").exists()

    lines = [json.loads(line) for line in (tmp_path / "server.log").read_text().splitlines() if line.strip()]
    assert all({"ts", "level", "logger", "request_id"} <= set(e) for e in lines)  # every line is JSON
    sql = [e for e in lines if e["logger"] == "sql" and e["request_id"] == "subprocess-test"]
    assert len(sql) == 3 and all("statement" in e and "duration_ms" in e for e in sql)
    access = [e for e in lines if e["logger"] == "access" and e["request_id"] == "subprocess-test"]
    assert access and access[0]["route"] == "/books" and access[0]["status"] == 200
    assert any("SECRET_KEY is not set" in e.get("message", "") for e in lines)
    assert not any("email-validator" in e.get("message", "") for e in lines)


def test_migrate_and_seed_commands_are_idempotent(tmp_path: Path) -> None:
    for _ in range(2):
        for command in ("migrate", "seed"):
            proc = subprocess.run([sys.executable, "-m", "sample_service", command], cwd=tmp_path,
                                  env=_env(tmp_path, SQL_ECHO="0"), capture_output=True, text=True, timeout=30)
            assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "added 0 users, 0 authors, 0 books, 0 orders" in proc.stdout


def test_unknown_defect_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sample_service", "serve", "--port", str(free_port())],
                          cwd=tmp_path, env=_env(tmp_path, SAMPLE_DEFECTS="n_plus_one,bogus"),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown defect 'bogus'" in lines[0] and "no_rate_limit" in lines[0]
