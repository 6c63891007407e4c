"""Connection cost: time to first byte on a fresh connection vs on a kept-alive one, per endpoint.

Measured before the load, one request at a time (so it is the connection's cost, not queueing), with the
stdlib's http.client, which gives exact control over connections. Each endpoint gets ``pairs`` pairs,
one request on a new connection (timed from before connect: what a new client waits) and one on a
connection kept open since a first warm-up request; the order inside a pair alternates and the
endpoints take turns, so a noisy moment on the machine hits both sides alike. The pairs are compared
with the sign test (distribution-free, like the p95 interval): a difference counts when its median is
at least ``cost_ms``, at least half the faster side, and the sign test puts it below 1 % chance.

Why it matters: a development server that waits ~40 ms on every kept-alive request (Nagle's algorithm
meeting delayed ACKs), or one that resolves every new client's name, adds the same delay to every
request of one kind — inside p95 it looks like noise or a slow endpoint; here it is named.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from checks.latency.stats import median, sign_test_p

SIGNIFICANCE = 0.01
MIN_RATIO = 0.5            # the difference must also be at least half the faster side's median


@dataclass
class EndpointCost:
    name: str
    path: str
    fresh_ms: list[float] = field(default_factory=list)
    kept_ms: list[float] = field(default_factory=list)
    connect_ms: list[float] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    note: str = ""                           # why the comparison is missing ("no keep-alive", an error)
    _conn: Any = None

    def row(self) -> dict[str, Any]:
        pairs = list(zip(self.fresh_ms, self.kept_ms, strict=False))
        diffs = [k - f for f, k in pairs]
        fresh, kept = median(self.fresh_ms), median(self.kept_ms)
        return {"method": self.name.split(" ", 1)[0], "path": self.name.split(" ", 1)[-1], "pairs": len(pairs),
                "fresh_ttfb_ms": _r(fresh), "kept_alive_ttfb_ms": _r(kept), "connect_ms": _r(median(self.connect_ms)),
                "difference_ms": _r(median(diffs)) if diffs else None,
                "sign_test_p": round(sign_test_p(sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)), 5)
                if diffs else None, "note": self.note}


def _r(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def slower_side(row: dict[str, Any], cost_ms: float) -> str | None:
    """"kept-alive" or "fresh" when the difference is large and significant, else None."""
    diff, p = row.get("difference_ms"), row.get("sign_test_p")
    fresh, kept = row.get("fresh_ttfb_ms"), row.get("kept_alive_ttfb_ms")
    if diff is None or p is None or fresh is None or kept is None or p > SIGNIFICANCE:
        return None
    if abs(diff) < cost_ms or abs(diff) < MIN_RATIO * min(fresh, kept):
        return None
    return "kept-alive" if diff > 0 else "fresh"


def _connection(url: str, timeout_s: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname or "", parts.port or 443, timeout=timeout_s,
                                           context=ssl.create_default_context())
    return http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout_s)


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> tuple[float, bool]:
    """(seconds to the response's status line and headers, whether the server closes the connection)."""
    began = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    ttfb = time.perf_counter() - began
    response.read()
    return ttfb, bool(response.will_close)


def measure(base_url: str, targets: list[tuple[str, str]], headers: dict[str, str], *, pairs: int,
            budget_s: float, timeout_s: float, should_stop: Callable[[], bool],
            extra_headers: dict[str, dict[str, str]] | None = None) -> list[EndpointCost]:
    """``targets``: (endpoint name, request path, relative to the base URL as the load sends it), with the
    audit's ``headers`` plus a target's own (``extra_headers`` by name). Stops at ``budget_s`` (the pairs
    so far stand)."""
    prefix = urlsplit(base_url).path.rstrip("/")
    costs = [EndpointCost(name, prefix + path, headers={**headers, **(extra_headers or {}).get(name, {})})
             for name, path in targets]
    end = time.monotonic() + budget_s
    try:
        for index in range(pairs):
            for cost in costs:
                if should_stop() or time.monotonic() > end:
                    return costs
                if not cost.note:
                    _one_pair(cost, base_url, timeout_s, kept_first=index % 2 == 1)
    finally:
        for cost in costs:
            if cost._conn is not None:
                cost._conn.close()
                cost._conn = None
    return costs


def _one_pair(cost: EndpointCost, base_url: str, timeout_s: float, kept_first: bool) -> None:
    headers = cost.headers
    try:
        if cost._conn is None:                 # the kept-alive connection, warmed by one request
            cost._conn = _connection(base_url, timeout_s)
            _, closes = _get(cost._conn, cost.path, headers)
            if closes:
                cost.note = "the server closes the connection after each answer (no keep-alive)"
                return
        sides = ("kept", "fresh") if kept_first else ("fresh", "kept")
        measured: dict[str, float] = {}
        for side in sides:
            if side == "kept":
                measured["kept"], closes = _get(cost._conn, cost.path, headers)
                if closes:
                    cost.note = "the server closed a kept-alive connection"
                    return
            else:
                conn = _connection(base_url, timeout_s)
                try:
                    began = time.perf_counter()
                    conn.connect()
                    connected = time.perf_counter()
                    ttfb, _ = _get(conn, cost.path, headers)
                    measured["fresh"] = connected - began + ttfb
                    cost.connect_ms.append(1000 * (connected - began))
                finally:
                    conn.close()
        cost.fresh_ms.append(1000 * measured["fresh"])
        cost.kept_ms.append(1000 * measured["kept"])
    except (OSError, http.client.HTTPException) as exc:
        cost.note = f"not measured: {type(exc).__name__}: {str(exc)[:120]}".rstrip(": ")
