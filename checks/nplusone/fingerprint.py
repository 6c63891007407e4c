"""One fast, exact SQL fingerprint normaliser: statements that differ only in their values group together,
statements of a different shape never do.

Replaced by ``?``: string literals ('..' with '' escapes, E'..'/backslash escapes where the dialect has
them, $tag$..$tag$ bodies), numbers, and every placeholder style ($1, %s, %(name)s, ?, :name). Removed:
comments. Collapsed: whitespace, IN lists and ARRAY[...] of any length (``IN (?+)``), multi-row VALUES.
Kept as they are: identifiers, quoted identifiers ("Book", `order`) and keyword case — except the name of a
cursor in DECLARE / FETCH / MOVE / CLOSE, which becomes ``<cursor>``: drivers generate it per process and
per cursor (Django's "_django_curs_<thread id>_sync_<n>", SQLAlchemy's "c_<object id>_<n>"), so with it
kept one loop would be a new shape each time round and a finding's key would change every run.

Why not sqlparse: it is exact but about 100 times too slow for a large log (see
benchmarks/nplusone_fingerprint.py); it only pretty-prints the few statements a report shows. Why not
pt-query-digest's regexes: they treat PostgreSQL "quoted identifiers" as strings (merging different tables)
and do not collapse IN lists of placeholders. The design here is one scanning regex that matches only
the few interesting tokens (so the callback runs a handful of times per statement), then two cheap
whole-string passes that can no longer touch literal text because none is left.
"""

from __future__ import annotations

import re
from functools import lru_cache

# One alternation, leftmost match wins at each position, so a quote inside a comment or a string, or a
# digit inside a quoted identifier, is consumed by the enclosing token first. Groups:
#   keep  — quoted identifiers: returned unchanged
#   drop  — comments: removed
#   any other match — a literal or placeholder: becomes "?"
_TOKEN_BACKSLASH = r"""
    (?=[-"`'$%?:\d./])  # cheap first-character test: most positions fail here at once
    (?:
    (?P<keep>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
  | (?P<drop>--[^\n]*|/\*.*?\*/)
  | \$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?P=tag)?\$
  | '(?:[^'\\]|\\.|'')*'
  | \$\d+ | %s | %\(\w+\)s | \? | (?<![:\w]):[A-Za-z_]\w*
  | (?<![\w.$])(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)(?![\w$])
    )
"""
# PostgreSQL with standard_conforming_strings (the default since 9.1): a backslash is an ordinary
# character in '...', and only E'...' strings have backslash escapes.
_STRING_BACKSLASH = r"  | '(?:[^'\\]|\\.|'')*'"
assert _STRING_BACKSLASH in _TOKEN_BACKSLASH
_TOKEN_STANDARD = _TOKEN_BACKSLASH.replace(_STRING_BACKSLASH,
                                           r"  | (?:(?<=\W[eE])|(?<=^[eE]))'(?:[^'\\]|\\.|'')*' | '(?:[^']|'')*'")
_FLAGS = re.VERBOSE | re.DOTALL
_SCAN = {True: re.compile(_TOKEN_BACKSLASH, _FLAGS), False: re.compile(_TOKEN_STANDARD, _FLAGS)}

# After literals are gone only identifiers, keywords, operators and ? are left, so these are safe.
# IN (?, ?, ?) and ARRAY[?, ?] of any length become (?+); the lookbehinds keep the scan starting at a bracket.
_IN_LIST = re.compile(r"(?:(?<=\b[Ii][Nn] )|(?<=\b[Ii][Nn])|(?<=\b[Aa][Rr][Rr][Aa][Yy]))([(\[])\?(?:,\?)*([)\]])")
_IN_WORD = re.compile(r"\b(?:in|In|iN|array|Array)(?= ?[(\[]\?\+)")
# VALUES (?, ?), (?, ?) ...: any number of rows of placeholders is one shape (batched inserts).
_VALUES_ROWS = re.compile(r"\b[Vv][Aa][Ll][Uu][Ee][Ss] ?\(\?(?:,\?)*\)(?:,\(\?(?:,\?)*\))*")
# PostgreSQL's E'...' prefix is left in front of its "?": drop it so E'a' and 'a' are one shape.
_E_PREFIX = re.compile(r"(?<![\w$])[eE]\?")
# Cursor names (run on the normalised text; a quoted name may hold anything but an unpaired quote).
_NAME = r'(?:"(?:[^"]|"")*"|[A-Za-z_][\w$]*)'
_CURSOR_COMMANDS = ("DECLARE ", "FETCH ", "MOVE ", "CLOSE ")
_DECLARE_NAME = re.compile(r"^(DECLARE )" + _NAME + r"(?= )", re.IGNORECASE)
_LAST_NAME = re.compile(r"^((?:FETCH|MOVE|CLOSE) (?:.* )?)(?!ALL$)" + _NAME + r"$", re.IGNORECASE | re.DOTALL)
CURSOR = "<cursor>"


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "keep":
        # Quoted identifiers may hold whitespace; protect it from the whitespace pass.
        return match.group().replace(" ", "\x00")
    if kind == "drop":
        return " "
    return "?"


