"""--serve runs the service from --repo (its relative paths work) and reads `NAME=value cmd` as a shell
does (issue 14: "could not start 'DEBUG=1'")."""

from __future__ import annotations

import json
import sys

from tests.checks.coverage_helpers import write
from tests.conftest import run_audit_cli

SERVER = '''\
import http.server
import json
import os
import sys

# Where it runs and what it was given, for the test to read.
with open("started.json", "w") as handle:
    json.dump({"cwd": os.getcwd(), "flag": os.environ.get("SERVE_FLAG"), "argv": sys.argv[1:]}, handle)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
'''


def test_serve_runs_in_the_repo_with_name_value_prefixes(tmp_path):
    repo = tmp_path / "svc"
    write(repo / "server.py", SERVER)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    done = run_audit_cli("run", "--serve", f"SERVE_FLAG='on air' {sys.executable} server.py {{port}}", "--repo",
                         str(repo), "--checks", "deployment", "--output-dir", str(out), "--format", "json",
                         cwd=elsewhere)
    assert "could not start" not in done.stderr, done.stderr
    started = json.loads((repo / "started.json").read_text())  # server.py was found relative to --repo
    assert started["cwd"] == str(repo) and started["flag"] == "on air" and started["argv"][0].isdigit()
    report = json.loads((out / "report.json").read_text())
    assert report["service"]["exit_code"] is not None and report["checks"][0]["id"] == "deployment"


def test_serve_with_only_assignments_is_one_line_error(tmp_path):
    done = run_audit_cli("run", "--serve", "A=1 PORT={port}", "--output-dir", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "no command to run" in done.stderr and "Traceback" not in done.stderr
