"""Request-scoped dependencies: settings, DB session, cache, current user, role checks, pagination."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from sample_service.cache import Cache
from sample_service.models import Role, User
from sample_service.security import decode_access_token
from sample_service.settings import Settings

# auto_error=False: we raise the 401 ourselves (shared error body), and the spec's security
# requirement stays identical whether or not the missing_auth defect is on.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False,
                                     description="OAuth2 password flow: POST /auth/token, then send "
                                                 "`Authorization: Bearer <access_token>`.")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_cache(request: Request) -> Cache:
    return request.app.state.cache


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
CacheDep = Annotated[Cache, Depends(get_cache)]


def unauthorized(message: str = "Not authenticated") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def _user_from_token(token: str | None, session: Session, settings: Settings) -> User | None:
    if not token:
        return None
    user_id = decode_access_token(token, settings.secret_key)
    # The role is read from the database on every request, not trusted from the token.
    return session.get(User, user_id) if user_id is not None else None


def current_user(token: Annotated[str | None, Depends(oauth2_scheme)], session: SessionDep,
                 settings: SettingsDep) -> User:
    user = _user_from_token(token, session, settings)
    if user is None:
        raise unauthorized("Not authenticated" if not token else "Invalid or expired token")
    return user


def current_user_for_orders_list(token: Annotated[str | None, Depends(oauth2_scheme)], session: SessionDep,
                                 settings: SettingsDep) -> User | None:
    """current_user, except that the missing_auth defect lets anonymous callers through (None)."""
    if not token and settings.has("missing_auth"):
        return None
    return current_user(token, session, settings)


def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != Role.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Admin role required")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(require_admin)]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


MAX_LIMIT = 100
MAX_OFFSET = 1_000_000


def pagination(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (1-{MAX_LIMIT}).")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Number of items to skip.")] = 0,
) -> Page:
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(pagination)]