def fingerprint(sql: str, *, backslash_escapes: bool | None = None) -> str:
    """The normalised shape of one statement. ``backslash_escapes``: whether '\\'' escapes a quote inside
    '...' — True for MySQL, False for PostgreSQL/SQLite/standard SQL (only E'..' has them), None to decide
    per statement (see below)."""
    if backslash_escapes is None:
        # Only a backslash before a quote reads differently. MySQL writes every apostrophe as \\' while a
        # standard string rarely ends in a backslash: the backslash reading wins unless it leaves a stray quote.
        if "\\'" in sql:
            escaped = _SCAN[True].sub(_replace, sql)
            sql = _SCAN[False].sub(_replace, sql) if "'" in escaped else escaped
        else:
            sql = _SCAN[False].sub(_replace, sql)
    else:
        sql = _SCAN[backslash_escapes].sub(_replace, sql)
    # Plain string operations from here on: several times faster than regex passes.
    sql = " ".join(sql.split()).replace(" ,", ",").replace(", ", ",").replace("( ", "(").replace(" )", ")")
    if "E?" in sql or "e?" in sql:
        sql = _E_PREFIX.sub("?", sql)
    if "(?" in sql or "[?" in sql:
        sql = _IN_LIST.sub(r"\1?+\2", sql)
        if "?+" in sql:
            sql = _IN_WORD.sub(lambda m: m.group().upper(), sql)
        if "ALUES" in sql or "alues" in sql:
            sql = _VALUES_ROWS.sub("VALUES (?+)...", sql)
    sql = sql.rstrip(" ;")
    if "\x00" in sql:
        sql = sql.replace("\x00", " ")
    if sql[:8].upper().startswith(_CURSOR_COMMANDS):
        pattern = _DECLARE_NAME if sql[:1] in "Dd" else _LAST_NAME
        sql = pattern.sub(lambda m: m.group(1) + CURSOR, sql, count=1)
    return sql


@lru_cache(maxsize=4096)
def cached_fingerprint(sql: str, backslash_escapes: bool | None = None) -> str:
    """ORMs send the same statement text (with placeholders) again and again: remember the answer."""
    return fingerprint(sql, backslash_escapes=backslash_escapes)


_KEYWORD = re.compile(r"\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*)*([A-Za-z]+)", re.DOTALL)
# Statements that are bookkeeping, not data access: never part of an N+1 or a duplicate.
TRANSACTION_WORDS = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "END", "SET",
                               "SHOW", "RESET", "DISCARD", "DEALLOCATE", "PRAGMA", "LISTEN", "UNLISTEN"})


def first_keyword(sql: str) -> str:
    match = _KEYWORD.match(sql)
    return match.group(1).upper() if match else ""


# Connection-pool pings and driver probes (pool_pre_ping sends ";" or "SELECT 1"; SQLAlchemy and drivers ask
# for the version, schema or backend pid once per connection): no data access, never a repeated query.
_PING = re.compile(r"(?is)^\s*(?:;\s*)*$|^\s*select\s+cast\s*\(\s*'test (?:plain|unicode) returns'|"
                   r"^\s*select\s+(?:1|true|null|version\s*\(\s*\)|pg_catalog\.version\s*\(\s*\)|"
                   r"current_schema\s*\(\s*\)|pg_backend_pid\s*\(\s*\)|@@version\w*|database\s*\(\s*\))"
                   r"(?:\s+as\s+\w+)?\s*;?\s*$")


def is_bookkeeping(sql: str) -> bool:
    """Transaction control, session settings, pings and driver probes: not data access."""
    return first_keyword(sql) in TRANSACTION_WORDS or bool(_PING.match(sql))
