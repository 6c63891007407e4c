"""Graceful shutdown, measured on the --serve'd service: requests are put in flight, SIGTERM is sent
(ServiceProcess.stop()), and we record whether every request got its complete answer and whether the
process exited within the grace period.

The requests go through raw http.client connections rather than ctx.http on purpose: the measurement
needs to know the moment the request bytes have left (so SIGTERM follows them) and a connection the
server has already accepted (a kept-alive one, warmed up first), neither of which the shared client
exposes. They are anonymous GETs to the loopback service the audit itself started, nothing else.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from auditor.model import Finding
from checks.deployment.rules import make_finding

CONNECT_TIMEOUT_S = 5.0
# Longer than ServiceProcess's 10 s grace period: an answer can only come before the process dies.
READ_TIMEOUT_S = 15.0
# uvicorn re-raises SIGTERM after a clean shutdown: a death by SIGTERM's own default action reads as -15
# (Popen) and is conventional; 128+15 is what a shell reports for it.
CONVENTIONAL_EXIT = (0, -15, 143)


class Stoppable(Protocol):
    def stop(self) -> dict[str, Any]: ...


@dataclass
class Probe:
    status: int | None = None
    error: str | None = None
    # Whether the answer (or a close) was already waiting in the socket just before SIGTERM was sent: such
    # a request was not in flight at the signal.
    answered_before_signal: bool = False
    answered_after_s: float | None = None   # when its answer was complete, in seconds after the signal

    def row(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error, "answered_before_signal": self.answered_before_signal,
                "answered_after_ms": None if self.answered_after_s is None else round(self.answered_after_s * 1000, 1)}


@dataclass
class Measurement:
    path: str
    probes: list[Probe] = field(default_factory=list)
    stop: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None      # why it could not be measured (service not answering)

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered when SIGTERM was sent."""
        return sum(1 for p in self.probes if not p.answered_before_signal)

    def to_metrics(self) -> dict[str, Any]:
        return {"path": self.path, "requests": len(self.probes), "in_flight_at_sigterm": self.in_flight,
                "completed": sum(1 for p in self.probes if p.status is not None),
                "graceful_shutdown": self.stop.get("graceful_shutdown"),
                "shutdown_s": self.stop.get("shutdown_s"), "exit_code": self.stop.get("exit_code"),
                "problem": self.problem}


def measure(service: Stoppable, url: str, path: str, requests: int) -> Measurement:
    """Warm up ``requests`` kept-alive connections, send one more GET on each, then SIGTERM at once."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = Measurement(path=path)
    connections: list[http.client.HTTPConnection] = []
    try:
        for _ in range(requests):
            conn = http.client.HTTPConnection(host, port, timeout=CONNECT_TIMEOUT_S)
            connections.append(conn)
            conn.request("GET", path, headers={"Connection": "keep-alive"})
            response = conn.getresponse()
            response.read()
            if response.will_close:
                result.problem = f"GET {path} closes the connection after answering (no keep-alive)"
                break
    except (OSError, http.client.HTTPException) as exc:
        result.problem = f"the service does not answer GET {path}: {exc or type(exc).__name__}"
    if result.problem:
        for conn in connections:
            conn.close()
        return result  # the service is left running: the runner stops it (and records that) at the end

    probes = [Probe() for _ in connections]
    go = threading.Event()
    signal_at: list[float] = []

    def reader() -> None:
        go.wait(READ_TIMEOUT_S)  # nothing may be read before the peek
        for conn, probe in zip(connections, probes, strict=True):
            _read(conn, probe, signal_at[0] if signal_at else time.monotonic())

    # The reader thread is started before the requests go out, so that nothing (no thread start) sits
    # between the last request and the signal: a fast service would otherwise answer before SIGTERM.
    thread = threading.Thread(target=reader, name="deployment-shutdown-reader", daemon=True)
    thread.start()
    try:
        for conn in connections:
            conn.sock.settimeout(READ_TIMEOUT_S)
            conn.request("GET", path)  # returns once the bytes are written to the socket
    except (OSError, http.client.HTTPException) as exc:
        result.problem = f"the service stopped answering before SIGTERM: {exc or type(exc).__name__}"
        go.set()
        thread.join(READ_TIMEOUT_S)
        return result
    # Peek, then signal at once (microseconds apart): an answer already waiting was not in flight.
    for conn, probe in zip(connections, probes, strict=True):
        probe.answered_before_signal = _waiting(conn)
    signal_at.append(time.monotonic())
    go.set()
    result.stop = service.stop()  # SIGTERM now; returns when the process is gone (SIGKILL after 10 s)
    thread.join(READ_TIMEOUT_S)
    result.probes = probes
    # The report's service block then says what DPL030 says: not graceful when a request was dropped.
    service.record_in_flight(len(probes), sum(1 for p in probes if p.status is None))
    result.stop = service.stop()
    return result


def _waiting(conn: http.client.HTTPConnection) -> bool:
    """Is anything (an answer, or the end of the connection) already readable, without consuming it?"""
    sock = conn.sock
    timeout = sock.gettimeout()
    sock.settimeout(0)  # with a timeout, Python would wait for data before peeking
    try:
        sock.recv(1, socket.MSG_PEEK)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset before the signal: not a request in flight either
    finally:
        sock.settimeout(timeout)


def _read(conn: http.client.HTTPConnection, probe: Probe, signal_at: float) -> None:
    try:
        response = conn.getresponse()
        response.read()  # a complete answer, body included
        probe.answered_after_s = time.monotonic() - signal_at
        probe.status = response.status
    except (OSError, http.client.HTTPException) as exc:
        probe.error = f"{type(exc).__name__}: {exc}".rstrip(": ")
    finally:
        # Done with it, as a client is: whether the server drops idle kept-alive connections on its own
        # is not what is measured here (a server waiting for them would be killed after the grace period).
        conn.close()


def judge(m: Measurement) -> tuple[list[Finding], str, bool]:
    """(findings, detail, conclusive). Location: the service, as the behaviour belongs to no file."""
    location = {"endpoint": f"GET {m.path}"}
    findings: list[Finding] = []
    stop = m.stop
    dropped = [p for p in m.probes if p.status is None]
    exit_code = stop.get("exit_code")
    took = stop.get("shutdown_s")
    if dropped:
        findings.append(make_finding(
            "DPL030", f"{len(dropped)} of {len(m.probes)} GET {m.path} requests in flight when SIGTERM was sent "
            f"got no complete answer ({dropped[0].error or 'no answer'}).", location,
            evidence=f"exit code {exit_code}, shut down in {took} s"))
    if stop.get("exited_on_sigterm", stop.get("graceful_shutdown")) is False:
        findings.append(make_finding(
            "DPL031", f"The service was still running {took} s after SIGTERM and was killed (SIGKILL).",
            location, evidence=f"exit code {exit_code}"))
    elif exit_code not in CONVENTIONAL_EXIT and exit_code is not None:
        findings.append(make_finding("DPL032", f"The service exited with code {exit_code} after SIGTERM.",
                                     location, evidence=f"shut down in {took} s"))
    answered = len(m.probes) - len(dropped)
    conclusive = m.in_flight > 0
    detail = (f"measured: SIGTERM with {m.in_flight} of {len(m.probes)} GET {m.path} in flight; "
              f"{answered} answered, exit code {exit_code} after {took} s")
    if not conclusive:
        detail += " (every answer came before the signal: in-flight handling not observed)"
    return findings, detail, conclusive
