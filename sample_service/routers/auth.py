"""POST /auth/token: OAuth2 password flow issuing short-lived JWTs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from sqlalchemy import select

from sample_service.deps import SessionDep, SettingsDep, unauthorized
from sample_service.errors import error_responses
from sample_service.models import User
from sample_service.schemas import Token, TokenRequest
from sample_service.security import create_access_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token, summary="Issue an access token",
             description="OAuth2 password grant: form fields `username` (email) and `password`. Answers a "
                         "bearer JWT (HS256) valid for `expires_in` seconds. Wrong credentials answer 401 "
                         "without saying which part was wrong.",
             responses=error_responses(401, 422))
def issue_token(form: Annotated[TokenRequest, Form()], request: Request, response: Response,
                session: SessionDep, settings: SettingsDep) -> Token:
    user = session.scalars(select(User).where(User.email == form.username.strip().lower())).first()
    # The checker spends a bcrypt round even for an unknown user (no timing oracle); it is False then.
    if not request.app.state.password_checker.check(form.password, user.password_hash if user else None) \
            or user is None:
        raise unauthorized("Incorrect email or password")
    response.headers["Cache-Control"] = "no-store"  # tokens must not sit in caches (RFC 6749 5.1)
    token = create_access_token(user.id, user.role.value, settings.secret_key, settings.access_token_ttl_seconds)
    return Token(access_token=token, token_type="bearer", expires_in=settings.access_token_ttl_seconds)
