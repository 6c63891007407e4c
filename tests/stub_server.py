"""Small purpose-built HTTP servers for tests: real sockets on 127.0.0.1, answers set per test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# An answer is (status, headers, body) or a callable taking the handler and returning one.
Answer = tuple[int, dict[str, str], bytes | str]
Route = Answer | Callable[["_Handler"], Answer]


@dataclass
class StubServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    default: Answer = (404, {"Content-Type": "text/plain"}, "not found")

    def __post_init__(self) -> None:
        stub = self

        class Handler(_Handler):
            server_stub = stub

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # Poll for shutdown every 50 ms rather than serve_forever's default 0.5 s.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-answer (size caps, timeouts under test) are expected here; anything
        # else still prints, so a broken route is not hidden.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server_stub: StubServer
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without TCP_NODELAY every keep-alive answer would wait
    # ~40 ms for a delayed ACK, and timings measured against the stub would be wrong.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _answer(self) -> None:
        stub = self.server_stub
        stub.requests.append((self.command, self.path, dict(self.headers)))
        route = stub.routes.get(self.path.split("?")[0], stub.default)
        status, headers, body = route(self) if callable(route) else route
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_OPTIONS = do_POST = do_PUT = do_DELETE = do_PATCH = _answer


def slow(seconds: float, answer: Answer) -> Callable[[_Handler], Answer]:
    def route(handler: _Handler) -> Answer:
        time.sleep(seconds)
        return answer

    return route


def echo_headers(handler: _Handler) -> Answer:
    """Echo the request headers back in the body (to prove secrets are masked downstream)."""
    body = "\n".join(f"{k}: {v}" for k, v in handler.headers.items())
    return 200, {"Content-Type": "text/plain"}, body
