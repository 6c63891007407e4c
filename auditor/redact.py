"""Secrets supplied by the user (--header values, config) never reach an output file or log line.

One Redactor per audit holds the secret values; the runner scrubs the whole report through it before
any renderer sees it, and progress lines go through it too, so no renderer or check has to remember.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

MASK = "***"
# Header names whose values are secret even when the user did not pass them (e.g. seen in evidence).
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
                               "x-auth-token", "api-key"})
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words all over the report


class Redactor:
    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: set[str] = set()
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str) -> None:
        secret = secret.strip()
        if len(secret) < _MIN_SECRET_LEN:
            return
        self._secrets.add(secret)
        # "Bearer abc" is also masked where only "abc" appears, and vice versa.
        scheme, _, credential = secret.partition(" ")
        if credential and len(credential) >= _MIN_SECRET_LEN and scheme.isalpha():
            self._secrets.add(credential)

    def scrub(self, text: str) -> str:
        if not self._secrets or not text:
            return text
        # Longest first so "Bearer abc" is masked whole before "abc" alone.
        pattern = "|".join(re.escape(s) for s in sorted(self._secrets, key=len, reverse=True))
        return re.sub(pattern, MASK, text)

    def scrub_obj(self, obj: Any) -> Any:
        """Deep copy of a JSON-like value with every string scrubbed."""
        if isinstance(obj, str):
            return self.scrub(obj)
        if isinstance(obj, dict):
            return {self.scrub_obj(k): self.scrub_obj(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.scrub_obj(v) for v in obj]
        return obj


def mask_headers(headers: dict[str, str] | Any) -> dict[str, str]:
    """Headers as shown in evidence: sensitive values masked whatever the redactor knows."""
    return {k: (MASK if k.lower() in SENSITIVE_HEADERS else v) for k, v in dict(headers).items()}


def url_passwords(url: str | None) -> list[str]:
    """The password of a URL such as postgresql://user:secret@host/db, as written and unquoted."""
    if not url:
        return []
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []
