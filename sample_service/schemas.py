"""Request and response models (pydantic). Bounds here mirror the database columns, so input the
database would reject (too long, out of int32 range, NUL bytes) is a documented 422, never a 500."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sample_service.models import Role


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes for DateTime(timezone=True) columns; they hold UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


UtcDateTime = Annotated[dt.datetime, AfterValidator(_utc)]

INT32_MAX = 2_147_483_647


def _storable(value: str) -> str:
    # PostgreSQL rejects NUL in text and lone surrogates cannot be encoded: refuse them up front.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid UTF-8 text") from None
    return value


def Text(max_length: int, min_length: int = 0, **kw: Any) -> Any:  # noqa: N802 (a type factory)
    return Annotated[str, Field(min_length=min_length, max_length=max_length, **kw), AfterValidator(_storable)]


Id = Annotated[int, Field(ge=1, le=INT32_MAX)]


class ErrorDetail(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"loc": ["query", "limit"], "msg": "Input should be less than or equal to 100", "type": "less_than_equal"}]})

    loc: list[str | int] = Field(description="Where the problem is, e.g. [\"query\", \"limit\"].")
    msg: str = Field(description="What is wrong.")
    type: str = Field(description="Machine-readable error type.")


class ErrorResponse(BaseModel):
    """The one error body every non-2xx JSON response uses."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "not_found", "message": "Book 42 not found", "request_id": "5f0c2b7e9d4a4e1c", "details": None},
    ]})

    code: str = Field(description="Stable machine-readable error code, e.g. not_found, validation_error.")
    message: str = Field(description="Human-readable summary; never contains internals.")
    request_id: str | None = Field(None, description="The request id (also in the X-Request-ID header).")
    details: list[ErrorDetail] | None = Field(None, description="Per-field problems for validation errors.")


class HealthResponse(BaseModel):
    """application/health+json (draft-inadarei-api-health-check)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "pass"}]})

    status: Literal["pass", "fail"] = Field(description="pass when healthy, fail otherwise.")
    checks: dict[str, list[dict[str, Any]]] | None = Field(
        None, description="Per-dependency results (readiness only).")


class Token(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.signature",  # pragma: allowlist secret
         "token_type": "bearer",
         "expires_in": 3600}]})

    access_token: str = Field(description="JWT (HS256) to send as `Authorization: Bearer <token>`.")
    token_type: Literal["bearer"] = Field(description="Always bearer.")
    expires_in: int = Field(description="Lifetime of the token in seconds.")


class TokenRequest(BaseModel):
    """OAuth2 password grant (form-encoded)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"grant_type": "password", "username": "alice@example.com",
         "password": "alice-password"}]})  # pragma: allowlist secret (the seeded demo user)

    grant_type: Literal["password"] | None = Field(None, description="OAuth2 grant type; only `password`.")
    username: Text(254, 1, description="The user's email address.")
    password: Text(72, 1, description="The user's password (bcrypt limits it to 72 bytes).")
    scope: Text(200) = Field("", description="Ignored; roles come from the user record.")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"id": 2, "email": "alice@example.com", "full_name": "Alice Customer", "role": "customer"}]})

    id: int = Field(description="User id.")
    email: str = Field(description="Email address (the login name).")
    full_name: str = Field(description="Display name.")
    role: Role = Field(description="admin or customer.")


class AuthorBase(BaseModel):
    name: Text(200, 1, description="Author's full name.")
    bio: Text(2000) | None = Field(None, description="Short biography.")
    birth_year: int | None = Field(None, ge=-3000, le=2100, description="Year of birth.")


class AuthorCreate(AuthorBase):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "Ursula Example", "bio": "Writes about islands.", "birth_year": 1929}]})


class AuthorOut(AuthorBase):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"id": 1, "name": "Ada Abbott", "bio": "Seed author 1.", "birth_year": 1950}]})

    id: int = Field(description="Author id.")


class AuthorDetail(AuthorOut):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"id": 1, "name": "Ada Abbott", "bio": "Seed author 1.", "birth_year": 1950, "book_count": 10}]})

    book_count: int = Field(description="How many books this author has.")


