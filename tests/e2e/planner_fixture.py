"""A purpose-built API for the request planner's proof (issue 15), recording every request it gets.

What it is built to trip: usernames only nested in a list (/articles → author.username) with
/profiles/{username}; /articles/{slug}/comments where one article (not the first) has many comments and
the rest none, its author lookup an N+1 in the SQL log; a spec reachable only through a docs page
(/redoc); an optional-auth endpoint (/profiles/{username} answers anyone, personalised with a token);
a user-secured (/user) and an admin-only (/admin/stats) endpoint; an integer path parameter that 500s
past 64 bits (/items/{item_id}); an operation nothing names a value for (/reports/{report_id}).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.stub_server import Answer, StubServer

USER_TOKEN = "fixture-user-token"      # pragma: allowlist secret (a test credential)
ADMIN_TOKEN = "fixture-admin-token"    # pragma: allowlist secret (a test credential)
SPEC_PATH = "/internal/spec-v1.json"   # on no well-known path: only the docs page names it
POPULAR = "popular-post"
ARTICLES = [("welcome", "alice"), ("second-post", "bob"), (POPULAR, "alice"), ("quiet-post", "carol")]
COMMENTS = {POPULAR: [(i, ("bob", "carol", "dave")[i % 3]) for i in range(1, 13)]}
ITEMS = (1, 2, 3)
INT64_MAX = 2**63 - 1
PLACEHOLDERS = ("/api/profiles/username", "/api/articles/slug", "/api/items/itemid", "/api/reports/reportid")

_INT = {"type": "integer"}
_STR = {"type": "string"}
_BEARER = [{"bearer": []}]


def _op(summary: str, params: list[dict[str, Any]] | None = None, *, secured: bool = False,
        statuses: tuple[str, ...] = ("200", "404", "422")) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "operationId": summary.replace(" ", "_"),
                          "parameters": params or [],
                          "responses": {s: {"description": s, "content": {"application/json": {"schema": {}}}}
                                        for s in statuses}}
    if secured:
        op["security"] = _BEARER
    return op


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "planner fixture", "version": "1"},
    "servers": [{"url": "/api"}],
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/articles": {"get": _op("list articles", [{"name": "limit", "in": "query",
                                                    "schema": {"type": "integer", "minimum": 1, "maximum": 50}}])},
        "/articles/{slug}": {"get": _op("get article", [_path("slug", _STR)])},
        "/articles/{slug}/comments": {"get": _op("list comments", [_path("slug", _STR)])},
        "/profiles/{username}": {"get": _op("get profile", [_path("username", _STR)], secured=True,
                                            statuses=("200", "401", "404", "422"))},
        "/user": {"get": _op("current user", secured=True, statuses=("200", "401"))},
        "/admin/stats": {"get": _op("admin stats", secured=True, statuses=("200", "401", "403"))},
        "/items": {"get": _op("list items")},
        "/items/{item_id}": {"get": _op("get item", [_path("item_id", _INT)])},
        "/reports/{report_id}": {"get": _op("get report", [_path("report_id", _STR)])},
    },
}

REDOC = f"""<!DOCTYPE html><html><head><title>API reference</title></head>
<body><redoc spec-url="{SPEC_PATH}"></redoc><script src="https://cdn.example/redoc.js"></script></body></html>"""


class FixtureApi:
    """The API on a StubServer (every request recorded in ``.requests``); SQL lines go to ``sql_log``."""

    def __init__(self, sql_log: Path) -> None:
        self.sql_log = sql_log
        sql_log.write_text(json.dumps({"logger": "sql", "statement": "SELECT 1", "request_id": "startup"}) + "\n")
        self._lock = threading.Lock()
        self.stub = StubServer(default=self._dispatch)   # type: ignore[arg-type]

    def __enter__(self) -> FixtureApi:
        self.stub.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stub.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.stub.url

    @property
    def paths(self) -> list[str]:
        return [path for _, path, _ in self.stub.requests]

    def _sql(self, request_id: str, *statements: tuple[str, list[Any]]) -> None:
        with self._lock, self.sql_log.open("a") as log:
            for sql, params in statements:
                log.write(json.dumps({"logger": "sql", "request_id": request_id, "statement": sql,
                                      "parameters": params, "duration_ms": 0.2}) + "\n")

    def _dispatch(self, handler: Any) -> Answer:
        parts = urlsplit(handler.path)
        path, query = unquote(parts.path), parse_qs(parts.query)
        token = handler.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        rid = handler.headers.get("X-Request-ID", "")
        if path == "/redoc":
            return 200, {"Content-Type": "text/html"}, REDOC
        if path == SPEC_PATH:
            return _json(200, SPEC)
        if not path.startswith("/api/"):
            return _json(404, {"detail": "not found"})
        status, body = self._api(path[len("/api"):], query, token, rid)
        return _json(status, body)

    def _api(self, path: str, query: dict[str, list[str]], token: str, rid: str) -> tuple[int, Any]:
        segments = path.strip("/").split("/")
        if segments == ["articles"]:
            text = query.get("limit", ["20"])[0]
            if not text.isdigit() or not 1 <= int(text) <= 50:
                return 422, {"detail": "limit must be an integer from 1 to 50"}
            limit = int(text)
            self._sql(rid, ("SELECT * FROM articles LIMIT ?", [limit]))
            rows = [{"slug": slug, "title": slug.replace("-", " "), "author": {"username": who}}
                    for slug, who in ARTICLES[:limit]]
            return 200, {"articles": rows, "articlesCount": len(rows)}
        if len(segments) >= 2 and segments[0] == "articles":
            article = next((a for a in ARTICLES if a[0] == segments[1]), None)
            self._sql(rid, ("SELECT * FROM articles WHERE slug = ?", [segments[1]]))
            if article is None:
                return 404, {"detail": "no such article"}
            if len(segments) == 2:
                return 200, {"article": {"slug": article[0], "author": {"username": article[1]}}}
            comments = COMMENTS.get(article[0], [])
            # The author of each comment loaded one at a time: an N+1 that only a populated article shows.
            self._sql(rid, ("SELECT id FROM comments WHERE article_slug = ?", [article[0]]),
                      *[("SELECT username FROM users WHERE comment_id = ?", [cid]) for cid, _ in comments])
            return 200, {"comments": [{"id": cid, "author": {"username": who}} for cid, who in comments]}
        if segments[0] == "profiles" and len(segments) == 2:
            known = {who for _, who in ARTICLES} | {who for c in COMMENTS.values() for _, who in c}
            self._sql(rid, ("SELECT * FROM users WHERE username = ?", [segments[1]]))
            if segments[1] not in known:
                return 404, {"detail": "no such profile"}
            profile: dict[str, Any] = {"username": segments[1], "following": False}
            if token in (USER_TOKEN, ADMIN_TOKEN):   # optional authentication: personalised, never required
                profile.update(following=segments[1] == "bob", viewer="alice")
            return 200, {"profile": profile}
        if segments == ["user"]:
            if token not in (USER_TOKEN, ADMIN_TOKEN):
                return 401, {"detail": "not authenticated"}
            self._sql(rid, ("SELECT * FROM users WHERE token = ?", ["***"]))
            return 200, {"user": {"username": "alice"}}
        if segments == ["admin", "stats"]:
            if token not in (USER_TOKEN, ADMIN_TOKEN):
                return 401, {"detail": "not authenticated"}
            if token != ADMIN_TOKEN:
                return 403, {"detail": "admin role required"}
            return 200, {"users": 4}
        if segments == ["items"]:
            self._sql(rid, ("SELECT id FROM items", []))
            return 200, [{"id": i} for i in ITEMS]
        if segments[0] == "items" and len(segments) == 2:
            try:
                item_id = int(segments[1])
            except ValueError:
                return 422, {"detail": "item_id must be an integer"}
            if not -INT64_MAX - 1 <= item_id <= INT64_MAX:
                return 500, {"detail": "internal server error"}   # the ORM's integer column overflowed
            self._sql(rid, ("SELECT * FROM items WHERE id = ?", [item_id]))
            return (200, {"id": item_id}) if item_id in ITEMS else (404, {"detail": "no such item"})
        if segments[0] == "reports":
            return 404, {"detail": "no such report"}
        return 404, {"detail": "not found"}


def _json(status: int, body: Any) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body)
