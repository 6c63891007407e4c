"""Judge: findings from the parsed migrations, their graph and the scratch-database run (pure)."""

from __future__ import annotations

import ast
import re
from typing import Any

from auditor.model import Finding, Severity
from checks.migrations.graph import Graph
from checks.migrations.model import History, Migration, Op
from checks.migrations.rules import make_finding

# Type families whose members can be ordered by how much they hold; moving down a family narrows.
_INT_RANK = {"SmallInteger": 1, "SMALLINT": 1, "Integer": 2, "INTEGER": 2, "INT": 2, "BigInteger": 3, "BIGINT": 3}
_NUMERIC = {"Float", "FLOAT", "Numeric", "NUMERIC", "DECIMAL", "REAL", "Double", "DOUBLE", "DOUBLE_PRECISION"}
_TEXT_UNBOUNDED = {"Text", "TEXT", "UnicodeText", "CLOB"}
_TEXT_BOUNDED = {"String", "VARCHAR", "Unicode", "NVARCHAR", "CHAR", "NCHAR"}
_DATE_RANK = {"Date": 1, "DATE": 1, "DateTime": 2, "DATETIME": 2, "TIMESTAMP": 2}
_DESTRUCTIVE_SQL = re.compile(r"\b(DROP\s+(TABLE|COLUMN)|TRUNCATE)\b|\bALTER\s+TABLE\b.*\bDROP\b", re.I | re.S)
_CREATE_INDEX_SQL = re.compile(r"\bCREATE\s+(UNIQUE\s+)?INDEX\b(?!\s+CONCURRENTLY)", re.I)
_UPDATE_SQL = re.compile(r"\bUPDATE\b", re.I)


def _type(text: str | None) -> tuple[str, int | None]:
    """("String", 100) from "sa.String(length=100)" (source text of a type expression)."""
    if not text:
        return "", None
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return "", None
    name = ""
    length: int | None = None
    call = node if isinstance(node, ast.Call) else None
    target = call.func if call else node
    if isinstance(target, ast.Attribute):
        name = target.attr
    elif isinstance(target, ast.Name):
        name = target.id
    if call is not None:
        for arg in call.args[:1]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, int):
                length = arg.value
        for kw in call.keywords:
            if kw.arg == "length" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, int):
                length = kw.value.value
    return name, length


# What a narrowing change does to existing rows, by database: PostgreSQL refuses values that do not fit
# (the migration fails), MySQL/MariaDB cut or round them (an error only in strict mode), SQLite keeps them.
_EFFECTS = {
    "postgresql": {"text": "fails on rows holding longer values (PostgreSQL refuses to cut them: the migration "
                           "errors mid-deploy)",
                   "int": "fails on rows holding values out of the new range",
                   "fraction": "rounds away the fractional part",
                   "time": "drops the time of day"},
    "mysql": {"text": "truncates longer values (or fails in strict SQL mode)",
              "int": "clips out-of-range values (or fails in strict SQL mode)",
              "fraction": "rounds away the fractional part",
              "time": "drops the time of day"},
    "": {"text": "truncates or rejects longer values, depending on the database",
         "int": "clips or rejects out-of-range values, depending on the database",
         "fraction": "drops the fractional part",
         "time": "drops the time of day"},
}


def narrowing(old: str | None, new: str | None, dialect: str = "") -> str | None:
    """Why changing a column from `old` to `new` loses data (in words that fit the database), or None when
    it does not (or cannot be told)."""
    (old_name, old_len), (new_name, new_len) = _type(old), _type(new)
    if not old_name or not new_name:
        return None
    effects = _EFFECTS.get(dialect, _EFFECTS[""])
    if old_name in _INT_RANK and new_name in _INT_RANK and _INT_RANK[new_name] < _INT_RANK[old_name]:
        return f"{old_name} to {new_name} cuts the integer range: it {effects['int']}"
    if old_name in _NUMERIC and new_name in _INT_RANK:
        return f"{old_name} to {new_name} {effects['fraction']}"
    if old_name in _DATE_RANK and new_name in _DATE_RANK and _DATE_RANK[new_name] < _DATE_RANK[old_name]:
        return f"{old_name} to {new_name} {effects['time']}"
    old_text = old_name in _TEXT_UNBOUNDED or old_name in _TEXT_BOUNDED
    if old_text and new_name in _TEXT_BOUNDED and new_len is not None:
        old_cap = None if old_name in _TEXT_UNBOUNDED else old_len
        if old_cap is None or new_len < old_cap:
            return f"{old_name}{f'({old_len})' if old_len else ''} to {new_name}({new_len}) {effects['text']}"
    return None


