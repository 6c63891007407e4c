"""Books: list (paginated, filtered, sorted, authors eager-loaded), read (cached), admin writes."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from sample_service.deps import AdminUser, CacheDep, PageDep, SessionDep, SettingsDep
from sample_service.errors import ApiError, error_responses
from sample_service.models import Author, Book, OrderItem
from sample_service.routers.authors import author_key
from sample_service.schemas import INT32_MAX, BookCreate, BookOut, BookPage, BookPatch
from sample_service.settings import Settings

router = APIRouter(prefix="/books", tags=["books"])

BookId = Annotated[int, Path(ge=1, le=INT32_MAX, description="Book id.")]


class BookSort(str, enum.Enum):
    title = "title"
    title_desc = "-title"
    published = "published"
    published_desc = "-published"


_ORDERINGS: dict[str, Any] = {
    "title": (Book.title.asc(), Book.id.asc()),
    "-title": (Book.title.desc(), Book.id.desc()),
    "published": (Book.published.asc(), Book.id.asc()),
    "-published": (Book.published.desc(), Book.id.desc()),
}


def book_key(book_id: int) -> str:
    return f"book:{book_id}"


def to_out(book: Book, author_name: str) -> BookOut:
    return BookOut(id=book.id, title=book.title, isbn=book.isbn, author_id=book.author_id, author_name=author_name,
                   published=book.published, price_cents=book.price_cents)


def _parse_published_after(raw: str | None, settings: Settings) -> dt.date | None:
    if raw is None:
        return None
    if settings.has("leaky_errors"):
        # The leaky_errors defect: the raw value reaches the parser unchecked, so a malformed date
        # raises ValueError and the 500 shows the traceback.
        return dt.date.fromisoformat(raw)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise RequestValidationError([{"loc": ("query", "published_after"), "msg": "Input should be a valid date "
                                       "in the format YYYY-MM-DD", "type": "date_from_datetime_parsing"}]) from None


@router.get("", response_model=BookPage, summary="List books",
            description="Books with their author's name, paginated with `limit` (max 100) and `offset`, "
                        "optionally filtered by `author_id` and `published_after` and sorted by `sort` "
                        "(default: by id). Authors are eager-loaded: a constant number of queries per page.",
            responses=error_responses(422))
def list_books(
    page: PageDep, session: SessionDep, settings: SettingsDep,
    author_id: Annotated[int | None, Query(ge=1, le=INT32_MAX, description="Only books by this author.")] = None,
    published_after: Annotated[str | None, Query(
        min_length=1, max_length=10, description="Only books published on or after this date (YYYY-MM-DD).",
        json_schema_extra={"format": "date", "examples": ["2000-01-01"]})] = None,
    sort: Annotated[BookSort | None, Query(description="Sort key; a leading `-` sorts descending.")] = None,
) -> BookPage:
    after = _parse_published_after(published_after, settings)
    query: Select[tuple[Book]] = select(Book)
    if author_id is not None:
        query = query.where(Book.author_id == author_id)
    if after is not None:
        query = query.where(Book.published >= after)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0

    orderings = dict(_ORDERINGS)
    if settings.has("undocumented_error"):
        del orderings["-published"]  # the defect: a sort the spec allows but the code forgot -> KeyError, 500
    order = orderings[sort.value] if sort else (Book.id.asc(),)
    query = query.order_by(*order).limit(page.limit).offset(page.offset)

    if settings.has("n_plus_one"):
        # The n_plus_one defect: books first, then one SELECT for each book's author.
        books = session.scalars(query).all()
        items = [to_out(b, session.scalars(select(Author).where(Author.id == b.author_id)).one().name)
                 for b in books]
    else:
        books = session.scalars(query.options(selectinload(Book.author))).all()
        items = [to_out(b, b.author.name) for b in books]
    return BookPage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{book_id}", response_model=BookOut, summary="Get a book",
            description="One book with its author's name. Cached for a short TTL (see the X-Cache header); "
                        "updates and deletes invalidate the entry.",
            responses=error_responses(404, 422))
def get_book(book_id: BookId, response: Response, session: SessionDep, cache: CacheDep) -> BookOut:
    cached = cache.get(book_key(book_id))
    if cached is not None:
        response.headers["X-Cache"] = "HIT"
        return BookOut.model_validate(cached)
    book = _load(session, book_id)
    out = to_out(book, book.author.name)
    cache.set(book_key(book_id), out.model_dump(mode="json"))
    response.headers["X-Cache"] = "MISS"
    return out


def _load(session: Session, book_id: int) -> Book:
    book = session.scalars(select(Book).where(Book.id == book_id).options(selectinload(Book.author))).first()
    if book is None:
        raise ApiError(404, "not_found", f"Book {book_id} not found")
    return book


def _check_author(session: Session, author_id: int) -> None:
    if session.get(Author, author_id) is None:  # 422, not 404: the URL is fine, the body is not
        raise ApiError(422, "unknown_author", f"Author {author_id} does not exist", loc=["body", "author_id"])


def _check_isbn_free(session: Session, isbn: str, book_id: int | None = None) -> None:
    other = session.scalars(select(Book.id).where(Book.isbn == isbn)).first()
    if other is not None and other != book_id:
        raise ApiError(409, "duplicate_isbn", f"A book with ISBN {isbn} already exists")


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        # A concurrent writer won the race for the same ISBN.
        session.rollback()
        raise ApiError(409, "duplicate_isbn", "A book with this ISBN already exists") from None


@router.post("", response_model=BookOut, status_code=status.HTTP_201_CREATED, summary="Create a book",
             description="Admin only. 409 if the ISBN is taken, 422 if the author does not exist. Answers the "
                         "new book with a Location header.",
             responses=error_responses(401, 403, 409, 422))
def create_book(body: BookCreate, _admin: AdminUser, response: Response, session: SessionDep,
                cache: CacheDep) -> BookOut:
    _check_author(session, body.author_id)
    _check_isbn_free(session, body.isbn)
    book = Book(**body.model_dump())
    session.add(book)
    _commit(session)
    cache.delete(author_key(body.author_id))  # its book_count changed
    response.headers["Location"] = f"/books/{book.id}"
    author = session.get(Author, body.author_id)  # checked above, in this transaction
    return to_out(book, author.name if author else "")


def _apply(session: Session, cache: Any, book_id: int, changes: dict[str, Any]) -> BookOut:
    book = _load(session, book_id)
    old_author = book.author_id
    if "author_id" in changes:
        _check_author(session, changes["author_id"])
    if "isbn" in changes:
        _check_isbn_free(session, changes["isbn"], book_id)
    for field, value in changes.items():
        setattr(book, field, value)
    _commit(session)
    cache.delete(book_key(book_id), author_key(old_author), author_key(book.author_id))
    session.expire_all()
    fresh = _load(session, book_id)
    return to_out(fresh, fresh.author.name)


@router.put("/{book_id}", response_model=BookOut, summary="Replace a book",
            description="Admin only. Replaces every field. 409 if the new ISBN belongs to another book.",
            responses=error_responses(401, 403, 404, 409, 422))
def replace_book(book_id: BookId, body: BookCreate, _admin: AdminUser, session: SessionDep,
                 cache: CacheDep) -> BookOut:
    return _apply(session, cache, book_id, body.model_dump())


@router.patch("/{book_id}", response_model=BookOut, summary="Update a book",
              description="Admin only. Changes only the fields sent (null fields are ignored). 409 if the new "
                          "ISBN belongs to another book.",
              responses=error_responses(401, 403, 404, 409, 422))
def update_book(book_id: BookId, body: BookPatch, _admin: AdminUser, session: SessionDep,
                cache: CacheDep) -> BookOut:
    return _apply(session, cache, book_id, body.model_dump(exclude_none=True))


@router.delete("/{book_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               summary="Delete a book",
               description="Admin only. 409 if the book appears in an order (order history is kept).",
               responses={204: {"description": "Deleted; no body."}, **error_responses(401, 403, 404, 409, 422)})
def delete_book(book_id: BookId, _admin: AdminUser, session: SessionDep, cache: CacheDep) -> Response:
    book = _load(session, book_id)
    if session.scalars(select(OrderItem.id).where(OrderItem.book_id == book_id).limit(1)).first() is not None:
        raise ApiError(409, "book_in_orders", f"Book {book_id} appears in orders and cannot be deleted")
    author_id = book.author_id
    session.delete(book)
    session.commit()
    cache.delete(book_key(book_id), author_key(author_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
