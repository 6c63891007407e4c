"""Authors: list (paginated), read (cached), create (admin)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sqlalchemy import func, select

from sample_service.deps import AdminUser, CacheDep, PageDep, SessionDep, SettingsDep
from sample_service.errors import ApiError, error_responses
from sample_service.models import Author, Book
from sample_service.schemas import INT32_MAX, AuthorCreate, AuthorDetail, AuthorOut, AuthorPage

router = APIRouter(prefix="/authors", tags=["authors"])

AuthorId = Annotated[int, Path(ge=1, le=INT32_MAX, description="Author id.")]


def author_key(author_id: int) -> str:
    return f"author:{author_id}"


@router.get("", response_model=AuthorPage, summary="List authors",
            description="Authors ordered by id, paginated with `limit` (max 100) and `offset`.",
            responses=error_responses(422))
def list_authors(page: PageDep, session: SessionDep, settings: SettingsDep) -> AuthorPage:
    if settings.has("slow_endpoint"):
        time.sleep(0.15)  # the slow_endpoint defect: a latency check must see this route's p50 jump
    total = session.scalar(select(func.count()).select_from(Author)) or 0
    rows = session.scalars(select(Author).order_by(Author.id).limit(page.limit).offset(page.offset)).all()
    return AuthorPage(items=[AuthorOut.model_validate(a) for a in rows], total=total, limit=page.limit,
                      offset=page.offset)


@router.get("/{author_id}", response_model=AuthorDetail, summary="Get an author",
            description="One author with their book count. Cached for a short TTL (see the X-Cache "
                        "header); writes that change it invalidate the entry.",
            responses=error_responses(404, 422))
def get_author(author_id: AuthorId, response: Response, session: SessionDep, cache: CacheDep) -> AuthorDetail:
    cached = cache.get(author_key(author_id))
    if cached is not None:
        response.headers["X-Cache"] = "HIT"
        return AuthorDetail.model_validate(cached)
    author = session.get(Author, author_id)
    if author is None:
        raise ApiError(404, "not_found", f"Author {author_id} not found")
    count = session.scalar(select(func.count()).select_from(Book).where(Book.author_id == author_id)) or 0
    detail = AuthorDetail(id=author.id, name=author.name, bio=author.bio, birth_year=author.birth_year,
                          book_count=count)
    cache.set(author_key(author_id), detail.model_dump(mode="json"))
    response.headers["X-Cache"] = "MISS"
    return detail


@router.post("", response_model=AuthorOut, status_code=status.HTTP_201_CREATED, summary="Create an author",
             description="Admin only. Answers the new author with a Location header.",
             responses=error_responses(401, 403, 422))
def create_author(body: AuthorCreate, _admin: AdminUser, response: Response, session: SessionDep,
                  cache: CacheDep) -> AuthorOut:
    author = Author(name=body.name, bio=body.bio, birth_year=body.birth_year)
    session.add(author)
    session.commit()
    cache.delete(author_key(author.id))
    response.headers["Location"] = f"/authors/{author.id}"
    return AuthorOut.model_validate(author)
