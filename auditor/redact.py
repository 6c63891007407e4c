"""No secret reaches an output file, a log line or the console: neither the ones the user supplied
(--header values, passwords in URLs) nor the live credentials the service says back (a token in a
response body, a session cookie, an Authorization header in a curl reproduction).

One Redactor per audit. The runner scrubs the whole report through it before any renderer sees it,
and every console line goes through it, so no check has to remember. Masking is positional: only the
matched value is replaced (``"token": "***"``, ``Authorization: Bearer ***``, ``session=***; Path=/``);
file names, ids and hashes that merely look random elsewhere in the text stay intact.

The same detectors judge what a service exposes (``credential_fields``): the security check reports a
response that hands an anonymous caller credential material.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

MASK = "***"
# Header names whose values are secret even when the user did not pass them (e.g. seen in evidence).
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
                               "x-auth-token", "api-key"})
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words all over the report

# -- what a credential looks like ------------------------------------------------------------------------

# Field names (normalised: lower case, snake_case) whose values are credentials.
CREDENTIAL_NAMES = frozenset({
    "token", "access_token", "refresh_token", "id_token", "auth_token", "api_token", "bearer_token",
    "session_token", "jwt", "password", "passwd", "pwd", "secret", "client_secret", "api_key", "apikey",
    "x_api_key", "x_auth_token", "session", "sessionid", "session_id", "csrf", "csrftoken", "csrf_token",
    "xsrf_token", "x_csrf_token", "x_xsrf_token", "authorization", "proxy_authorization", "cookie", "set_cookie",
    "private_key", "secret_key", "access_key", "secret_access_key", "password_hash", "hashed_password",
    "passwordhash", "pwd_hash", "salt", "password_salt", "otp_secret", "totp_secret", "mfa_secret",
    "reset_token", "verification_token", "confirmation_token", "remember_token", "refresh",
})
_CREDENTIAL_SUFFIXES = ("_token", "_secret", "_password", "_passwd", "_api_key", "_apikey", "_private_key",
                        "_secret_key", "_access_key", "_password_hash")
# Names with a credential word that are not credentials (pagination cursors, counters, types).
_NOT_CREDENTIALS = frozenset({"page_token", "next_token", "next_page_token", "prev_page_token", "previous_token",
                              "continuation_token", "pagination_token", "cursor_token", "sync_token",
                              "token_type", "token_count", "max_tokens", "tokens", "idempotency_key",
                              "public_key", "csrf_header_name", "csrf_cookie_name"})
# Values that are not secrets whatever their name: empty, booleans, null, placeholders, references.
_NOT_A_VALUE = re.compile(r"^(?:|null|none|nil|true|false|undefined|\*+|\$\{.*|\{\{.*|<[^>]*>|os\.environ.*|"
                          r"getenv.*|env\(.*)$", re.I)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
# Password hashes in the formats frameworks store: bcrypt, argon2, scrypt, crypt(3) sha256/512, Django's.
PASSWORD_HASH = re.compile(
    r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}"
    r"|\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+"
    r"|\$scrypt\$[^\s\"']{20,}|\$[56]\$(?:rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43,86}"
    r"|\b(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|scrypt)\$[^\s\"'$]+\$[^\s\"']{10,}")

_AUTH_HEADER = re.compile(r"(?i)(\b(?:proxy-)?authorization\b[\"']?\s*[:=]\s*[\"']?)"
                          r"((?:bearer|basic|token|digest|negotiate|apikey|jwt|dpop)\s+)?([^\s\"',;]+)")
_COOKIE_HEADER = re.compile(r"(?i)(\b(?:set-)?cookie\b[\"']?[ \t]*[:=][ \t]*[\"']?)([^\n\"']*)")
_COOKIE_PAIR = re.compile(r"(?:^|(?<=[;,]))(\s*)([^=;,\s]+)=([^;,]*)")
_COOKIE_ATTRIBUTES = frozenset({"path", "domain", "expires", "max-age", "samesite", "secure", "httponly",
                                "priority", "partitioned", "version", "comment"})
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s\"']*:)([^@/\s\"']+)(@)", re.I)
# "name": "value" in JSON (also escaped inside a JSON string) and 'name': 'value' in a Python repr.
_QUOTED_PAIR = re.compile(r"(?P<q>\\?[\"'])(?P<name>[A-Za-z_$@][\w.$@-]{0,63})(?P=q)(?P<sep>\s*:\s*)"
                          r"(?P<vq>\\?[\"'])(?P<value>[^\"'\\\n]*)(?P=vq)")
# name=value in a query string, a form body, a .env line or a command line; name = "value" in code and
# name: 'value' in a JS object or an inline YAML map.
_EQUALS_PAIR = re.compile(r"(?<![\w.$-])(?P<name>[A-Za-z_][\w.-]{0,63})(?:(?P<sep>=)(?P<value>[^\s&\"',;#)\]}<>]+)|"
                          r"(?P<qsep>\s*[=:]\s*)(?P<vq>[\"'])(?P<qvalue>[^\"'\n]*)(?P=vq))")
# "Name: value" at the start of a line: a header line (also "> Name: value" in a request excerpt) or YAML.
_COLON_LINE = re.compile(r"(?m)^(?P<lead>[ \t>*-]*)(?P<name>[A-Za-z_][\w.-]{0,63})(?P<sep>[ \t]*:[ \t]+)"
                         r"(?P<value>[^\s\"'].*?)[ \t]*$")


def normalise_name(name: str) -> str:
    return _CAMEL.sub("_", name.strip()).lower().replace("-", "_").lstrip("_$@")


def is_credential_name(name: str) -> bool:
    key = normalise_name(name)
    if key in _NOT_CREDENTIALS:
        return False
    return key in CREDENTIAL_NAMES or key.endswith(_CREDENTIAL_SUFFIXES)


def is_credential_value(value: str) -> bool:
    """A value worth masking under a credential name (not empty, not a boolean or a placeholder)."""
    return not _NOT_A_VALUE.match(value.strip())


def _mask_cookie_value(text: str) -> str:
    def pair(match: re.Match[str]) -> str:
        space, name, value = match.groups()
        if name.lower() in _COOKIE_ATTRIBUTES or not value.strip() or value.strip() == MASK:
            return match.group(0)
        return f"{space}{name}={MASK}"

    return _COOKIE_PAIR.sub(pair, text)


def redact(text: str) -> str:
    """``text`` with every live credential it quotes masked in place (see the module docstring)."""
    if not text or not isinstance(text, str):
        return text
    text = JWT.sub(MASK, text)
    if "$" in text:
        text = PASSWORD_HASH.sub(MASK, text)
    if "://" in text:
        text = _URL_CREDENTIALS.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    if ":" not in text and "=" not in text:
        return text
    lowered = text.lower()
    if "authorization" in lowered:
        text = _AUTH_HEADER.sub(lambda m: m.group(1) + (m.group(2) or "") + MASK, text)
    if "cookie" in lowered:
        text = _COOKIE_HEADER.sub(lambda m: m.group(1) + _mask_cookie_value(m.group(2)), text)
    text = _QUOTED_PAIR.sub(_quoted_pair, text)
    text = _EQUALS_PAIR.sub(_equals_pair, text)
    if ":" in text:
        text = _COLON_LINE.sub(_colon_line, text)
    return text


_POSITIONAL = frozenset({"cookie", "set_cookie", "authorization", "proxy_authorization"})


def _quoted_pair(m: re.Match[str]) -> str:
    if normalise_name(m.group("name")) in _POSITIONAL:
        return m.group(0)  # handled positionally in redact() (scheme and cookie attributes kept)
    if not (is_credential_name(m.group("name")) and is_credential_value(m.group("value"))):
        return m.group(0)
    return f"{m.group('q')}{m.group('name')}{m.group('q')}{m.group('sep')}{m.group('vq')}{MASK}{m.group('vq')}"


def _equals_pair(m: re.Match[str]) -> str:
    name = m.group("name")
    if m.group("sep") is not None:
        value = m.group("value")
        if not (is_credential_name(name) and is_credential_value(value)):
            return m.group(0)
        return f"{name}={MASK}"
    value = m.group("qvalue")
    if not (is_credential_name(name) and is_credential_value(value)):
        return m.group(0)
    return f"{name}{m.group('qsep')}{m.group('vq')}{MASK}{m.group('vq')}"


def _colon_line(m: re.Match[str]) -> str:
    name = m.group("name")
    if normalise_name(name) in _POSITIONAL:
        return m.group(0)
    if not (is_credential_name(name) and is_credential_value(m.group("value"))):
        return m.group(0)
    return f"{m.group('lead')}{name}{m.group('sep')}{MASK}"


class Redactor:
    """The user's secrets (exact values) plus the live-credential rules of ``redact``."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
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
        # Longest first so "Bearer abc" is masked whole before "abc" alone.
        self._pattern = re.compile("|".join(re.escape(s) for s in sorted(self._secrets, key=len, reverse=True)))

    def scrub(self, text: str) -> str:
        if not text or not isinstance(text, str):
            return text
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return redact(text)

    def scrub_obj(self, obj: Any) -> Any:
        """Deep copy of a JSON-like value with every string scrubbed, and the string values of
        credential-named keys masked whole."""
        if isinstance(obj, str):
            return self.scrub(obj)
        if isinstance(obj, dict):
            out = {}
            for key, value in obj.items():
                if isinstance(key, str) and isinstance(value, str) and is_credential_name(key) \
                        and is_credential_value(value):
                    out[self.scrub(key)] = MASK
                else:
                    out[self.scrub_obj(key)] = self.scrub_obj(value)
            return out
        if isinstance(obj, (list, tuple)):
            return [self.scrub_obj(v) for v in obj]
        return obj


