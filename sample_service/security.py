"""Passwords (bcrypt) and access tokens (JWT, HS256 with expiry)."""

from __future__ import annotations

import time
from typing import Any

import bcrypt
import jwt

ALGORITHM = "HS256"
ISSUER = "sample_service"
# bcrypt only looks at the first 72 bytes; longer passwords are refused rather than truncated.
MAX_PASSWORD_BYTES = 72


def hash_password(password: str, rounds: int) -> str:
    data = password.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES:
        raise ValueError("password longer than 72 bytes")
    return bcrypt.hashpw(data, bcrypt.gensalt(rounds=rounds)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    data = password.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(data, password_hash.encode("ascii"))
    except ValueError:  # malformed hash
        return False


class PasswordChecker:
    """Verifies passwords in constant-ish time whether or not the user exists (no user enumeration)."""

    def __init__(self, rounds: int) -> None:
        self._dummy_hash = hash_password("not-a-real-password", rounds)

    def check(self, password: str, password_hash: str | None) -> bool:
        if password_hash is None:
            verify_password(password, self._dummy_hash)
            return False
        return verify_password(password, password_hash)


def create_access_token(user_id: int, role: str, secret_key: str, ttl_seconds: int) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": str(user_id), "role": role, "iss": ISSUER, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def decode_access_token(token: str, secret_key: str) -> int | None:
    """The user id in a valid, unexpired token, else None. The algorithm is pinned (no alg=none)."""
    try:
        claims = jwt.decode(token, secret_key, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "iss"]})
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
