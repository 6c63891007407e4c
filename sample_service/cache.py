"""Read-through cache for hot GETs: in-process TTL cache by default, Redis when REDIS_URL is set.

Values are JSON-ready dicts; writers delete the affected keys (invalidate on write, TTL as a backstop).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol


class Cache(Protocol):
    def get(self, key: str) -> Any | None: ...
    def set(self, key: str, value: Any) -> None: ...
    def delete(self, *keys: str) -> None: ...
    def close(self) -> None: ...


class MemoryCache:
    """Bounded LRU with per-entry expiry; thread-safe because sync handlers run in a threadpool."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            expires, value = hit
            if expires < time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def close(self) -> None:
        with self._lock:
            self._data.clear()


class RedisCache:
    """Shared across replicas. Errors degrade to a miss: the cache must never take the API down."""

    def __init__(self, url: str, ttl_seconds: int, prefix: str | None = None) -> None:
        import redis

        self.ttl = ttl_seconds
        self.prefix = prefix or "sample_service:"
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def get(self, key: str) -> Any | None:
        import redis

        try:
            raw = self._client.get(self.prefix + key)
        except redis.RedisError:
            return None
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any) -> None:
        import redis

        try:
            self._client.set(self.prefix + key, json.dumps(value, default=str), ex=self.ttl)
        except redis.RedisError:
            pass

    def delete(self, *keys: str) -> None:
        import redis

        if keys:
            try:
                self._client.delete(*(self.prefix + k for k in keys))
            except redis.RedisError:
                pass

    def close(self) -> None:
        self._client.close()


def make_cache(redis_url: str | None, ttl_seconds: int, prefix: str | None = None) -> Cache:
    if redis_url:
        return RedisCache(redis_url, ttl_seconds, prefix)
    return MemoryCache(ttl_seconds)


def random_prefix() -> str:
    return f"sample_service:{secrets.token_hex(4)}:"
