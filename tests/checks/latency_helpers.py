"""Purpose-built servers on 127.0.0.1 for the latency check's tests and benchmarks: a known service-time
distribution, periodic stalls, errors only, a server that never answers, one that goes away mid-run, one
slow only on kept-alive connections, one that leaks memory per request. Each records its own service
times, the ground truth the check's figures are compared with.

Besides in-process servers, the same servers run as their own process (``served``, or as a --serve
command: ``python -m tests.checks.latency_helpers --port {port} ...``), so the check can see the service's
CPU and memory apart from its own; and ``cpu_hog`` keeps the machine's cores busy for a bounded time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
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
    def __init__(self, behaviour: Behaviour, paths: tuple[str, ...] = ("/a", "/b"), *,
                 kept_alive_extra_ms: float = 0.0, port: int = 0) -> None:
        self.behaviour = behaviour
        self.paths = paths
        # Slow only on kept-alive connections: every request after a connection's first waits this long
        # (what Nagle's algorithm meeting delayed ACKs does to a development server, deterministically).
        self.kept_alive_extra_s = kept_alive_extra_ms / 1000
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
                # One handler instance serves one connection: this counts the connection's requests.
                self.served_here = getattr(self, "served_here", 0) + 1
                if self.served_here > 1 and server.kept_alive_extra_s:
                    time.sleep(server.kept_alive_extra_s)
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

        self._httpd = _QuietServer(("127.0.0.1", port), Handler)
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


def seeded(seed: int, draw: Callable[[random.Random], float]) -> Behaviour:
    """Service times (ms) drawn from a seeded random distribution: a known distribution, independent
    samples, the same sequence for the same seed."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def behave(server: LatencyServer, path: str, n: int) -> tuple[int, str]:
        with lock:
            ms = draw(rng)
        time.sleep(ms / 1000)
        return 200, "ok"
    return behave


def leaking(kb_per_request: int) -> Behaviour:
    """Answers at once and keeps kb_per_request of memory for every request, for good (a leak)."""
    kept: list[bytes] = []

    def behave(server: LatencyServer, path: str, n: int) -> tuple[int, str]:
        kept.append(b"\x01" * (kb_per_request * 1024))   # written, so resident, not just reserved
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
def latency_server(behaviour: Behaviour, paths: tuple[str, ...] = ("/a", "/b"), *,
                   kept_alive_extra_ms: float = 0.0) -> Iterator[LatencyServer]:
    with LatencyServer(behaviour, paths, kept_alive_extra_ms=kept_alive_extra_ms) as server:
        yield server


def run_check(url: str, tmp_path: Path, *, seconds: float = 60, settings: dict[str, Any] | None = None,
              stop_after: float | None = None, **config: Any) -> tuple[Outcome, AuditContext]:
    """Run the latency check against ``url`` (spec discovered at /openapi.json) with a short default run
    (connection cost off unless asked for: tests of it say so)."""
    options = {"rate": 50.0, "duration": 2.0, "warmup": 0.3, "min_samples": 10, "connection_pairs": 0, **config}
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


# ---- the same servers in a process of their own, and a CPU hog ---------------------------------------------

def _behaviour(args: argparse.Namespace) -> Behaviour:
    if args.behaviour == "uniform":
        return uniform(args.low, args.high)
    if args.behaviour == "leak":
        return leaking(args.leak_kb)
    if args.slow_paths:
        return per_path({p: uniform(args.low, args.high) for p in args.slow_paths.split(",")}, fast())
    return fast()


def per_path(behaviours: dict[str, Behaviour], default: Behaviour) -> Behaviour:
    """A behaviour per request path (query ignored), ``default`` for the others."""
    def behave(server: LatencyServer, path: str, n: int) -> tuple[int, str]:
        return behaviours.get(path.split("?", 1)[0], default)(server, path, n)
    return behave


def serve_main(argv: list[str]) -> int:
    """``python -m tests.checks.latency_helpers --port P [--behaviour uniform --low 150 --high 250]``: one of
    the servers above in this process until SIGTERM, its parent's death, or --max-s (never left behind)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--behaviour", choices=("fast", "uniform", "leak"), default="fast")
    parser.add_argument("--low", type=float, default=1.0)
    parser.add_argument("--high", type=float, default=2.0)
    parser.add_argument("--leak-kb", type=int, default=64)
    parser.add_argument("--kept-alive-extra-ms", type=float, default=0.0)
    parser.add_argument("--slow-paths", default="", help="fast, except these paths: uniform --low..--high ms")
    parser.add_argument("--paths", default="/a")
    parser.add_argument("--max-s", type=float, default=300.0)
    args = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    parent, end = os.getppid(), time.monotonic() + args.max_s
    with LatencyServer(_behaviour(args), tuple(args.paths.split(",")), port=args.port,
                       kept_alive_extra_ms=args.kept_alive_extra_ms) as server:
        print(server.url, flush=True)
        while not done.wait(0.2) and time.monotonic() < end and os.getppid() == parent:
            pass
    return 0


@contextmanager
def served(*args: str) -> Iterator[tuple[str, int]]:
    """(url, pid) of ``serve_main(args)`` in its own process and session (as --serve starts a service)."""
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen([sys.executable, "-m", "tests.checks.latency_helpers", *args], stdout=subprocess.PIPE,
                            text=True, cwd=root, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": root})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def start_hog(seconds: float, processes: int) -> list[subprocess.Popen[bytes]]:
    """``processes`` processes spinning on a CPU each, each exiting by itself after ``seconds``."""
    return [subprocess.Popen([sys.executable, "-c", HOG.format(seconds=float(seconds))]) for _ in range(processes)]


@contextmanager
def cpu_hog(seconds: float, processes: int = 2) -> Iterator[list[int]]:
    """``processes`` processes spinning on a CPU each. Each exits by itself after ``seconds`` — even if
    the test dies first — and is killed when the block ends, whichever comes first."""
    procs = start_hog(seconds, processes)
    try:
        yield [p.pid for p in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def serve_command(*args: str) -> str:
    """The --serve command for serve_main (quoted for the CLI's shlex split), with {port}."""
    import shlex

    root = str(Path(__file__).resolve().parents[2])
    return " ".join(shlex.quote(a) for a in (f"PYTHONPATH={root}", sys.executable, "-m",
                                            "tests.checks.latency_helpers", "--port", "{port}", *args))


if __name__ == "__main__":
    sys.exit(serve_main(sys.argv[1:]))
