"""Cache backends: the in-process TTL cache always; Redis when one answers on 127.0.0.1:6379."""

from __future__ import annotations

import os
import time

import pytest

from sample_service.cache import MemoryCache, RedisCache, random_prefix
from sample_service.tests.conftest import ClientFactory, book_body, login, unavailable

REDIS_URL = os.environ.get("SAMPLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_memory_cache_ttl_lru_and_delete() -> None:
    cache = MemoryCache(ttl_seconds=60, max_entries=2)
    cache.set("a", {"x": 1})
    assert cache.get("a") == {"x": 1}
    cache.ttl = 0.05  # the TTL in force when an entry is set is the one it keeps
    cache.set("b", {"y": 2})
    deadline = time.monotonic() + 30
    while cache.get("b") is not None:  # expiry observed by polling, never by a fixed sleep
        assert time.monotonic() < deadline, "an entry with a 50 ms TTL never expired"
        time.sleep(0.01)
    assert cache.get("a") == {"x": 1}  # still within its own 60 s
    cache.ttl = 60
    for key in "abc":
        cache.set(key, key)
    assert cache.get("a") is None and cache.get("c") == "c"  # oldest evicted
    cache.delete("c", "missing")
    assert cache.get("c") is None


@pytest.fixture
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:  # only "cannot connect" skips
        unavailable("redis", f"Redis unreachable at {REDIS_URL}: {exc}")
    finally:
        client.close()
    return REDIS_URL


def test_redis_cache_roundtrip(redis_url: str) -> None:
    cache = RedisCache(redis_url, ttl_seconds=5, prefix=random_prefix())
    cache.set("k", {"n": 1})
    assert cache.get("k") == {"n": 1}
    cache.delete("k")
    assert cache.get("k") is None
    cache.close()


def test_redis_unreachable_degrades_to_miss() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0", ttl_seconds=5)
    cache.set("k", 1)
    assert cache.get("k") is None


def test_app_with_redis_invalidates_on_write(make_sqlite_client: ClientFactory, redis_url: str) -> None:
    client = make_sqlite_client(REDIS_URL=redis_url)
    admin = login(client, "admin@example.com")
    book_id = client.post("/books", json=book_body(), headers=admin).json()["id"]
    assert client.get(f"/books/{book_id}").headers["X-Cache"] == "MISS"
    assert client.get(f"/books/{book_id}").headers["X-Cache"] == "HIT"
    client.patch(f"/books/{book_id}", json={"title": "Renamed"}, headers=admin)
    resp = client.get(f"/books/{book_id}")
    assert resp.headers["X-Cache"] == "MISS" and resp.json()["title"] == "Renamed"
    client.delete(f"/books/{book_id}", headers=admin)