def scrub_file(path: Path, redactor: Redactor) -> None:
    """Rewrite a text file (the service's captured output) through the redactor, line by line, replacing
    it atomically; a file that cannot be read or written is left as it is (OSError propagates)."""
    tmp = path.with_name(f".{path.name}.redacting")
    with open(path, "r", encoding="utf-8", errors="surrogateescape", newline="") as src, \
            open(tmp, "w", encoding="utf-8", errors="surrogateescape", newline="") as dst:
        for line in src:
            dst.write(redactor.scrub(line))
    os.replace(tmp, path)


# -- what a service exposes -------------------------------------------------------------------------------

def credential_fields(obj: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """(JSON path, what) for each piece of credential material in a parsed JSON body: a value in a
    password-hash format wherever it is, and a non-empty string under a credential-named field. CSRF
    tokens are left out: handing one to an anonymous caller is their purpose."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            child = f"{path}.{key}"
            if isinstance(value, str) and is_credential_name(str(key)) and is_credential_value(value) \
                    and "csrf" not in normalise_name(str(key)) and "xsrf" not in normalise_name(str(key)):
                yield child, "password hash" if PASSWORD_HASH.search(value) else f"credential field {key!r}"
            elif isinstance(value, str) and PASSWORD_HASH.search(value):
                yield child, "password hash"
            else:
                yield from credential_fields(value, child)
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from credential_fields(value, f"{path}[{index}]")
    elif isinstance(obj, str) and PASSWORD_HASH.search(obj):
        yield path, "password hash"


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
