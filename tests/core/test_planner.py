"""The core request planner (auditor.planner): live values from nested fields, links and name variants,
one preflight per planned request, exclusions with reasons, representative resources, authentication
modes — against purpose-built servers on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from auditor.http import HttpClient
from auditor.planner import (
    ENFORCED,
    MAX_DISCOVERY_REQUESTS,
    MAX_REPRESENTATIVE_REQUESTS,
    OPTIONAL,
    PUBLIC,
    Answer,
    Exclusion,
    build_plan,
    refusal,
    summarise,
)
from tests.conftest import sample_service
from tests.stub_server import Answer as StubAnswer
from tests.stub_server import StubServer


def _json(body: object, status: int = 200, **headers: str) -> StubAnswer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body)


def _doc(paths: dict, **extra: object) -> dict:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "/api"}],
            "paths": {path: {"get": {"responses": {"200": {"description": "ok"}}, **op}} for path, op in paths.items()},
            **extra}


def _param(name: str, schema: dict | None = None, where: str = "path", **extra: object) -> dict:
    return {"name": name, "in": where, "required": where == "path", "schema": schema or {"type": "string"}, **extra}


def test_values_come_from_parent_lists_nested_fields_links_and_name_variants() -> None:
    doc = _doc({
        "/authors": {},
        "/authors/{authorId}": {},
        "/authors/{authorId}/books/{book_id}": {},
        "/articles": {},
        "/profiles/{username}": {},
        "/owners/{owner_id}": {"parameters": [_param("owner_id", {"type": "integer"})]},
        "/widgets/{widget_key}": {},
        "/tags/{tag}": {"parameters": [_param("tag", example="sci fi")]},
        "/orphans/{orphan_id}": {},
        "/search": {"parameters": [_param("q", where="query", required=True)]},
        "/flags": {"parameters": [_param("on", {"type": "boolean"}, where="query", required=True)]},
    })
    routes = {
        "/api/authors": _json({"items": [{"authorId": 17}]}),
        "/api/authors/17/books": _json([{"title": "x", "book_id": "b-3"}]),
        # usernames only nested; owner ids only as items[].owner.id; a widget only as a link
        "/api/articles": _json({"items": [{"slug": "a", "author": {"username": "ann"},
                                           "owner": {"id": "not-a-number"}},
                                          {"slug": "b", "author": {"username": "bob"}, "owner": {"id": 7},
                                           "href": "http://elsewhere.example/api/widgets/evil"}]},
                               Link='</api/widgets/w-42>; rel="related"'),
    }
    with StubServer(routes=routes) as stub, HttpClient(stub.url, read_only=True) as http:
        plan = build_plan(doc, http)
    got = {p.endpoint: p for p in plan.requests}
    assert got["GET /authors/{authorId}"].url_path == "/api/authors/17"
    assert got["GET /authors/{authorId}"].sources["authorId"] == "live: authorId of GET /api/authors"
    assert got["GET /authors/{authorId}/books/{book_id}"].url_path == "/api/authors/17/books/b-3"
    assert got["GET /profiles/{username}"].url_path == "/api/profiles/ann"
    assert got["GET /profiles/{username}"].sources["username"].startswith("live: items[].author.username of ")
    assert got["GET /owners/{owner_id}"].url_path == "/api/owners/7"       # the integer schema refuses the other
    assert got["GET /widgets/{widget_key}"].url_path == "/api/widgets/w-42"  # never the off-host link
    assert got["GET /tags/{tag}"].url_path == "/api/tags/sci%20fi"          # no live value: the example, quoted
    assert got["GET /tags/{tag}"].sources["tag"] == "example"
    assert got["GET /flags"].url_path == "/api/flags?on=false"
    assert plan.unresolved == [Exclusion("GET /search", "no live value for ?q", "no-live-value"),
                               Exclusion("GET /orphans/{orphan_id}", "no live value for {orphan_id}", "no-live-value")]
    requested = [path for _, path, _ in stub.requests]
    assert requested.count("/api/authors") == 1                 # one answer: its preflight and its ids
    assert all(method == "GET" for method, _, _ in stub.requests)
    assert not [p for p in requested if p.endswith(("/orphanid", "/username", "/ownerid")) or "/search" in p]



def test_ids_of_list_items_that_wrap_their_resource_are_live_values() -> None:
    # FastAPI serialising a SQLAlchemy row of an entity and an aggregate: [{"Post": {...}, "votes": 3}];
    # Relay edges: [{"node": {...}}]. Another object in the item (its owner) is never taken for it.
    doc = _doc({
        "/posts": {},
        "/posts/{id}": {"parameters": [_param("id", {"type": "integer"})]},
        "/things": {},
        "/things/{id}": {},
        "/notes": {},
        "/notes/{id}": {},
    })
    routes = {
        "/api/posts": _json([{"Post": {"id": 51, "title": "t", "owner": {"id": 11}}, "votes": 3},
                             {"Post": {"id": 22, "title": "u", "owner": {"id": 2}}, "votes": 0}]),
        "/api/posts/51": _json({"Post": {"id": 51}, "votes": 3}),
        "/api/things": _json({"items": [{"node": {"id": "t-1"}, "cursor": "c1"}]}),
        "/api/things/t-1": _json({"id": "t-1"}),
        "/api/notes": _json([{"title": "n", "owner": {"id": 9}}]),
    }
    with StubServer(routes=routes) as stub, HttpClient(stub.url, read_only=True) as http:
        plan = build_plan(doc, http)
    got = {p.endpoint: p for p in plan.requests}
    assert got["GET /posts/{id}"].url_path == "/api/posts/51"
    assert got["GET /posts/{id}"].sources["id"] == "live: Post.id of GET /api/posts"
    assert got["GET /posts/{id}"].preflight.ok
    assert got["GET /things/{id}"].url_path == "/api/things/t-1"
    excluded = {e.endpoint: e.reason for e in plan.unresolved}
    assert excluded == {"GET /notes/{id}": "no live value for {id}"}


def test_a_sub_collection_is_planned_on_the_parent_with_the_most_children_and_lists_at_their_largest_page() -> None:
    doc = _doc({
        "/posts": {"parameters": [_param("limit", {"type": "integer", "maximum": 40}, where="query")]},
        "/posts/{post_id}/comments": {},
    })
    comments = {"1": [], "2": [{"id": 1}], "3": [{"id": n} for n in range(9)], "4": [{"id": 1}, {"id": 2}]}
    with StubServer(routes={f"/api/posts/{k}/comments": _json(v) for k, v in comments.items()}) as stub:
        stub.routes["/api/posts"] = lambda h: _json([{"id": n} for n in (1, 2, 3, 4)]) if "limit=40" in h.path \
            else _json({"detail": "page too small"}, 400)
        with HttpClient(stub.url, read_only=True) as http:
            plan = build_plan(doc, http)
    got = {p.endpoint: p for p in plan.requests}
    assert got["GET /posts"].url_path == "/api/posts?limit=40" and got["GET /posts"].preflight.status == 200
    assert got["GET /posts/{post_id}/comments"].url_path == "/api/posts/3/comments"
    assert got["GET /posts/{post_id}/comments"].representative.endswith(": 9 items")


def test_preflight_refusals_become_exclusions_with_hints_that_depend_on_the_credentials() -> None:
    doc = _doc({"/open": {}, "/mine": {}, "/admin": {}, "/gone": {}, "/boom": {}, "/orders": {},
                "/orders/{order_id}": {}, "/staff": {}})
    routes = {"/api/open": _json([]), "/api/gone": _json({}, 404), "/api/boom": _json({}, 500),
              "/api/orders/5": _json({"id": 5}),
              # a web framework's answer to a caller it does not know: its login page, after a redirect
              "/api/staff": (302, {"Location": "/login?next=/api/staff"}, ""),
              "/login": (200, {"Content-Type": "text/html"}, "<form>sign in</form>")}
    with StubServer(routes=routes) as stub:
        stub.routes["/api/mine"] = stub.routes["/api/orders"] = \
            lambda h: _json([{"id": 5}]) if h.headers.get("Authorization") else _json({}, 401)
        stub.routes["/api/admin"] = lambda h: _json({}, 403 if h.headers.get("Authorization") else 401)
        with HttpClient(stub.url, read_only=True) as anonymous:
            plain = build_plan(doc, anonymous)
        with HttpClient(stub.url, read_only=True, headers={"Authorization": "Bearer user"}) as user:
            given = build_plan(doc, user)
    kept, excluded = plain.traffic()
    assert [p.endpoint for p in kept] == ["GET /open", "GET /boom"]      # a 5xx is loaded: the gates judge it
    reasons = {e.endpoint: e.reason for e in excluded}
    assert reasons["GET /mine"] == reasons["GET /admin"] == "401 without credentials — give --header"
    assert reasons["GET /gone"].startswith("404")
    assert reasons["GET /staff"] == "redirected to /login (a login page?) — give --header"
    assert reasons["GET /orders/{order_id}"] == ("no live value for {order_id}: its list GET /api/orders answered "
                                                 "401 without credentials — give --header")
    kept, excluded = given.traffic()
    reasons = {e.endpoint: e.reason for e in excluded}
    assert {"GET /mine", "GET /orders/{order_id}"} <= {p.endpoint for p in kept}
    assert "the account lacks access" in reasons["GET /admin"] and "role" in reasons["GET /admin"]
    assert summarise(excluded) == ("3 excluded: 403 with the given credentials: the account lacks access (a role or "
                                   "permission it does not have) (1); 404 for the planned values (the resource does "
                                   "not exist) (1); redirected to /login (a login page?) with the given credentials (1)")


def test_secured_operations_are_classified_by_how_they_treat_anonymous_callers() -> None:
    secured = {"security": [{"bearer": []}]}
    doc = _doc({"/feed": secured, "/catalogue": secured, "/me": secured})
    with StubServer() as stub:
        stub.routes["/api/feed"] = lambda h: _json({"personal": bool(h.headers.get("Authorization"))})
        stub.routes["/api/catalogue"] = _json([{"sku": "a"}])
        stub.routes["/api/me"] = lambda h: _json({"me": 1} if h.headers.get("Authorization") else {},
                                                 200 if h.headers.get("Authorization") else 401)
        with HttpClient(stub.url, read_only=True, headers={"Authorization": "Bearer t"}) as http:
            plan = build_plan(doc, http)
        with HttpClient(stub.url, read_only=True) as http:
            anonymous = build_plan(doc, http)
    assert plan.auth_modes() == {"GET /feed": OPTIONAL, "GET /catalogue": PUBLIC, "GET /me": ENFORCED}
    assert plan.blanket_security
    assert anonymous.auth_modes() == {"GET /feed": "anonymous", "GET /catalogue": "anonymous", "GET /me": ENFORCED}


def test_discovery_is_bounded_and_only_ever_gets() -> None:
    many = {f"/r{n}": {} for n in range(MAX_DISCOVERY_REQUESTS + 20)}
    many |= {f"/r{n}/{{r{n}_id}}/children": {} for n in range(MAX_DISCOVERY_REQUESTS + 20)}
    with StubServer(default=_json([{"id": 1}, {"id": 2}, {"id": 3}])) as stub, \
            HttpClient(stub.url, read_only=False) as http:
        plan = build_plan(_doc(many), http)
    # 70 sub-collections with 3 parents each to compare: the comparisons stop at their own budget
    assert plan.discovery_requests == MAX_REPRESENTATIVE_REQUESTS <= MAX_DISCOVERY_REQUESTS
    assert plan.preflight_requests + plan.discovery_requests == len(stub.requests)
    assert {method for method, _, _ in stub.requests} == {"GET"}


def test_refusal_hint_without_and_with_credentials() -> None:
    assert refusal(Answer(401), False) == ("401 without credentials — give --header", "unauthorized")
    assert "refused" in refusal(Answer(401), True)[0]
    assert refusal(Answer(200), True) is None and refusal(Answer(503), False) is None
    assert refusal(Answer(None, error="timed out"), False) is None


def test_every_loadable_request_of_the_sample_service_succeeds(tmp_path: Path) -> None:
    """The sample service's own spec planned against it: every request kept for load answers 2xx, and
    what is left out (secured without credentials) says why."""
    with sample_service(tmp_path) as service:
        document = httpx.get(f"{service.url}/openapi.json").json()
        with HttpClient(service.url, read_only=True) as http:
            plan = build_plan(document, http)
            kept, excluded = plan.traffic()
            answers = {p.endpoint: http.get(p.url_path).status for p in kept}
    assert kept and any(p.ids_from_service for p in kept)
    assert all(200 <= status < 300 for status in answers.values()), answers
    assert excluded and all("give --header" in e.reason for e in excluded)
