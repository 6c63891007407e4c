"""Core API behaviour, run on SQLite and PostgreSQL: auth, RBAC, pagination, CRUD status codes,
idempotency, caching."""

from __future__ import annotations

import uuid

from sample_service.tests.conftest import TestClient
from sample_service.tests.conftest import book_body, login


def assert_error(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"code", "message", "request_id", "details"}
    assert body["request_id"] == resp.headers["X-Request-ID"]
    if code:
        assert body["code"] == code
    return body


# --- auth -------------------------------------------------------------------------------------

def test_token_flow_and_users_me(client: TestClient) -> None:
    resp = client.post("/auth/token", data={"username": "alice@example.com", "password": "alice-password"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0 and body["access_token"].count(".") == 2
    assert resp.headers["Cache-Control"] == "no-store"
    me = client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "alice@example.com" and me.json()["role"] == "customer"


def test_wrong_password_and_unknown_user_are_401(client: TestClient) -> None:
    for user, pw in (("alice@example.com", "nope"), ("nobody@example.com", "x")):
        resp = client.post("/auth/token", data={"username": user, "password": pw})
        assert_error(resp, 401)
        assert resp.headers["WWW-Authenticate"] == "Bearer"


def test_missing_and_invalid_token_401_with_www_authenticate(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Basic abc"}):
        resp = client.get("/users/me", headers=headers)
        assert_error(resp, 401, "not_authenticated")
        assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/orders").status_code == 401


def test_rbac_customer_403_admin_ok(client: TestClient, alice, admin) -> None:
    assert_error(client.post("/books", json=book_body(), headers=alice), 403, "forbidden")
    assert_error(client.post("/authors", json={"name": "X"}, headers=alice), 403)
    assert_error(client.post("/books", json=book_body()), 401)
    resp = client.post("/authors", json={"name": "New Author", "birth_year": 1970}, headers=admin)
    assert resp.status_code == 201
    assert resp.headers["Location"] == f"/authors/{resp.json()['id']}"


# --- pagination and lists ---------------------------------------------------------------------

def test_pagination_bounds(client: TestClient) -> None:
    resp = client.get("/books", params={"limit": 100, "offset": 0})
    assert resp.status_code == 200
    body = resp.json()
    assert len(body["items"]) == 100 and body["limit"] == 100 and body["offset"] == 0 and body["total"] >= 500
    default = client.get("/books").json()
    assert default["limit"] == 20 and len(default["items"]) == 20
    second = client.get("/books", params={"limit": 20, "offset": 20}).json()
    assert second["items"][0]["id"] == body["items"][20]["id"]
    details = assert_error(client.get("/books", params={"limit": 101}), 422, "validation_error")["details"]
    assert details[0]["loc"] == ["query", "limit"]
    assert_error(client.get("/authors", params={"limit": 0}), 422)
    assert_error(client.get("/orders", params={"offset": -1}, headers=login(client, "bob@example.com")), 422)


def test_books_include_author_name_filter_and_sort(client: TestClient) -> None:
    page = client.get("/books", params={"author_id": 3, "limit": 100}).json()
    assert page["total"] >= 10 and all(b["author_id"] == 3 for b in page["items"])
    assert all(b["author_name"] == "Clara Abbott" for b in page["items"])
    for sort, key, rev in (("title", "title", False), ("-title", "title", True),
                           ("published", "published", False), ("-published", "published", True)):
        items = client.get("/books", params={"sort": sort, "limit": 50}).json()["items"]
        values = [b[key] for b in items]
        assert values == sorted(values, reverse=rev), sort
    assert_error(client.get("/books", params={"sort": "price"}), 422)
    after = client.get("/books", params={"published_after": "2000-01-01", "limit": 100}).json()
    assert all(b["published"] >= "2000-01-01" for b in after["items"])
    assert_error(client.get("/books", params={"published_after": "not-a-date"}), 422)


def test_authors_list_and_detail(client: TestClient) -> None:
    page = client.get("/authors", params={"limit": 5}).json()
    assert page["total"] >= 50 and [a["id"] for a in page["items"]] == [1, 2, 3, 4, 5]
    detail = client.get("/authors/1").json()
    assert detail["name"] == "Ada Abbott" and detail["book_count"] >= 10
    assert_error(client.get("/authors/999999"), 404, "not_found")


# --- book writes and status codes -------------------------------------------------------------

def test_book_crud_status_codes(client: TestClient, admin) -> None:
    body = book_body(title="CRUD Book")
    created = client.post("/books", json=body, headers=admin)
    assert created.status_code == 201, created.text
    book = created.json()
    assert book["author_name"] == "Ada Abbott" and created.headers["Location"] == f"/books/{book['id']}"
    assert_error(client.post("/books", json={**body, "title": "Dup"}, headers=admin), 409, "duplicate_isbn")
    assert_error(client.post("/books", json=book_body(author_id=999999), headers=admin), 422, "unknown_author")
    assert_error(client.post("/books", json={**book_body(), "isbn": "123"}, headers=admin), 422)

    put = client.put(f"/books/{book['id']}", json={**body, "title": "Replaced", "author_id": 2}, headers=admin)
    assert put.status_code == 200 and put.json()["title"] == "Replaced" and put.json()["author_name"] == "Bram Abbott"
    patch = client.patch(f"/books/{book['id']}", json={"price_cents": 5}, headers=admin)
    assert patch.status_code == 200 and patch.json()["price_cents"] == 5 and patch.json()["title"] == "Replaced"
    seeded_isbn = client.get("/books/2").json()["isbn"]
    assert_error(client.patch(f"/books/{book['id']}", json={"isbn": seeded_isbn}, headers=admin), 409)
    assert_error(client.patch("/books/999999", json={"price_cents": 1}, headers=admin), 404)

    deleted = client.delete(f"/books/{book['id']}", headers=admin)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(client.get(f"/books/{book['id']}"), 404)
    assert_error(client.delete(f"/books/{book['id']}", headers=admin), 404)
    assert_error(client.delete("/books/1", headers=admin), 409, "book_in_orders")  # seed order 1 has book 1


def test_path_and_body_bounds_are_422_not_500(client: TestClient, admin) -> None:
    assert_error(client.get("/books/0"), 422)
    assert_error(client.get("/books/99999999999"), 422)
    assert_error(client.post("/books", json=book_body(title="x" * 301), headers=admin), 422)
    assert_error(client.post("/books", json=book_body(title="nul\x00byte"), headers=admin), 422)
    assert_error(client.post("/books", content=b"{not json", headers={**admin, "Content-Type": "application/json"}),
                 422)


# --- orders -----------------------------------------------------------------------------------

def test_orders_visibility(client: TestClient, alice, bob, admin) -> None:
    mine = client.get("/orders", params={"limit": 100}, headers=alice).json()
    alice_id = client.get("/users/me", headers=alice).json()["id"]
    assert mine["total"] >= 3 and all(o["user_id"] == alice_id for o in mine["items"])
    assert all(o["items"] and o["items"][0]["title"] for o in mine["items"])
    everyone = client.get("/orders", params={"limit": 100}, headers=admin).json()
    assert everyone["total"] > mine["total"]
    bobs = client.get("/orders", headers=bob).json()["items"][0]
    assert client.get(f"/orders/{bobs['id']}", headers=bob).status_code == 200
    assert client.get(f"/orders/{bobs['id']}", headers=admin).status_code == 200
    assert_error(client.get(f"/orders/{bobs['id']}", headers=alice), 404)
    assert_error(client.get("/orders/999999", headers=alice), 404)
    assert_error(client.get("/orders/1"), 401)


def test_create_order_and_idempotency(client: TestClient, alice, bob) -> None:
    body = {"items": [{"book_id": 7, "quantity": 2}, {"book_id": 8, "quantity": 1}]}
    book7, book8 = client.get("/books/7").json(), client.get("/books/8").json()
    key = {"Idempotency-Key": f"test-{uuid.uuid4()}"}
    first = client.post("/orders", json=body, headers={**alice, **key})
    assert first.status_code == 201, first.text
    order = first.json()
    assert order["total_cents"] == 2 * book7["price_cents"] + book8["price_cents"]
    assert first.headers["Location"] == f"/orders/{order['id']}"
    replay = client.post("/orders", json=body, headers={**alice, **key})
    assert replay.status_code == 200 and replay.json()["id"] == order["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = client.post("/orders", json={"items": [{"book_id": 7, "quantity": 3}]}, headers={**alice, **key})
    assert_error(other, 422, "idempotency_key_reused")
    # Keys are per user: bob's same key is a different order.
    assert client.post("/orders", json=body, headers={**bob, **key}).json()["id"] != order["id"]
    # Without a key, each POST places a new order.
    a = client.post("/orders", json=body, headers=alice).json()["id"]
    b = client.post("/orders", json=body, headers=alice).json()["id"]
    assert a != b
    assert_error(client.post("/orders", json={"items": [{"book_id": 999999, "quantity": 1}]}, headers=alice),
                 422, "unknown_book")
    assert_error(client.post("/orders", json={"items": []}, headers=alice), 422)
    assert_error(client.post("/orders", json=body), 401)


# --- cache ------------------------------------------------------------------------------------

def test_cache_hit_and_invalidation_on_write(client: TestClient, admin) -> None:
    created = client.post("/books", json=book_body(author_id=5), headers=admin).json()
    book_id = created["id"]
    assert client.get(f"/books/{book_id}").headers["X-Cache"] == "MISS"
    assert client.get(f"/books/{book_id}").headers["X-Cache"] == "HIT"
    client.patch(f"/books/{book_id}", json={"price_cents": 4242}, headers=admin)
    fresh = client.get(f"/books/{book_id}")
    assert fresh.headers["X-Cache"] == "MISS" and fresh.json()["price_cents"] == 4242

    count = client.get("/authors/5").json()["book_count"]
    assert client.get("/authors/5").headers["X-Cache"] == "HIT"
    client.post("/books", json=book_body(author_id=5), headers=admin)
    after = client.get("/authors/5")
    assert after.headers["X-Cache"] == "MISS" and after.json()["book_count"] == count + 1
    client.delete(f"/books/{book_id}", headers=admin)
    assert client.get(f"/books/{book_id}").status_code == 404
    assert client.get("/authors/5").json()["book_count"] == count


def test_admin_login_role(client: TestClient) -> None:
    headers = login(client, "admin@example.com")
    assert client.get("/users/me", headers=headers).json()["role"] == "admin"


def test_largest_valid_order_fits(client: TestClient, alice, admin) -> None:
    pricey = client.post("/books", json=book_body(price_cents=10_000_000), headers=admin).json()["id"]
    body = {"items": [{"book_id": pricey, "quantity": 100}] * 50}
    resp = client.post("/orders", json=body, headers=alice)
    assert resp.status_code == 201, resp.text
    assert resp.json()["total_cents"] == 50 * 100 * 10_000_000
