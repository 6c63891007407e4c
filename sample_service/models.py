"""ORM models (SQLAlchemy 2 typed mappings). The schema itself is owned by the Alembic migrations."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Date, DateTime, Enum, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sample_service.db import Base


class Role(str, enum.Enum):
    admin = "admin"
    customer = "customer"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # native_enum=False: a VARCHAR + CHECK on every backend, so migrations stay portable.
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16, name="user_role"))
    password_hash: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    bio: Mapped[str | None] = mapped_column(Text)
    birth_year: Mapped[int | None] = mapped_column(Integer)

    # lazy="raise_on_sql": any accidental lazy load is an error, so N+1 cannot creep in unnoticed.
    books: Mapped[list[Book]] = relationship(back_populates="author", lazy="raise_on_sql")


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300), index=True)
    isbn: Mapped[str] = mapped_column(String(13), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="RESTRICT"), index=True)
    published: Mapped[dt.date] = mapped_column(Date, index=True)
    price_cents: Mapped[int] = mapped_column(Integer)

    author: Mapped[Author] = relationship(back_populates="books", lazy="raise_on_sql")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key", name="uq_orders_user_idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="placed")
    total_cents: Mapped[int] = mapped_column(BigInteger)  # up to 50 lines x 100 copies x 10M cents
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Idempotency-Key and a hash of the request body it was first used with (replay vs. misuse).
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))

    items: Mapped[list[OrderItem]] = relationship(back_populates="order", lazy="raise_on_sql",
                                                  cascade="all, delete-orphan", order_by="OrderItem.id")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # RESTRICT: a book that was ordered cannot be deleted (DELETE /books/{id} answers 409).
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items", lazy="raise_on_sql")
    book: Mapped[Book] = relationship(lazy="raise_on_sql")
