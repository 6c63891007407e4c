import signal
import sys
import time

import httpx
import pytest

from auditor import service as service_module
from auditor.service import ServiceError, ServiceProcess
from tests.processes import watch_processes

PY = sys.executable


def test_serves_on_a_free_port_captures_output_and_stops_gracefully(tmp_path):
    command = f"{PY} -u -m http.server --bind 127.0.0.1 {{port}}"
    svc = ServiceProcess(command, tmp_path / "out" / "service.log", cwd=tmp_path)
    svc.start(timeout_s=15)
    assert httpx.get(svc.url + "/").status_code == 200
    outcome = svc.stop()
    assert outcome["graceful_shutdown"] is True and outcome["shutdown_s"] < 10
    assert outcome["port"] == svc.port
    assert "GET / HTTP/1.1" in (tmp_path / "out" / "service.log").read_text()


def test_a_service_that_dies_is_reported_with_its_last_lines(tmp_path):
    command = f"{PY} -c \"import sys; print('config missing: DATABASE_URL'); sys.exit(3)\" {{port}}"
    svc = ServiceProcess(command, tmp_path / "service.log")
    with pytest.raises(ServiceError) as err:
        svc.start(timeout_s=15)
    first, *rest = str(err.value).splitlines()
    assert first.startswith("the service exited with code 3 before answering")
    assert any("config missing: DATABASE_URL" in line for line in rest)


def test_a_service_that_never_answers_times_out(tmp_path):
    svc = ServiceProcess(f"{PY} -c \"import time; time.sleep(60)\" {{port}}", tmp_path / "service.log")
    with watch_processes() as watch, pytest.raises(ServiceError,
                                                   match=r"did not answer on http://127.0.0.1:\d+ within 1 s"):
        svc.start(timeout_s=1)
    # waited, then stopped it (SIGTERM, the sleeper's default action): nothing left running
    outcome = svc.stop()
    assert (outcome["graceful_shutdown"], outcome["exit_code"]) == (True, -signal.SIGTERM)
    assert watch.seen and watch.left_after() == []


def test_a_service_ignoring_sigterm_is_killed_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(service_module, "GRACE_PERIOD_S", 1.0)
    script = tmp_path / "stubborn.py"
    script.write_text(
        "import signal, sys, http.server\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)"
        ".serve_forever()\n")
    svc = ServiceProcess(f"{PY} {script} {{port}}", tmp_path / "service.log", cwd=tmp_path)
    svc.start(timeout_s=15)
    outcome = svc.stop()
    assert outcome["graceful_shutdown"] is False and outcome["exit_code"] == -9


def test_command_without_port_placeholder_is_rejected(tmp_path):
    with pytest.raises(ServiceError, match=r"must contain \{port\}"):
        ServiceProcess("python -m http.server", tmp_path / "log").start(timeout_s=1)


def test_missing_executable_is_one_line(tmp_path):
    with pytest.raises(ServiceError, match="could not start 'no-such-binary-xyz'"):
        ServiceProcess("no-such-binary-xyz {port}", tmp_path / "log").start(timeout_s=1)