def _loc(m: Migration, line: int | None) -> dict[str, Any]:
    return {"file": m.file, "line": line or 1}


def judge_history(history: History, graph: Graph, *, dialect: str = "") -> list[Finding]:
    """``dialect``: "postgresql", "mysql", "sqlite" or "" (unknown), for the rules whose truth or words
    depend on the database (MIG006 is PostgreSQL's; MIG001's effect on existing rows)."""
    findings: list[Finding] = []
    for file, line, message in history.problems:
        findings.append(make_finding("MIG010", f"{file} could not be read as a migration: {message}.",
                                     {"file": file, "line": line}))
    for rid, dupes in graph.duplicates:
        findings.append(make_finding("MIG009", f"Revision id {rid!r} is used by {len(dupes)} files: "
                                     f"{', '.join(m.file for m in dupes)}.", _loc(dupes[1], 1), key=rid))
    for m, parent in graph.missing_parents:
        findings.append(make_finding("MIG009", f"Migration {m.id} names parent {parent!r}, which does not exist.",
                                     _loc(m, 1), key=parent))
    if graph.cycle:
        findings.append(make_finding("MIG009", f"The migrations {', '.join(graph.cycle)} depend on each other in "
                                     "a loop.", _loc(next(m for m in graph.ordered if m.id == graph.cycle[0]), 1)))
    by_id = {m.id: m for m in graph.ordered}
    for branch, heads in graph.heads.items():
        if len(heads) > 1:
            where = f" of app {branch}" if branch else ""
            findings.append(make_finding(
                "MIG004", f"The migrations{where} have {len(heads)} heads: {', '.join(heads)}.",
                _loc(by_id[heads[-1]], 1), evidence="\n".join(f"{h}: {by_id[h].file} ({by_id[h].message})"[:200]
                                                              for h in heads), key=branch))
    ancestors = _ancestors(graph)
    for m in graph.ordered:
        findings += judge_migration(m, dialect=dialect, preceding=ancestors.get(m.id, []))
    return findings


def _ancestors(graph: Graph) -> dict[str, list[Migration]]:
    """Each migration's ancestors (its parents, their parents...), nearest first: what ran before it."""
    by_id = {m.id: m for m in graph.ordered}
    out: dict[str, list[Migration]] = {}
    for m in graph.ordered:
        seen: list[Migration] = []
        queue = list(m.parents)
        while queue:
            parent = by_id.get(queue.pop(0))
            if parent is None or parent in seen:
                continue
            seen.append(parent)
            queue += parent.parents
        out[m.id] = seen
    return out


