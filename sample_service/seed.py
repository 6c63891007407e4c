"""Deterministic, idempotent demo data: 3 users, 50 authors, 500 books, 5 orders.

Every value is derived from its index (no randomness), so two seeded databases are identical and
tests can rely on exact values. Re-running inserts only what is missing.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sample_service.models import Author, Book, Order, OrderItem, Role, User
from sample_service.security import hash_password

log = logging.getLogger("sample_service.seed")

# Demo credentials only (documented in docs/sample-service.md); never use them anywhere real.
DEMO_USERS = [
    ("admin@example.com", "Ada Admin", Role.admin, "admin-password"),
    ("alice@example.com", "Alice Customer", Role.customer, "alice-password"),
    ("bob@example.com", "Bob Customer", Role.customer, "bob-password"),
]
N_AUTHORS = 50
N_BOOKS = 500

_FIRST = ["Ada", "Bram", "Clara", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas"]
_LAST = ["Abbott", "Baker", "Castillo", "Dahl", "Eriksen"]
_ADJ = ["Silent", "Hidden", "Broken", "Golden", "Distant", "Last", "Crimson", "Quiet", "Winter", "Endless"]
_NOUN = ["River", "Garden", "Empire", "Letter", "Harbor", "Machine", "Forest", "Mirror", "Voyage", "Tower"]


def author_name(i: int) -> str:
    """Author i (1-based): 50 unique names from 10 first x 5 last names."""
    return f"{_FIRST[(i - 1) % 10]} {_LAST[(i - 1) // 10]}"


def isbn13(n: int) -> str:
    """A valid ISBN-13 (978 prefix, correct check digit) for book number n."""
    body = f"978{n:09d}"
    total = sum(int(d) * (1 if k % 2 == 0 else 3) for k, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def book_values(n: int) -> dict[str, object]:
    """Book n (1-based). Authors round-robin, so any 50 consecutive books have 50 different authors."""
    return {
        "title": f"{_ADJ[(n - 1) % 10]} {_NOUN[((n - 1) // 10) % 10]} {n}",
        "isbn": isbn13(n),
        "author_index": (n - 1) % N_AUTHORS + 1,
        "published": dt.date(1950, 1, 1) + dt.timedelta(days=(n * 97) % 27_000),
        "price_cents": 499 + (n * 37) % 3000,
    }


# (user email, idempotency key, [(book number, quantity)])
SEED_ORDERS = [
    ("alice@example.com", "seed-order-1", [(1, 1), (2, 2)]),
    ("alice@example.com", "seed-order-2", [(10, 1)]),
    ("alice@example.com", "seed-order-3", [(3, 1), (4, 1), (5, 3)]),
    ("bob@example.com", "seed-order-4", [(20, 1)]),
    ("bob@example.com", "seed-order-5", [(21, 2), (22, 1)]),
]


def seed(factory: sessionmaker[Session], bcrypt_rounds: int) -> dict[str, int]:
    """Insert whatever demo rows are missing; return how many of each were added."""
    added = {"users": 0, "authors": 0, "books": 0, "orders": 0}
    with factory() as session:
        users = {u.email: u for u in session.scalars(select(User)).all()}
        for email, full_name, role, password in DEMO_USERS:
            if email not in users:
                users[email] = User(email=email, full_name=full_name, role=role,
                                    password_hash=hash_password(password, bcrypt_rounds))
                session.add(users[email])
                added["users"] += 1

        authors = {a.name: a for a in session.scalars(select(Author)).all()}
        for i in range(1, N_AUTHORS + 1):
            name = author_name(i)
            if name not in authors:
                authors[name] = Author(name=name, bio=f"Seed author {i}.", birth_year=1900 + (i * 7) % 100)
                session.add(authors[name])
                added["authors"] += 1
        session.flush()  # author ids for the books

        books = {b.isbn: b for b in session.scalars(select(Book)).all()}
        new_books = []
        for n in range(1, N_BOOKS + 1):
            values = book_values(n)
            if values["isbn"] not in books:
                author = authors[author_name(int(values.pop("author_index")))]  # type: ignore[call-overload]
                book = Book(author_id=author.id, **values)
                books[book.isbn] = book
                new_books.append(book)
        session.add_all(new_books)
        added["books"] = len(new_books)
        session.flush()

        seeded_keys = set(session.scalars(select(Order.idempotency_key).where(
            Order.idempotency_key.like("seed-order-%"))).all())
        for email, key, lines in SEED_ORDERS:
            if key in seeded_keys:
                continue
            items = [OrderItem(book_id=books[isbn13(n)].id, quantity=q,
                               unit_price_cents=books[isbn13(n)].price_cents) for n, q in lines]
            session.add(Order(user_id=users[email].id, status="placed", idempotency_key=key, request_hash=None,
                              total_cents=sum(i.unit_price_cents * i.quantity for i in items), items=items))
            added["orders"] += 1
        session.commit()
    log.info("seed: added %s", ", ".join(f"{v} {k}" for k, v in added.items()))
    return added
