"""MariaDB live capture (--db-url mysql://...), through the CLI against a real service on a real MariaDB:
the N+1 list endpoint is found with its exact per-request statement count, the clean one is not, and the
server's general_log and log_output are identical before and after the audit — also after SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from tests.conftest import run_audit_cli
from tests.services import require_mariadb

AUTHORS = 7

SERVICE = '''\
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import pymysql

DB, PORT = sys.argv[1], int(sys.argv[2])
# The SIGINT test: from its second call on (the first is the planner's preflight, before the capture), the
# joined endpoint marks that it started, then takes long enough to be interrupted.
MARKER = sys.argv[3] if len(sys.argv) > 3 else None
CALLS = []
SPEC = {"openapi": "3.0.3", "info": {"title": "shop", "version": "1"}, "paths": {
    "/authors": {"get": {"operationId": "authors", "responses": {"200": {"description": "ok"}}}},
    "/authors-joined": {"get": {"operationId": "joined", "responses": {"200": {"description": "ok"}}}}}}


def connect():
    return pymysql.connect(host="127.0.0.1", user="root", password="", database=DB, autocommit=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/openapi.json":
            body = SPEC
        elif path in ("/", "/authors"):
            conn = connect()
            with conn, conn.cursor() as cur:
                cur.execute("SELECT id, name FROM authors ORDER BY id")
                authors = [{"id": i, "name": n} for i, n in cur.fetchall()]
                for author in authors:  # the N+1: one query per author
                    cur.execute("SELECT title FROM books WHERE author_id = %s", (author["id"],))
                    author["books"] = [t for (t,) in cur.fetchall()]
            body = {"items": authors}
        elif path == "/authors-joined":
            CALLS.append(1)
            if MARKER and len(CALLS) > 1:
                open(MARKER, "w").close()
                time.sleep(20)
            conn = connect()
            with conn, conn.cursor() as cur:
                cur.execute("SELECT a.id, a.name, b.title FROM authors a LEFT JOIN books b ON b.author_id = a.id")
                body = {"items": [{"id": i, "name": n, "title": t} for i, n, t in cur.fetchall()]}
        else:
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
'''


def _root() -> pymysql.connections.Connection:
    return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)


def _settings() -> tuple:
    conn = _root()
    with conn, conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.general_log, @@GLOBAL.log_output")
        return cur.fetchone()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    require_mariadb()
    name = f"audit_npq_{uuid.uuid4().hex[:8]}"
    conn = _root()
    with conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE TABLE `{name}`.authors (id INT PRIMARY KEY, name VARCHAR(50))")
        cur.execute(f"CREATE TABLE `{name}`.books (id INT PRIMARY KEY, author_id INT, title VARCHAR(50))")
        for i in range(1, AUTHORS + 1):
            cur.execute(f"INSERT INTO `{name}`.authors VALUES (%s, %s)", (i, f"author {i}"))
            cur.execute(f"INSERT INTO `{name}`.books VALUES (%s, %s, %s)", (i, i, f"book {i}"))
    script = tmp_path / "shop.py"
    script.write_text(SERVICE)
    try:
        yield name, script
    finally:
        conn = _root()
        with conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def _args(name: str, script: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--serve", f"{sys.executable} {script} {name} {{port}} {' '.join(extra)}".strip(), "--checks",
            "nplusone",
            "--db-url", f"mysql://root@127.0.0.1:3306/{name}", "--output-dir", str(out)]


def test_mariadb_capture_finds_the_n_plus_one_and_restores_every_setting(shop, tmp_path):
    name, script = shop
    before = _settings()
    out = tmp_path / "out"
    result = run_audit_cli(*_args(name, script, out))
    assert result.returncode == 0, result.stdout + result.stderr  # a medium N+1 (no scaling proof): below the gate
    assert _settings() == before
    check = json.loads((out / "report.json").read_text())["checks"][0]
    assert check["metrics"]["source"] == "mariadb" and "MariaDB/MySQL general query log" in check["metrics"]["method"]
    findings = [f for f in check["findings"] if f["rule_id"] == "NPQ001"]
    assert [f["location"]["endpoint"] for f in findings] == ["GET /authors"]
    rows = {row["path"]: row for row in check["metrics"]["endpoints"]}
    assert rows["/authors"]["queries"] == AUTHORS + 1 and rows["/authors"]["max_repeats"] == AUTHORS
    assert rows["/authors-joined"]["queries"] == 1


def test_sigint_mid_capture_restores_every_setting(shop, tmp_path):
    name, script = shop
    before = _settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIT_")}
    marker = tmp_path / "slow-request-started"
    child = subprocess.Popen([sys.executable, "-m", "auditor", *_args(name, script, tmp_path / "out", str(marker))],
                             env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():  # the profiler is inside the slow request: the capture is on
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the slow request never started"
            time.sleep(0.05)
        assert _settings() != before  # general_log on, for the audit
        child.send_signal(signal.SIGINT)
        _stdout, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 2, stderr
    assert _settings() == before
