"""Telling secrets from ordinary settings in ENV/ARG and .env files, and masking them for evidence.

Names: Docker's own build check SecretsUsedInArgOrEnv (the name split into words; apikey, auth,
credential(s), key, password, pword, passwd, secret, token; "public" exempts). Values: detect-secrets'
pattern plugins (AWS keys, private keys, URLs with passwords, GitHub/Slack/Stripe/... tokens). Its
entropy and keyword plugins are left out on purpose: they flag digests, paths and plain words."""

from __future__ import annotations

import re
from functools import lru_cache

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings

SECRET_WORDS = frozenset({"apikey", "auth", "credential", "credentials", "key", "password", "pword", "passwd",
                          "secret", "token"})
ALLOW_WORDS = frozenset({"public"})
_EXCLUDED_PLUGINS = ("Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector", "IPPublicDetector")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def words(name: str) -> list[str]:
    """SECRET_KEY, secretKey, api-key -> ["secret", "key"], ["secret", "key"], ["api", "key"]."""
    return [w.lower() for w in _WORD.findall(name)]


def is_secret_name(name: str) -> bool:
    parts = set(words(name))
    joined = name.lower().replace("_", "").replace("-", "")
    return bool((parts & SECRET_WORDS) or "apikey" in joined) and not parts & ALLOW_WORDS


@lru_cache(maxsize=1)
def _plugins() -> tuple[dict[str, str], ...]:
    names = sorted(cls.__name__ for cls in get_mapping_from_secret_type_to_class().values())
    return tuple({"name": n} for n in names if n not in _EXCLUDED_PLUGINS)


def secret_types(line: str) -> list[str]:
    """detect-secrets' names for the secrets in one line ("AWS Access Key", ...), deduplicated."""
    found: list[str] = []
    with transient_settings({"plugins_used": list(_plugins())}):
        for secret in scan_line(line):
            if secret.type not in found:
                found.append(secret.type)
    return found


def mask(value: str) -> str:
    """Never any character of the value: its length only (a hint for the reader, not for an attacker)."""
    return f"****** ({len(value)} characters, masked)"


def mask_line(line: str) -> str:
    """A line for evidence with every value detect-secrets recognises replaced by ***."""
    with transient_settings({"plugins_used": list(_plugins())}):
        values = {s.secret_value for s in scan_line(line) if s.secret_value}
    for value in sorted(values, key=len, reverse=True):
        line = line.replace(value, "***")
    return line
