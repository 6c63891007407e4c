"""Statements as the report shows them: sqlparse pretty-prints the few that are shown (it is exact but far
too slow for the bulk, which the fingerprint normaliser handles), cut to a sane length."""

from __future__ import annotations

import sqlparse

MAX_PRETTY = 1200


def pretty_sql(sql: str, limit: int = MAX_PRETTY) -> str:
    text = sql[: limit * 4]   # never hand sqlparse an unbounded statement
    try:
        text = sqlparse.format(text, reindent=True, keyword_case="upper").strip()
    except Exception:  # noqa: BLE001 — a statement sqlparse cannot format is shown as logged
        text = text.strip()
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


def short_sql(sql: str, limit: int = 90) -> str:
    """One line, for messages: `SELECT ... FROM authors WHERE authors.id = ?` style."""
    text = " ".join(sql.split())
    if len(text) > limit:
        head, sep, tail = text.partition(" FROM ")
        if sep and head.upper().startswith("SELECT") and len(tail) + 16 <= limit:
            text = f"SELECT ... FROM {tail}"
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"`{text}`"
