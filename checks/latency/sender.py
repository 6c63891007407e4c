"""The open model's HTTP client: geventhttpclient's connection pool — the client under locust's
FastHttpUser — with each target's request head built once. Imports gevent: load subprocess only.

Why not ``FastHttpUser.client.get``: per request it parses the URL, merges headers twice, validates and
formats the request head, walks a cookie jar and fires locust's request event into locust's own stats,
none of which the check uses (it records its own HdrHistograms). That bookkeeping was most of the
generator's CPU: measured on 2 cores against a trivial loopback server, about 8 k requests per CPU-second
through the session against 22 k for a prebuilt head on the same pool (benchmarks/latency_capacity.py
prints today's figures). The generator's requests per CPU-second decide how much load one process can
offer before its own queueing shows up in the latency it measures.
"""

from __future__ import annotations

import errno
import re
from typing import Any
from urllib.parse import urlsplit

import gevent.socket
from geventhttpclient import HTTPClient
from geventhttpclient.client import HTTPSocketPoolResponse
from geventhttpclient.response import HTTPConnectionClosed

# Browsers and locust send it; a service that compresses answers pays that CPU under the load too.
ACCEPT_ENCODING = "gzip, deflate, br"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SAFE = re.compile(r"[^\x00-\x1f\x7f]*")     # no control characters: no CR/LF injection into the head
BLOCK_SIZE = 64 * 1024


class RequestError(ValueError):
    """A target or header that cannot be put in a request head (one line)."""


class Sender:
    """GET requests to one host through one pool of at most ``concurrency`` kept-alive connections."""

    def __init__(self, base_url: str, headers: dict[str, str], *, concurrency: int, connect_timeout: float,
                 network_timeout: float) -> None:
        parts = urlsplit(base_url)
        self.client = HTTPClient.from_url(base_url, concurrency=concurrency, connection_timeout=connect_timeout,
                                          network_timeout=network_timeout, insecure=True)
        self.pool = self.client._connection_pool
        self.headers_type = self.client.headers_type
        self.prefix = parts.path.rstrip("/")
        port = parts.port
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        self.host = host if port is None else f"{host}:{port}"
        self.headers = {"Accept-Encoding": ACCEPT_ENCODING, **headers}
        self._heads: dict[tuple[str, tuple[tuple[str, str], ...]], bytes] = {}

    def head(self, path: str, extra: dict[str, str] | None = None) -> bytes:
        """The request head for GET ``path``, built once per (path, extra headers)."""
        key = (path, tuple(sorted((extra or {}).items())))
        cached = self._heads.get(key)
        if cached is not None:
            return cached
        target = self.prefix + path
        if not target.startswith("/") or not _SAFE.fullmatch(target) or " " in target:
            raise RequestError(f"cannot request {path!r}: not an origin-form path")
        lines = [f"GET {target} HTTP/1.1", f"Host: {self.host}"]
        for name, value in {**self.headers, **(extra or {})}.items():
            if not _TOKEN.fullmatch(name) or not _SAFE.fullmatch(str(value)):
                raise RequestError(f"header {name!r} cannot be sent (a control character or a bad name)")
            lines.append(f"{name}: {value}")
        try:
            built = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        except UnicodeEncodeError:
            raise RequestError(f"cannot request {path!r}: characters outside latin-1") from None
        self._heads[key] = built
        return built

    def get(self, head: bytes) -> int:
        """Send one prepared request, read the whole answer, return its status. Raises on failure (a
        timeout, a refused or reset connection) like geventhttpclient does; a kept-alive connection the
        server closed meanwhile is retried once on a new one (a GET is safe to repeat)."""
        retries = 1
        while True:
            sock = self.pool.get_socket()
            try:
                sock.sendall(head)
            except gevent.socket.error as exc:
                self.pool.release_socket(sock)
                if retries and exc.errno in (errno.ECONNRESET, errno.EPIPE):
                    retries -= 1
                    continue
                raise
            try:
                # The response returns the socket to the pool when complete, or closes it on error.
                response: Any = HTTPSocketPoolResponse(sock, self.pool, block_size=BLOCK_SIZE, method="GET",
                                                       headers_type=self.headers_type)
            except HTTPConnectionClosed:
                if retries:
                    retries -= 1
                    continue
                raise
            response.read()
            response.release()
            return int(response.status_code or 0)

    def close(self) -> None:
        self.client.close()
