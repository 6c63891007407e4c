"""Per-client fixed-window rate limiting as pure ASGI middleware.

Clients are keyed by the peer address (X-Forwarded-For is not trusted: run behind a proxy that sets
the peer, or extend this). Limits are per process; with several replicas use a shared store.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sample_service.logging import request_id_var

WINDOW_SECONDS = 60
EXEMPT_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


class FixedWindowLimiter:
    def __init__(self, limit: int, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._counts: dict[str, tuple[int, int]] = {}  # client -> (window index, count)

    def hit(self, client: str) -> tuple[bool, int, int]:
        """Count one request: (allowed, remaining, seconds until the window resets)."""
        now = self.clock()
        index = int(now // self.window)
        reset = max(1, math.ceil((index + 1) * self.window - now))
        prev_index, count = self._counts.get(client, (index, 0))
        if prev_index != index:
            count = 0
            if len(self._counts) > 10_000:  # drop stale clients so memory stays bounded
                self._counts = {k: v for k, v in self._counts.items() if v[0] == index}
        if count >= self.limit:
            return False, 0, reset
        self._counts[client] = (index, count + 1)
        return True, self.limit - count - 1, reset


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: FixedWindowLimiter | None) -> None:
        self.app = app
        self.limiter = limiter  # None: rate limiting off (the no_rate_limit defect)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limiter is None or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        allowed, remaining, reset = self.limiter.hit(client)
        rate_headers = {"X-RateLimit-Limit": str(self.limiter.limit), "X-RateLimit-Remaining": str(remaining),
                        "X-RateLimit-Reset": str(reset)}
        if not allowed:
            body = json.dumps({"code": "rate_limited",
                               "message": f"Too many requests: limit is {self.limiter.limit} per minute",
                               "request_id": request_id_var.get(), "details": None}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                       (b"retry-after", str(reset).encode())]
            headers += [(k.lower().encode(), v.encode()) for k, v in rate_headers.items()]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in rate_headers.items():
                    headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
