"""Purpose-built servers on 127.0.0.1 for the latency check's tests and benchmarks: a known service-time
distribution, periodic stalls, errors only, a server that never answers, one that goes away mid-run.
Each records its own service times, the ground truth the check's figures are compared with."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from auditor.interface import AuditContext
from auditor.model import Outcome
from checks.latency import LatencyCheck
from checks.latency.config import LatencyConfig
from tests.conftest import check_context

GOLDEN = 0.6180339887498949

# A behaviour gets (server, path, request number) and returns (status, body), sleeping as it likes.
Behaviour = Callable[["LatencyServer", str, int], tuple[int, str]]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (timeouts, the end of a run) are expected here


class LatencyServer:
    def __init__(self, behaviour: Behaviour, paths: tuple[str, ...] = ("/a", "/b")) -> None:
        self.behaviour = behaviour
        self.paths = paths
        self.started = time.monotonic()
        self.service_times: list[float] = []     # seconds, measured inside the handler
        self.count = 0
        self.closed = threading.Event()
        self.refusing = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 — http.server's naming
                if server.refusing.is_set():
                    self.close_connection = True
                    return
                began = time.monotonic()
                if self.path in ("/openapi.json",):
                    status, body, ctype = 200, json.dumps(server.spec()), "application/json"
                else:
                    with server._lock:
                        server.count += 1
                        n = server.count
                    status, body = server.behaviour(server, self.path, n)
                    ctype = "text/plain"
                    with server._lock:
                        server.service_times.append(time.monotonic() - began)
                if server.refusing.is_set():
                    self.close_connection = True
                    return
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout, end of the run): not the server's problem
                    self.close_connection = True

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 256
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def spec(self) -> dict[str, Any]:
        return {"openapi": "3.0.3", "info": {"title": "latency test", "version": "1"},
                "paths": {p: {"get": {"operationId": p.strip("/") or "root",
                                      "responses": {"200": {"description": "ok"}}}} for p in self.paths}}

    def go_away(self) -> None:
        """Stop answering: open connections are closed unanswered, new ones refused."""
        self.refusing.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def percentile_ms(self, percent: float) -> float:
        """The server's own service-time percentile (nearest rank), in ms."""
        times = sorted(self.service_times)
        rank = max(0, min(len(times) - 1, int(round(percent / 100 * len(times) + 0.5)) - 1))
        return times[rank] * 1000

    def __enter__(self) -> LatencyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed.set()
        if not self.refusing.is_set():
            self._httpd.shutdown()
            self._httpd.server_close()


def uniform(low_ms: float, high_ms: float) -> Behaviour:
    """Service times spread evenly over [low, high] (golden-ratio sequence: even on any stretch)."""
    def behave(server: LatencyServer, path: str, n: int) -> tuple[int, str]:
        time.sleep((low_ms + (high_ms - low_ms) * ((n * GOLDEN) % 1.0)) / 1000)
        return 200, "ok"
    return behave


def serialised(behaviour: Behaviour) -> Behaviour:
    """The same answers, one request at a time (a single-threaded server): queues build up under load."""
    lock = threading.Lock()

    def behave(server: LatencyServer, path: str, n: int) -> tuple[int, str]:
        with lock:
            return behaviour(server, path, n)
    return behave


def stalls(period_s: float = 3.0, stall_s: float = 1.0, base_ms: float = 1.0) -> Behaviour:
    """Answers in base_ms, except that everything arriving in the first stall_s of each period waits for
    the stall to end (a GC pause, a lock, a full pool)."""
    def behave(server: LatencyServer, path: str, n: int) -> tuple[int, str]:
        phase = (time.monotonic() - server.started) % period_s
        if phase < stall_s:
            time.sleep(stall_s - phase)
        time.sleep(base_ms / 1000)
        return 200, "ok"
    return behave


def fast() -> Behaviour:
    def behave(server: LatencyServer, path: str, n: int) -> tuple[int, str]:
        return 200, "ok"
    return behave


def failing(status: int = 500) -> Behaviour:
    def behave(server: LatencyServer, path: str, n: int) -> tuple[int, str]:
        return status, "boom"
    return behave


def forever() -> Behaviour:
    """Never answers (until the server is closed)."""
    def behave(server: LatencyServer, path: str, n: int) -> tuple[int, str]:
        server.closed.wait(120)
        return 200, "late"
    return behave


@contextmanager
def latency_server(behaviour: Behaviour, paths: tuple[str, ...] = ("/a", "/b")) -> Iterator[LatencyServer]:
    with LatencyServer(behaviour, paths) as server:
        yield server


def run_check(url: str, tmp_path: Path, *, seconds: float = 60, settings: dict[str, Any] | None = None,
              stop_after: float | None = None, **config: Any) -> tuple[Outcome, AuditContext]:
    """Run the latency check against ``url`` (spec discovered at /openapi.json) with a short default run."""
    options = {"rate": 50.0, "duration": 2.0, "warmup": 0.3, "min_samples": 10, **config}
    ctx = check_context(url, LatencyConfig(**options), tmp_path, seconds=seconds, settings=settings or {})
    timer = threading.Timer(stop_after, ctx.stop.set) if stop_after is not None else None
    if timer:
        timer.start()
    try:
        with ctx.http:
            return LatencyCheck().run(ctx), ctx
    finally:
        if timer:
            timer.cancel()


def rules(outcome: Outcome) -> set[str]:
    return {f.rule_id for f in outcome.findings}


def endpoint(outcome: Outcome, path: str) -> dict[str, Any]:
    return next(row for row in outcome.metrics["endpoints"] if row["path"] == path)
