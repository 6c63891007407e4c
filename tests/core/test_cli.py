import json
import os
import signal
import sys

import pytest

from auditor.service import free_port
from tests.conftest import run_audit_cli
from tests.plugins import install_test_plugins
from tests.stub_server import StubServer, echo_headers

SECRET = "Bearer sup3r-secret-token-value"


@pytest.fixture
def plugin_env(tmp_path) -> dict[str, str]:
    root = install_test_plugins(tmp_path / "plugins")
    return {"PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_closed_port_is_exit_2_with_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    proc = run_audit_cli("run", "--url", url, "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == f"error: target {url} is unreachable: connection refused"
    assert not (tmp_path / "out" / "report.json").exists()  # nothing was measured


@pytest.mark.parametrize("args, expected", [
    (["--checks", "nosuch"], "--checks: unknown check id 'nosuch'"),
    (["--skip", "nosuch"], "--skip: unknown check id 'nosuch'"),
    (["--format", "pdf"], "--format: unknown format 'pdf'"),
    (["--fail-on", "severe"], "config fail_on (from --fail-on): Input should be"),
    (["--header", "nocolon-bare-token"], "header #1: expected 'Name: value'"),  # the value is never echoed
])
def test_usage_errors_are_exit_2_with_one_line(stub: StubServer, tmp_path, args, expected):
    proc = run_audit_cli("run", "--url", stub.url, "--output-dir", str(tmp_path / "out"), *args)
    assert proc.returncode == 2
    assert one_error_line(proc.stderr).startswith(f"error: {expected}")


def test_bad_config_key_names_the_key(stub: StubServer, tmp_path):
    cfg = tmp_path / "audit.toml"
    cfg.write_text('[health]\nmetrics_pth = "/m"\n')
    proc = run_audit_cli("run", "--url", stub.url, "--config", str(cfg), "--output-dir", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == "error: config [tool.auditor.health] metrics_pth: unknown key"


def test_unwritable_output_dir_fails_before_auditing(stub: StubServer, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = run_audit_cli("run", "--url", stub.url, "--output-dir", str(blocker / "out"))
    assert proc.returncode == 2
    assert "is not writable" in one_error_line(proc.stderr)
    assert stub.requests == []


def test_crashing_check_is_error_other_checks_still_reported(stub: StubServer, tmp_path, plugin_env):
    stub.routes["/echo"] = echo_headers
    out = tmp_path / "out"
    proc = run_audit_cli("run", "--url", stub.url, "--checks", "crashy,echoer,repoonly", "--output-dir", str(out),
                         "--fail-on", "never", env=plugin_env)
    assert proc.returncode == 2, proc.stderr
    report = json.loads((out / "report.json").read_text())
    statuses = {c["id"]: (c["status"], c["summary"]) for c in report["checks"]}
    assert statuses["crashy"] == ("error", "crashed: RuntimeError: boom from a broken plugin")
    assert statuses["echoer"][0] == "warn"
    assert statuses["repoonly"] == ("skipped", "no repository (give --repo PATH)")
    assert report["verdict"] == "error" and report["gate"]["exit_code"] == 2
    assert "Traceback" not in proc.stderr and "INCOMPLETE" in proc.stdout


def test_deadline_turns_a_hung_check_into_error(stub: StubServer, tmp_path, plugin_env):
    cfg = tmp_path / "audit.toml"
    cfg.write_text("check_timeout = 1\n")
    out = tmp_path / "out"
    proc = run_audit_cli("run", "--url", stub.url, "--checks", "sleepy", "--config", str(cfg),
                         "--output-dir", str(out), env=plugin_env, timeout=20)
    assert proc.returncode == 2
    check = json.loads((out / "report.json").read_text())["checks"][0]
    assert (check["status"], check["summary"]) == ("error", "timed out after 1 s")


def test_read_only_stops_a_check_that_writes(stub: StubServer, tmp_path, plugin_env):
    out = tmp_path / "out"
    proc = run_audit_cli("run", "--url", stub.url, "--checks", "writer", "--read-only", "--output-dir", str(out),
                         env=plugin_env)
    assert proc.returncode == 2
    check = json.loads((out / "report.json").read_text())["checks"][0]
    assert check["summary"].startswith("stopped: POST /things refused")
    assert [m for m, _, _ in stub.requests] == ["GET"]  # the preflight only; the POST never left


def test_read_only_skips_load_checks_unless_config_allows(stub: StubServer, tmp_path, plugin_env):
    base = ["run", "--url", stub.url, "--checks", "loader,echoer", "--read-only", "--format", "json"]
    proc = run_audit_cli(*base, "--output-dir", str(tmp_path / "ro"), env=plugin_env)
    checks = {c["id"]: c for c in json.loads((tmp_path / "ro" / "report.json").read_text())["checks"]}
    assert checks["loader"]["status"] == "skipped", proc.stderr
    assert "allow_load_read_only" in checks["loader"]["summary"]
    cfg = tmp_path / "audit.toml"
    cfg.write_text("[safety]\nallow_load_read_only = true\n")
    run_audit_cli(*base, "--config", str(cfg), "--output-dir", str(tmp_path / "ok"), env=plugin_env)
    checks = {c["id"]: c for c in json.loads((tmp_path / "ok" / "report.json").read_text())["checks"]}
    assert (checks["loader"]["status"], checks["loader"]["summary"]) == ("pass", "loaded")


def test_supplied_header_reaches_the_service_but_no_output(stub: StubServer, tmp_path, plugin_env):
    stub.routes["/echo"] = echo_headers
    out = tmp_path / "out"
    proc = run_audit_cli("run", "--url", stub.url, "--checks", "echoer", "--header", f"Authorization: {SECRET}",
                         "--output-dir", str(out), "--verbose", env=plugin_env)
    assert proc.returncode == 0, proc.stderr
    assert any(h.get("Authorization") == SECRET for _, _, h in stub.requests)
    written = {p.name: p.read_text() for p in out.iterdir() if p.is_file()}
    assert {"report.json", "report.html", "report.md", "junit.xml"} <= set(written)
    for name, text in [*written.items(), ("stdout", proc.stdout), ("stderr", proc.stderr)]:
        assert "sup3r-secret-token-value" not in text, name
    assert "***" in written["report.json"]


def test_gate_exit_codes_follow_fail_on(tmp_path, plugin_env):
    repo = tmp_path / "repo"
    repo.mkdir()
    base = ["run", "--repo", str(repo), "--checks", "failer", "--format", "json"]
    for fail_on, code in (("high", 1), ("critical", 0), ("never", 0)):
        out = tmp_path / fail_on
        proc = run_audit_cli(*base, "--fail-on", fail_on, "--output-dir", str(out), env=plugin_env)
        assert proc.returncode == code, (fail_on, proc.stderr)
        report = json.loads((out / "report.json").read_text())
        assert report["gate"] == {"fail_on": fail_on, "exit_code": code}
        assert report["verdict"] == ("fail" if code else "pass")


def test_report_rerenders_a_saved_report_and_regates(tmp_path, plugin_env):
    repo = tmp_path / "repo"
    repo.mkdir()
    out = tmp_path / "out"
    run_audit_cli("run", "--repo", str(repo), "--checks", "failer", "--output-dir", str(out), env=plugin_env)
    saved = json.loads((out / "report.json").read_text())
    again = tmp_path / "again"
    proc = run_audit_cli("report", str(out / "report.json"), "--output-dir", str(again))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((again / "report.json").read_text()) == saved
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (again / "report.html").read_text()
    proc = run_audit_cli("report", str(out / "report.json"), "--output-dir", str(again), "--fail-on", "never",
                         "--format", "json")
    assert proc.returncode == 0
    regated = json.loads((again / "report.json").read_text())
    assert regated["verdict"] == "pass" and regated["checks"][0]["status"] == "warn"


@pytest.mark.parametrize("content, expected", [
    (None, "does not exist"),
    ("{not json", "not JSON"),
    ('{"schema_version": "1.0"}', "report"),
])
def test_malformed_saved_report_is_exit_2_with_one_line(tmp_path, content, expected):
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content)
    proc = run_audit_cli("report", str(path), "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert expected in one_error_line(proc.stderr)


def test_checks_lists_builtins_and_plugins(plugin_env):
    proc = run_audit_cli("checks", env=plugin_env)
    assert proc.returncode == 0, proc.stderr
    ids = [line.split()[0] for line in proc.stdout.splitlines()[1:] if line.strip()]
    assert ids[0] == "health" and {"crashy", "echoer", "failer"} <= set(ids)


def test_nothing_to_audit_is_a_usage_error(tmp_path):
    proc = run_audit_cli("run", "--output-dir", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == "error: nothing to audit: give --url, --serve or --repo"


def test_service_dying_under_serve_is_exit_2_with_its_last_lines(tmp_path):
    script = tmp_path / "bad_service.py"
    script.write_text("import sys\nprint('cannot connect to database', flush=True)\nsys.exit(4)\n")
    out = tmp_path / "out"
    proc = run_audit_cli("run", "--serve", f"{sys.executable} {script} {{port}}", "--output-dir", str(out))
    assert proc.returncode == 2
    first, *context = proc.stderr.strip().splitlines()
    assert first == "error: the service exited with code 4 before answering; its last output lines:"
    assert context == ["    cannot connect to database"]
    assert "Traceback" not in proc.stderr
    assert (out / "service.log").read_text() == "cannot connect to database\n"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_keeps_what_was_measured_and_stops_the_service(tmp_path, plugin_env, signum):
    import subprocess
    import time

    out, mark = tmp_path / "out", tmp_path / "started"
    env = {**os.environ, **plugin_env, "STOPPER_MARK": str(mark), "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "run", "--serve",
                             f"{sys.executable} -m http.server --bind 127.0.0.1 {{port}}", "--checks", "stopper",
                             "--output-dir", str(out), "--format", "json"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not mark.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert mark.exists(), proc.communicate()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "Traceback" not in stderr
    report = json.loads((out / "report.json").read_text())
    (check,) = report["checks"]
    assert check["status"] == "error"
    assert check["summary"] == "measured 3 ticks (interrupted)" and check["metrics"] == {"ticks": 3}
    assert report["service"]["exit_code"] is not None  # the served process was stopped, not left behind


def test_sigterm_while_waiting_for_the_service_is_one_line_exit_2(tmp_path):
    import subprocess
    import time

    mark = tmp_path / "service-started"
    # The served process marks that it runs (the auditor is then waiting for it to answer), then never answers.
    never_answers = (f"{sys.executable} -c \"import pathlib, sys, time; pathlib.Path(sys.argv[1]).touch(); "
                     f"time.sleep(60)\" {mark} {{port}}")
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "run", "--serve", never_answers,
                             "--output-dir", str(tmp_path / "out")], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not mark.exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "the served process never started"
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert one_error_line(stderr) == "error: interrupted"


def test_writes_enabled_are_said_before_the_audit_and_in_the_report_header(stub: StubServer, tmp_path):
    config = tmp_path / "audit.toml"
    config.write_text("[openapi]\nconformance = false\nwrites = true\n")
    stub.routes["/openapi.json"] = (200, {"Content-Type": "application/json"},
                                    json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                                                "paths": {}}))
    out = tmp_path / "out"
    result = run_audit_cli("run", "--url", stub.url, "--checks", "openapi", "--config", str(config),
                           "--output-dir", str(out), "--quiet")
    notice = f"writes are enabled: openapi may send POST/PUT/PATCH/DELETE requests to {stub.url}"
    assert f"note: {notice}" in result.stderr.splitlines()[0]  # before anything else, even with --quiet
    target = json.loads((out / "report.json").read_text())["target"]
    assert target["safety"] == {"read_only": False, "notices": [notice]}
    assert notice in (out / "report.html").read_text()
    assert "> ▲ writes are enabled: openapi may send POST/PUT/PATCH/DELETE requests to http" in \
        (out / "report.md").read_text()
    # Read-only: writes cannot happen, so nothing is announced.
    result = run_audit_cli("run", "--url", stub.url, "--checks", "openapi", "--config", str(config),
                           "--output-dir", str(out), "--read-only")
    assert "note:" not in result.stderr
    assert json.loads((out / "report.json").read_text())["target"]["safety"] == {"read_only": True, "notices": []}


def test_an_env_key_that_is_not_a_variable_name_is_a_config_error(tmp_path):
    config = tmp_path / "audit.toml"
    config.write_text('[coverage]\nenv = {"BAD-NAME" = "x"}\n')
    result = run_audit_cli("run", "--repo", str(tmp_path), "--checks", "coverage", "--config", str(config),
                           "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: config [tool.auditor.coverage] env: Value error, 'BAD-NAME' is not a valid environment variable "
        "name"]
