"""Helpers for the nplusone tests: PostgreSQL access (a throwaway database per test), and a purpose-built
service (run as a real subprocess) with a lazy-loading list, its eager selectinload twin, a single-object
endpoint, a keyset-batching walk, a duplicate lookup and a two-relation loop (MN+1). Its SQL goes to
stdout as SQLAlchemy's own echo lines, without request ids: attribution is by bracketing. With
``--db-url`` it runs on that (empty) database instead, pinging the pool on every checkout
(``pool_pre_ping``), and each request first checks the caller in its own session, as an auth dependency
does: two checkouts, two pings and two transactions per request — none of them a repeated query.

    python -m tests.checks.nplusone_helpers --port 8000 [--books 60] [--db-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from tests.services import PG_URL  # noqa: F401 — the tests import it from here

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVE_COMMAND = f"{sys.executable} -m tests.checks.nplusone_helpers --port {{port}}"


def url_for(database: str, *, driver: str = "", user: str | None = None) -> str:
    parts = urlsplit(PG_URL)
    scheme = parts.scheme + (f"+{driver}" if driver else "")
    netloc = parts.netloc if user is None else f"{user}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((scheme, netloc, f"/{database}", parts.query, ""))


@contextmanager
def pg_database(prefix: str = "npq") -> Iterator[str]:
    """A fresh database, dropped afterwards."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def log_settings() -> dict[str, Any]:
    """The server's logging settings as every session sees them, and what postgresql.auto.conf holds."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        shown = {n: conn.execute(f"SHOW {n}").fetchone()[0] for n in ("log_min_duration_statement", "log_line_prefix")}
        auto = conn.execute("SELECT name, setting FROM pg_file_settings WHERE sourcefile LIKE '%%postgresql.auto.conf' "
                            "AND name IN ('log_min_duration_statement', 'log_line_prefix') ORDER BY seqno").fetchall()
    return {"shown": shown, "auto_conf": sorted(auto)}


# ------------------------------------------------------------------------------------------------------
# The purpose-built service
_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}}
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "npq test service", "version": "1"},
    "paths": {
        "/lazy": {"get": {"operationId": "lazy", "parameters": [_LIMIT],
            "responses": {"200": {"description": "books"}}}},
        "/eager": {"get": {"operationId": "eager", "parameters": [_LIMIT],
                           "responses": {"200": {"description": "books"}}}},
        "/books/{book_id}": {"get": {"operationId": "book", "parameters": [
            {"name": "book_id", "in": "path", "required": True, "schema": {"type": "integer"}, "example": 3}],
            "responses": {"200": {"description": "a book"}}}},
        "/walk": {"get": {"operationId": "walk", "responses": {"200": {"description": "all ids, in batches"}}}},
        "/dupes": {"get": {"operationId": "dupes", "responses": {"200": {"description": "same lookup twice"}}}},
        "/group": {"get": {"operationId": "group", "parameters": [_LIMIT],
                           "responses": {"200": {"description": "books with author and publisher"}}}},
    },
}


def _build(books: int, db_url: str = "") -> Any:
    from sqlalchemy import Column, ForeignKey, Integer, String, create_engine, select
    from sqlalchemy.orm import Session, declarative_base, relationship, selectinload
    from sqlalchemy.pool import StaticPool

    # Classic Column declarations: string annotations (this module has postponed evaluation) would not
    # resolve inside a function.
    Base = declarative_base()

    class Author(Base):
        __tablename__ = "authors"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    class Publisher(Base):
        __tablename__ = "publishers"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    class Book(Base):
        __tablename__ = "books"
        id = Column(Integer, primary_key=True)
        title = Column(String(50))
        author_id = Column(ForeignKey("authors.id"))
        publisher_id = Column(ForeignKey("publishers.id"))
        author = relationship(Author, lazy="select")
        publisher = relationship(Publisher, lazy="select")

    engine = (create_engine(db_url, pool_pre_ping=True) if db_url else
              create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Author(id=i, name=f"author {i}") for i in range(1, books + 1)])
        session.add_all([Publisher(id=i, name=f"publisher {i}") for i in range(1, books + 1)])
        session.add_all([Book(id=i, title=f"book {i}", author_id=i, publisher_id=i) for i in range(1, books + 1)])
        session.commit()
    engine.echo = True   # from here on every statement is logged, as the service would in production

    def book_row(book: Any, *, publisher: bool = False) -> dict[str, Any]:
        row = {"id": book.id, "title": book.title, "author": book.author.name}
        if publisher:
            row["publisher"] = book.publisher.name
        return row

    def handle(path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        limit = int(query.get("limit", ["10"])[0])
        if db_url and path != "/openapi.json":   # the caller checked in a session of its own
            with Session(engine) as session:
                session.execute(select(Author.id).where(Author.id == 1)).scalar_one()
        with Session(engine) as session:
            if path == "/openapi.json":
                return 200, SPEC
            if path == "/lazy":
                rows = session.scalars(select(Book).order_by(Book.id).limit(limit)).all()
                return 200, {"items": [book_row(b) for b in rows]}
            if path == "/eager":
                rows = session.scalars(select(Book).options(selectinload(Book.author)).order_by(Book.id)
                                       .limit(limit)).all()
                return 200, {"items": [book_row(b) for b in rows]}
            if path == "/group":
                rows = session.scalars(select(Book).order_by(Book.id).limit(limit)).all()
                return 200, {"items": [book_row(b, publisher=True) for b in rows]}
            if path.startswith("/books/"):
                book = session.get(Book, int(path.rsplit("/", 1)[1]))
                return (404, {"detail": "no such book"}) if book is None else (200, book_row(book))
            if path == "/walk":
                seen, last = 0, 0
                while True:   # keyset batching: WHERE id > :last ORDER BY id LIMIT 10
                    batch = session.scalars(select(Book.id).where(Book.id > last).order_by(Book.id).limit(10)).all()
                    if not batch:
                        break
                    seen, last = seen + len(batch), batch[-1]
                return 200, {"walked": seen}
            if path == "/dupes":
                first = session.execute(select(Author.name).where(Author.id == 1)).scalar_one()
                again = session.execute(select(Author.name).where(Author.id == 1)).scalar_one()
                return 200, {"names": [first, again]}
        return 404, {"detail": "not found"}

    return handle


def serve(port: int, books: int, db_url: str = "") -> None:
    handle = _build(books, db_url)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 — http.server's naming
            parts = urlsplit(self.path)
            try:
                status, body = handle(parts.path, parse_qs(parts.query))
            except Exception as exc:  # noqa: BLE001 — a test service answers 500, never dies
                status, body = 500, {"detail": type(exc).__name__}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    with ThreadingHTTPServer(("127.0.0.1", port), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--books", type=int, default=60)
    parser.add_argument("--db-url", default="")
    args = parser.parse_args()
    serve(args.port, args.books, args.db_url)