def judge_migration(m: Migration, *, dialect: str = "", preceding: list[Migration] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    created = {op.table for op in m.upgrade if op.name == "create_table" and op.table}
    # Django model names are case-insensitive: CreateModel(name="FormField") then AddField(model_name="formfield").
    created |= {op.table.lower() for op in m.upgrade if op.name == "CreateModel" and op.table}
    earlier: list[Op] = [op for before in preceding or [] for op in before.upgrade]
    for op in m.upgrade:
        findings += _destructive(m, op, dialect)
        findings += _not_null(m, op, created, earlier)
        if dialect == "postgresql":
            findings += _index(m, op, created)
        earlier.append(op)
    if m.irreversible_reason:
        findings.append(make_finding("MIG003", f"Migration {m.id} cannot be rolled back: {m.irreversible_reason}.",
                                     _loc(m, m.downgrade_line or m.upgrade_line)))
    return findings


def _destructive(m: Migration, op: Op, dialect: str) -> list[Finding]:
    what = None
    if op.name in ("drop_table", "DeleteModel"):
        what = f"drops table {op.table or '?'}"
    elif op.name in ("drop_column", "RemoveField"):
        what = f"drops column {op.table or '?'}.{op.column or '?'}"
    elif op.name == "alter_column":
        why = narrowing(op.type_old, op.type_new, dialect)
        if why:
            what = f"narrows column {op.table or '?'}.{op.column or '?'}: {why}"
    elif op.sql and _DESTRUCTIVE_SQL.search(op.sql):
        what = "runs destructive SQL"
    if not what:
        return []
    return [make_finding("MIG001", f"Migration {m.id} {what}.", _loc(m, op.line), evidence=op.source,
                         key=op.describe())]


def backfills(op: Op, table: str | None, column: str | None) -> bool:
    """Whether ``op`` (run before a SET NOT NULL) fills the column: an UPDATE of the table (literal SQL that
    names the table, and the column when it names one), or an update expression built in Python
    (op.execute(users.update()...), sa.update(...)), or a Django RunPython data migration."""
    if op.name == "RunPython":
        return True
    if op.sql is not None:
        sql = op.sql
        if not _UPDATE_SQL.search(sql):
            return False
        if table and not re.search(rf"\bUPDATE\s+[\"`\[]?{re.escape(table)}\b", sql, re.I):
            return False
        # The column must be assigned (SET col = ...), not merely read ("SET nickname = email").
        return not column or bool(re.search(rf"[\s,\"`\[]{re.escape(column)}[\"`\]]?\s*=(?!=)", sql, re.I))
    return op.name == "execute" and bool(re.search(r"\bupdate\(", op.source, re.I)) and \
        (not table or table in op.source)


# Django fields with no column of their own (a join table or nothing at all).
_NO_COLUMN_FIELD = re.compile(r"(?:ManyToMany|TaggableManager|GenericRelation|GenericForeignKey)", re.I)
# Django fields whose empty value is not "" (Field.empty_strings_allowed = False) and relations: for the
# others, blank=True without null makes Django's schema editor fill existing rows with "" (its
# effective_default), so the column is added safely. Third-party fields inherit True unless they subclass one.
_NO_EMPTY_STRING_FIELD = re.compile(
    r"(?:Integer|Float|Decimal|Boolean|Date|Time|Duration|UUID|JSON|IPAddress|ForeignKey|OneToOne|AutoField)", re.I)


def _django_fills_rows(op: Op) -> bool:
    """AddField whose existing rows Django fills without a default: blank=True on a string-like field."""
    return op.column_kwargs.get("blank") is True and not _NO_EMPTY_STRING_FIELD.search(op.type_new or "")


def _not_null(m: Migration, op: Op, created: set[str | None], earlier: list[Op]) -> list[Finding]:
    if op.table in created or (op.name == "AddField" and (op.table or "").lower() in created):
        return []  # a column of a table created in the same migration: the table is empty
    kw = op.column_kwargs
    if op.name == "add_column":
        if kw.get("nullable") is False and kw.get("server_default") is None and not kw.get("primary_key"):
            return [make_finding("MIG002", f"Migration {m.id} adds NOT NULL column {op.table or '?'}."
                                 f"{op.column or '?'} without a server default.", _loc(m, op.line),
                                 evidence=op.source, key=op.describe())]
    elif op.name == "AddField":
        if kw.get("null") is not True and "default" not in kw and not kw.get("primary_key") \
                and not _NO_COLUMN_FIELD.search(op.type_new or "") and not _django_fills_rows(op):
            return [make_finding("MIG002", f"Migration {m.id} adds NOT NULL field {op.table or '?'}."
                                 f"{op.column or '?'} without a default.", _loc(m, op.line), evidence=op.source,
                                 key=op.describe())]
    elif op.name == "alter_column" and op.kwargs.get("nullable") is False \
            and op.kwargs.get("server_default") is None \
            and not any(backfills(before, op.table, op.column) for before in earlier):
        return [make_finding("MIG002", f"Migration {m.id} makes {op.table or '?'}.{op.column or '?'} NOT NULL "
                             "without a default or a backfill (an UPDATE of the table, in it or in a migration "
                             "before it): it fails if any row holds NULL.",
                             _loc(m, op.line), evidence=op.source, severity=Severity.MEDIUM, key=op.describe())]
    return []


def _index(m: Migration, op: Op, created: set[str | None]) -> list[Finding]:
    if op.name == "create_index" and op.table not in created and op.kwargs.get("postgresql_concurrently") is not True:
        return [make_finding("MIG006", f"Migration {m.id} creates an index on existing table {op.table or '?'} "
                             "without CONCURRENTLY: writes to the table block until it is built.",
                             _loc(m, op.line), evidence=op.source, key=op.describe())]
    if op.name == "AddIndex" and op.table not in created:
        return [make_finding("MIG006", f"Migration {m.id} adds an index to {op.table or '?'} with AddIndex "
                             "(not AddIndexConcurrently).", _loc(m, op.line), evidence=op.source, key=op.describe())]
    if op.sql and _CREATE_INDEX_SQL.search(op.sql):
        return [make_finding("MIG006", f"Migration {m.id} runs CREATE INDEX without CONCURRENTLY.",
                             _loc(m, op.line), evidence=op.source, key=op.describe())]
    return []
