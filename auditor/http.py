"""The one HTTP client checks use against the target: bounded in time, size and redirects, and
read-only by construction when the audit must not write.

Why a wrapper and not bare httpx: the caps, the read-only rule and the error wording must hold for
every check, and a check author should not be able to forget them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from auditor.redact import mask_headers

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_CONNECT_TIMEOUT_S = 3.0
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5


class RequestFailed(Exception):
    """The request got no HTTP response (refused, timed out, protocol error)."""


class UnsafeRequest(Exception):
    """A check tried a method the audit's safety rules forbid (read-only target)."""


@dataclass
class HttpResponse:
    method: str
    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    elapsed_s: float

    @property
    def text(self) -> str:
        return self.body.decode(_charset(self.headers), errors="replace")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    def excerpt(self, limit: int = 500) -> str:
        text = self.text
        return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"

    def describe(self) -> str:
        """One evidence line: what was asked and what came back."""
        return f"{self.method} {self.url} → {self.status} ({self.elapsed_s * 1000:.0f} ms)"

    def evidence(self, body_limit: int = 500) -> str:
        """Request line, response headers (sensitive ones masked) and a body excerpt."""
        headers = "\n".join(f"{k}: {v}" for k, v in mask_headers(self.headers).items())
        return f"{self.describe()}\n{headers}\n\n{self.excerpt(body_limit)}".rstrip()


def _charset(headers: httpx.Headers) -> str:
    for part in headers.get("content-type", "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


class HttpClient:
    def __init__(
        self,
        base_url: str | None,
        *,
        headers: dict[str, str] | None = None,
        read_only: bool = True,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        user_agent: str = "backend-auditor",
    ) -> None:
        self.base_url = (base_url or "").rstrip("/")
        self.read_only = read_only
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self._supplied = dict(headers or {})  # as the user wrote them (names keep their case)
        self._supplied_headers = {name.lower() for name in headers or {}}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"User-Agent": user_agent, **(headers or {})},
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, DEFAULT_CONNECT_TIMEOUT_S)),
            follow_redirects=True,
            max_redirects=max_redirects,
            trust_env=False,  # never route audit traffic through a proxy from the environment
            # Runs for every request sent, redirects included: httpx itself strips only Authorization on
            # a cross-origin redirect, so every supplied header is dropped here when the host differs.
            event_hooks={"request": [self._keep_credentials_on_target]},
        )
        self.timeout_s = timeout_s
        self._origin = _origin(httpx.URL(self.base_url)) if self.base_url else None

    def _keep_credentials_on_target(self, request: httpx.Request) -> None:
        if self._origin is not None and _origin(request.url) != self._origin:
            for name in self._supplied_headers:
                request.headers.pop(name, None)

    def supplied_headers(self) -> dict[str, str]:
        """The headers the user supplied (--header / config), names as written: for a tool that must
        send its own requests (schemathesis, locust). They are secrets: never log or report them."""
        return dict(self._supplied)

    def request(self, method: str, url: str, *, auth: bool = True, **kwargs: Any) -> HttpResponse:
        """Send one request. ``auth=False`` drops the user's supplied headers (anonymous probe)."""
        method = method.upper()
        if self.read_only and method not in SAFE_METHODS:
            raise UnsafeRequest(f"{method} {url} refused: the audit is read-only against this target")
        request = self._client.build_request(method, url, **kwargs)
        if not auth:
            # Anonymous probe: drop every header the user supplied (credentials), keep explicit ones.
            for name in self._supplied_headers - {k.lower() for k in kwargs.get("headers", {})}:
                request.headers.pop(name, None)
        started = time.perf_counter()
        try:
            response = self._client.send(request, stream=True)
            try:
                body, truncated = self._read_capped(response, started)
            finally:
                response.close()
        except httpx.TooManyRedirects as exc:
            raise RequestFailed(f"{method} {request.url}: too many redirects") from exc
        except httpx.TimeoutException as exc:
            raise RequestFailed(f"{method} {request.url}: timed out") from exc
        except httpx.HTTPError as exc:
            raise RequestFailed(f"{method} {request.url}: {_reason(exc)}") from exc
        return HttpResponse(
            method=method,
            url=str(response.url),
            status=response.status_code,
            headers=response.headers,
            body=body,
            truncated=truncated,
            elapsed_s=time.perf_counter() - started,
        )

    def get(self, url: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", url, **kwargs)

    def _read_capped(self, response: httpx.Response, started: float) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            # httpx's timeout is per read: a body dripping a byte at a time would never end. The
            # timeout is for the whole request.
            if time.perf_counter() - started > self.timeout_s:
                raise RequestFailed(f"{response.request.method} {response.request.url}: timed out "
                                    f"(body still arriving after {self.timeout_s:g} s)")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                return b"".join(chunks)[: self.max_bytes], True
        return b"".join(chunks), False

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or {"http": 80, "https": 443}.get(url.scheme)


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if "Connection refused" in text or "ConnectError" in type(exc).__name__ and "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0]
