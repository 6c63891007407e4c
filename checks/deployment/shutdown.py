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
    answered_after_signal_s: float | None = None   # > 0: the answer came after SIGTERM was sent

    def row(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error,
                "answered_after_signal_ms": None if self.answered_after_signal_s is None
                else round(self.answered_after_signal_s * 1000, 1)}


@dataclass
class Measurement:
    path: str
    probes: list[Probe] = field(default_factory=list)
    stop: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None      # why it could not be measured (service not answering)

    @property
    def in_flight(self) -> int:
        """Requests outstanding when SIGTERM was sent: sent before it, answered (or dropped) after it."""
        return sum(1 for p in self.probes if p.answered_after_signal_s is None or p.answered_after_signal_s > 0)

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

    for conn in connections:
        conn.sock.settimeout(READ_TIMEOUT_S)
        conn.request("GET", path)  # returns once the bytes are written to the socket
    probes = [Probe() for _ in connections]
    signal_at: list[float] = []
    readers = [threading.Thread(target=_read, args=(conn, probe, signal_at), daemon=True)
               for conn, probe in zip(connections, probes, strict=True)]
    for reader in readers:
        reader.start()
    signal_at.append(time.monotonic())
    result.stop = service.stop()  # SIGTERM now; returns when the process is gone (SIGKILL after 10 s)
    for reader in readers:
        reader.join(READ_TIMEOUT_S)
    for conn in connections:
        conn.close()
    result.probes = probes
    return result


def _read(conn: http.client.HTTPConnection, probe: Probe, signal_at: list[float]) -> None:
    try:
        response = conn.getresponse()
        response.read()  # a complete answer, body included
        done = time.monotonic()
        probe.status = response.status
    except (OSError, http.client.HTTPException) as exc:
        probe.error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return
    finally:
        # Done with it, as a client is: whether the server drops idle kept-alive connections on its own
        # is not what is measured here (a server waiting for them would be killed after the grace period).
        conn.close()
    # signal_at is filled right before stop(); an answer read before that is "before the signal".
    probe.answered_after_signal_s = done - signal_at[0] if signal_at else -0.0


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
    if stop.get("graceful_shutdown") is False:
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
