"""Settings, read from the environment only (twelve-factor): no config files, no secrets in code."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sample_service.defects import parse_defects

log = logging.getLogger("sample_service.settings")


class ConfigError(ValueError):
    """A setting is invalid; the message is one line naming the variable."""


@lru_cache(maxsize=1)
def _process_secret_key() -> str:
    # One random key per process, so tokens stay valid across apps built in the same process, and
    # die with it. The key itself is never logged.
    return secrets.token_urlsafe(48)


_warned = False


def warn_if_generated_key(settings: Settings) -> None:
    """Log once per process that the key is ephemeral (called after logging is configured)."""
    global _warned
    if settings.secret_key_generated and not _warned:
        _warned = True
        log.warning("SECRET_KEY is not set: using a random per-process key (tokens will not survive a restart)")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    secret_key: str = field(repr=False)  # repr=False: never end up in a log line or traceback
    redis_url: str | None = None
    sql_echo: bool = False
    defects: frozenset[str] = frozenset()
    rate_limit_per_minute: int = 600
    bcrypt_rounds: int = 12
    log_level: str = "INFO"
    access_token_ttl_seconds: int = 3600
    cache_ttl_seconds: int = 30
    secret_key_generated: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("DATA_DIR") or "./sample_service/data").resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'sample.db'}"
        log_level = (env.get("LOG_LEVEL") or "INFO").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(f"LOG_LEVEL: expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}")
        return cls(
            database_url=database_url,
            data_dir=data_dir,
            secret_key=env.get("SECRET_KEY") or _process_secret_key(),
            redis_url=env.get("REDIS_URL") or None,
            sql_echo=env.get("SQL_ECHO", "").strip().lower() in ("1", "true", "yes", "on"),
            defects=parse_defects(env.get("SAMPLE_DEFECTS")),
            rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", 600, 1, 1_000_000),
            # bcrypt accepts 4..31; tests use 4 so hashing is fast, production keeps the default 12.
            bcrypt_rounds=_int(env, "BCRYPT_ROUNDS", 12, 4, 31),
            log_level=log_level,
            access_token_ttl_seconds=_int(env, "ACCESS_TOKEN_TTL_SECONDS", 3600, 60, 86_400),
            cache_ttl_seconds=_int(env, "CACHE_TTL_SECONDS", 30, 1, 86_400),
            secret_key_generated=not env.get("SECRET_KEY"),
        )

    def has(self, defect: str) -> bool:
        return defect in self.defects