ISBN = Annotated[str, Field(pattern=r"^[0-9]{13}$", min_length=13, max_length=13,
                            description="ISBN-13, digits only.")]


class BookCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"title": "The Example Book", "isbn": "9780000000019", "author_id": 1, "published": "2001-02-03",
         "price_cents": 1999}]})

    title: Text(300, 1, description="Book title.")
    isbn: ISBN
    author_id: Id = Field(description="Id of an existing author.")
    published: dt.date = Field(description="Publication date (YYYY-MM-DD).")
    price_cents: int = Field(ge=0, le=10_000_000, description="Price in cents.")


class BookPatch(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"price_cents": 1499}]})

    title: Text(300, 1, description="Book title.") | None = None
    isbn: ISBN | None = None
    author_id: Id | None = Field(None, description="Id of an existing author.")
    published: dt.date | None = Field(None, description="Publication date (YYYY-MM-DD).")
    price_cents: int | None = Field(None, ge=0, le=10_000_000, description="Price in cents.")


class BookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"id": 1, "title": "Silent River 1", "isbn": "9780000000019", "author_id": 1, "author_name": "Ada Abbott",
         "published": "1990-01-01", "price_cents": 1299}]})

    id: int = Field(description="Book id.")
    title: str = Field(description="Book title.")
    isbn: str = Field(description="ISBN-13.")
    author_id: int = Field(description="Author id.")
    author_name: str = Field(description="The author's name (loaded eagerly with the book).")
    published: dt.date = Field(description="Publication date.")
    price_cents: int = Field(description="Price in cents.")


class OrderItemIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"book_id": 1, "quantity": 2}]})

    book_id: Id = Field(description="Id of the book to order.")
    quantity: int = Field(ge=1, le=100, description="How many copies.")


class OrderCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": [{"book_id": 1, "quantity": 2}, {"book_id": 7, "quantity": 1}]}]})

    items: list[OrderItemIn] = Field(min_length=1, max_length=50, description="Order lines.")


class OrderItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"book_id": 1, "title": "Silent River 1", "quantity": 2, "unit_price_cents": 536}]})

    book_id: int = Field(description="Book id.")
    title: str = Field(description="Book title at the time of reading.")
    quantity: int = Field(description="How many copies.")
    unit_price_cents: int = Field(description="Price per copy when the order was placed.")


class OrderOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": 1, "user_id": 2, "status": "placed", "total_cents": 2598, "created_at": "2024-01-01T12:00:00Z",
         "items": [{"book_id": 1, "title": "Silent River 1", "quantity": 2, "unit_price_cents": 1299}]}]})

    id: int = Field(description="Order id.")
    user_id: int = Field(description="Who placed it.")
    status: str = Field(description="Order status.")
    total_cents: int = Field(description="Sum of the lines in cents.")
    created_at: UtcDateTime = Field(description="When the order was placed.")
    items: list[OrderItemOut] = Field(description="Order lines.")


class _Page(BaseModel):
    total: int = Field(description="Number of items matching, over all pages.")
    limit: int = Field(description="Page size used.")
    offset: int = Field(description="Items skipped.")


class AuthorPage(_Page):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [
        {"id": 1, "name": "Ada Abbott", "bio": "Seed author 1.", "birth_year": 1907}], "total": 50, "limit": 1,
        "offset": 0}]})

    items: list[AuthorOut] = Field(description="This page of authors.")


class BookPage(_Page):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [
        {"id": 1, "title": "Silent River 1", "isbn": "9780000000019", "author_id": 1, "author_name": "Ada Abbott",
         "published": "1950-04-08", "price_cents": 536}], "total": 500, "limit": 1, "offset": 0}]})

    items: list[BookOut] = Field(description="This page of books.")


class OrderPage(_Page):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [
        {"id": 1, "user_id": 2, "status": "placed", "total_cents": 1682, "created_at": "2024-01-01T12:00:00Z",
         "items": [{"book_id": 1, "title": "Silent River 1", "quantity": 1, "unit_price_cents": 536}]}],
        "total": 3, "limit": 1, "offset": 0}]})

    items: list[OrderOut] = Field(description="This page of orders.")
