"""A database server on which the sandbox creates a scratch database for one run and drops it after.

One module per engine (postgresql.py, mysql.py); ``server_for`` picks by the URL's scheme.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit


class ScratchError(Exception):
    """The scratch database cannot be created or dropped; one line naming the cause (never a password)."""


@dataclass(frozen=True)
class ServerAddress:
    scheme: str          # as given, driver included: "postgresql+psycopg"
    host: str
    port: int | None
    user: str
    password: str
    database: str        # the one to connect to for CREATE/DROP DATABASE

    @classmethod
    def parse(cls, url: str) -> ServerAddress:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ScratchError(f"scratch database server URL is not valid: {exc}") from None
        return cls(scheme=parts.scheme, host=parts.hostname or "", port=port, user=unquote(parts.username or ""),
                   password=unquote(parts.password or ""), database=unquote(parts.path.lstrip("/")))

    def url(self, scheme: str, database: str) -> str:
        """The URL of ``database`` on this server, in the given scheme (driver prefix kept as given)."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = f"{auth}@{host}" if auth else host
        if self.port:
            netloc += f":{self.port}"
        return f"{scheme}://{netloc}/{database}"


class ScratchServer(ABC):
    engine: str            # "postgresql" | "mysql"
    default_port: int
    base_scheme: str       # the URL scheme without a driver

    def __init__(self, address: ServerAddress) -> None:
        self.address = address

    @property
    def where(self) -> str:
        """Host and port, for messages (no user, no password)."""
        return f"{self.address.host or 'localhost'}:{self.address.port or self.default_port}"

    @abstractmethod
    def create(self, name: str) -> None:
        """CREATE DATABASE name; ScratchError with the cause when it cannot."""

    @abstractmethod
    def drop_family(self, name: str) -> list[str]:
        """Drop ``name`` and every database whose name contains it (test runners create test_<name>,
        test_<name>_gw0 ...), even with clients still connected; the names dropped."""

    @abstractmethod
    def databases(self) -> set[str]:
        """Every database name on the server (to tell what a run created besides the scratch database)."""

    @abstractmethod
    def exports(self, name: str, scheme: str) -> dict[str, str]:
        """Environment variables naming the scratch database, in the forms settings modules read."""

    def split_exports(self, name: str, prefixes: tuple[str, ...], *, database_key: str,
                      host_keys: tuple[str, ...] = ("HOST",)) -> dict[str, str]:
        a = self.address
        out: dict[str, str] = {}
        for prefix in prefixes:
            for key in host_keys:
                out[f"{prefix}{key}"] = a.host or "localhost"
            out[f"{prefix}PORT"] = str(a.port or self.default_port)
            out[f"{prefix}USER"] = a.user
            out[f"{prefix}PASSWORD"] = a.password
            out[f"{prefix}{database_key}"] = name
        return out


URL_NAMES = ("DATABASE_URL", "DATABASE_URI", "DB_URL", "DB_URI", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_DATABASE_URL",
             "TEST_DATABASE_URL", "DATABASE_TEST_URL", "TEST_DB_URL")


def server_for(url: str) -> ScratchServer:
    address = ServerAddress.parse(url)
    engine = address.scheme.split("+", 1)[0].lower()
    if engine in ("postgresql", "postgres", "pgsql"):
        from auditor.sandbox.scratchdb.postgresql import PostgresServer

        return PostgresServer(address)
    if engine in ("mysql", "mariadb"):
        from auditor.sandbox.scratchdb.mysql import MysqlServer

        return MysqlServer(address)
    raise ScratchError(f"scratch databases are made on PostgreSQL or MariaDB/MySQL servers, not {engine!r} "
                       "(give a postgresql:// or mysql:// URL as --db-url or scratch_db_url)")
