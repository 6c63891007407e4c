"""The planner's requests: every one a GET through the audit's client, cached by what was asked (a list
fetched while looking for ids is also that list's preflight), discovery requests within a budget, and
all of them within the planning deadline."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from auditor.http import HttpClient, RequestFailed, UnsafeRequest
from auditor.planner.bodies import count_items, list_items, parse_json

# List items kept per cached answer (for ids of a parent list); the rest of a body is not kept.
MAX_ITEMS_KEPT = 200


class OutOfTime(Exception):
    """The planning deadline passed or the audit was stopped."""


@dataclass
class Answer:
    """How one planner request was answered (the body itself is not kept: only its digest and item count)."""

    status: int | None
    elapsed_ms: float = 0.0
    digest: str = ""
    items: int | None = None
    error: str = ""
    url: str = ""
    redirected: str = ""   # the path a redirect ended on, when it is not the one asked (a login page?)

    @property
    def ok(self) -> bool:
        """A 2xx for what was asked: a redirect followed to a 200 login page is no success."""
        return self.status is not None and 200 <= self.status < 300 and not self.redirected

    def describe(self) -> str:
        if self.status is None:
            return f"no response: {self.error}"
        return f"{self.status} in {self.elapsed_ms:.0f} ms" + (f" after a redirect to {self.redirected}"
                                                                if self.redirected else "")

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "ms": round(self.elapsed_ms, 1), "items": self.items,
                **({"error": self.error} if self.error else {})}


# An answer and the list items its body held (empty for anything but a 2xx list).
Got = tuple[Answer, list[dict[str, Any]]]
BodyHook = Callable[[str, Any, dict[str, str]], None]   # (path asked, parsed JSON body, lower-case headers)


class Fetcher:
    def __init__(self, http: HttpClient, *, discovery_budget: int, representative_budget: int, deadline: float,
                 should_stop: Callable[[], bool], on_body: BodyHook, progress: Callable[[str], None]) -> None:
        self.http = http
        self.discovery_budget = discovery_budget
        self.deadline = deadline
        self.should_stop = should_stop
        self.on_body = on_body
        self.progress = progress
        self.discovery_sent = 0
        self.representative_budget = representative_budget
        self.representative_sent = 0
        self.preflight_sent = 0
        self._cache: dict[tuple[str, bool, tuple[tuple[str, str], ...]], Got] = {}

    def spent(self) -> bool:
        return self.discovery_sent >= self.discovery_budget

    def discover(self, path: str, headers: dict[str, str] | None = None, *, representative: bool = False
                 ) -> Got | None:
        """A GET spent looking for live values, or comparing parents (``representative``, its own budget);
        None once that budget is spent and the answer is not cached."""
        key = (path, True, tuple(sorted((headers or {}).items())))
        if key in self._cache:
            return self._cache[key]
        if representative:
            if self.representative_sent >= self.representative_budget:
                return None
            self.representative_sent += 1
        else:
            if self.spent():
                return None
            self.discovery_sent += 1
        return self._send(key, headers or {}, "discovery")

    def preflight(self, path: str, headers: dict[str, str] | None = None, *, auth: bool = True,
                  fresh: bool = False) -> Got:
        """The one request that confirms a planned request (cached unless ``fresh``)."""
        key = (path, auth, tuple(sorted((headers or {}).items())))
        if key in self._cache and not fresh:
            return self._cache[key]
        self.preflight_sent += 1
        return self._send(key, headers or {}, "preflight")

    def _send(self, key: tuple[str, bool, tuple[tuple[str, str], ...]], headers: dict[str, str],
              purpose: str) -> Got:
        if self.should_stop() or time.monotonic() > self.deadline:
            raise OutOfTime
        path, auth, _ = key
        self.progress(f"planning: GET {path} ({purpose}{'' if auth else ', anonymous'})")
        try:
            response = self.http.get(path, auth=auth, headers=dict(headers),
                                     timeout=max(0.5, min(self.http.timeout_s, self.deadline - time.monotonic())))
        except (RequestFailed, UnsafeRequest) as exc:
            result: Got = (Answer(None, error=str(exc).split(": ", 1)[-1]), [])
        else:
            body = parse_json(response.text) if not response.truncated else None
            answer = Answer(response.status, response.elapsed_s * 1000, hashlib.sha256(response.body).hexdigest(),
                            count_items(body) if body is not None else None, url=response.url,
                            redirected=_redirected(self.http.base_url, path, response.url))
            if answer.ok and auth:
                self.on_body(path, body, {k.lower(): v for k, v in response.headers.items()})
            result = (answer, list_items(body)[:MAX_ITEMS_KEPT] if answer.ok else [])
        self._cache[key] = result
        return result


def _redirected(base_url: str, asked: str, final_url: str) -> str:
    """The path a followed redirect ended on, or "" when it is the one asked (a trailing slash aside)."""
    final = urlsplit(final_url)
    same_origin = final_url.startswith(base_url + "/") or final_url == base_url
    path = final.path if same_origin else final_url.split("?")[0]
    if path.rstrip("/") == urlsplit(asked).path.rstrip("/"):
        return ""
    return path or "/"
