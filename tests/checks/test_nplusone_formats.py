"""SQL log formats: detection and parsing of real-shaped logs (tests/data/sql_logs/), garbage included."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.nplusone import formats
from checks.nplusone.analysis import data_statements, repeats
from checks.nplusone.formats.django_backends import DjangoBackends
from checks.nplusone.formats.json_lines import JsonLines
from checks.nplusone.formats.postgres_stderr import PostgresStderr
from checks.nplusone.formats.sqlalchemy_echo import SqlAlchemyEcho

DATA = Path(__file__).resolve().parents[1] / "data" / "sql_logs"


def _lines(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(("name", "fmt"), [
    ("sqlalchemy_echo.log", SqlAlchemyEcho),
    ("django_backends.log", DjangoBackends),
    ("postgres_stderr.log", PostgresStderr),
    ("json_lines.log", JsonLines),
])
def test_format_is_detected(name, fmt):
    assert formats.detect(_lines(name)) is fmt


def test_garbage_is_no_format_and_parses_to_nothing_without_crashing():
    lines = _lines("garbage.log")
    assert formats.detect(lines) is None
    for fmt in formats.FORMATS:
        statements, _unparsed = formats.parse(lines, fmt)
        assert statements == [], fmt.name


def test_sqlalchemy_echo_multiline_statements_and_their_parameters():
    statements, unparsed = formats.parse(_lines("sqlalchemy_echo.log"), SqlAlchemyEcho)
    assert unparsed == 0
    first_request = statements[: statements.index(next(s for s in statements if s.sql == "ROLLBACK")) + 1]
    assert [s.sql.split()[0] for s in first_request] == ["BEGIN"] + ["SELECT"] * 6 + ["ROLLBACK"]
    page = first_request[1]
    assert "FROM books ORDER BY books.id" in page.sql and "LIMIT ? OFFSET ?" in page.sql
    assert page.parameters == "(5, 0)"
    authors = first_request[2:7]
    assert [a.parameters for a in authors] == ["(1,)", "(2,)", "(3,)", "(4,)", "(5,)"]
    assert all(s.source == "sqlalchemy" and s.duration_ms is None for s in authors)
    found = repeats(data_statements(first_request))
    assert found[0].count == 5 and found[0].distinct == 5


def test_django_lines_give_sql_args_and_seconds_as_ms():
    statements, _ = formats.parse(_lines("django_backends.log"), DjangoBackends)
    assert len(statements) == 7   # the django.server line is not a statement
    assert statements[1].sql.endswith('WHERE "shop_author"."id" = 1 LIMIT 21')
    assert statements[1].parameters == "(1,)"
    assert statements[5].duration_ms == pytest.approx(2.0)
    assert statements[0].parameters == ""   # args=() means none
    found = repeats(data_statements(statements))
    assert found[0].count == 5 and found[0].distinct == 5   # the values are interpolated: still different
    # The session lookup has an escaped quote in its literal and still parses as one statement.
    assert statements[6].sql.endswith("= 'abc''d' LIMIT 21")


def test_postgres_stderr_counts_execute_not_parse_or_bind_and_reads_detail_parameters():
    statements, _ = formats.parse(_lines("postgres_stderr.log"), PostgresStderr)
    app = [s for s in statements if s.application != "backend-auditor-nplusone" and s.database.startswith("npq")]
    authors = [s for s in app if "FROM authors" in s.sql]
    assert len(authors) == 5
    assert len({s.parameters for s in authors}) == 5 and all(s.parameters.startswith("$1 = '") for s in authors)
    assert all(s.duration_ms is not None and s.session and not s.backslash_escapes for s in authors)
    # Markers of the auditor's own session carry its application name.
    assert any(s.application == "backend-auditor-nplusone" and "nplusone:begin:" in s.sql for s in statements)
    # Debian's default prefix: database from user@db, continuation lines joined, ERROR/STATEMENT skipped.
    shop = [s for s in statements if s.database == "shop"]
    assert [s.sql.split()[-1] for s in shop] == ["7", "8"]
    assert "\nFROM \"Shop\".\"Customer\"\nWHERE id = 8" in shop[1].sql
    assert shop[0].session == "1834"


def test_json_lines_keep_request_id_parameters_and_duration():
    statements, _ = formats.parse(_lines("json_lines.log"), JsonLines)
    assert len(statements) == 7
    assert {s.request_id for s in statements} == {statements[0].request_id}
    assert statements[0].request_id.startswith("audit-npq-")
    assert all(s.duration_ms is not None and s.duration_ms >= 0 for s in statements)
    authors = [s for s in statements if "FROM authors" in s.sql]
    assert [a.parameters for a in authors] == ["[1]", "[2]", "[3]", "[4]", "[5]"]


def test_json_lines_that_are_broken_are_counted_not_fatal():
    parser = JsonLines()
    assert parser.feed('{"statement": "SELECT 1", "request_id": "r1"') == []
    assert parser.unparsed == 1
    assert parser.feed('{"statement": 5}') == []
    assert parser.feed('[1, 2]') == []
    (statement,) = parser.feed('{"sql": "SELECT 2", "requestId": "r2", "params": {"a": 1}, "duration_ms": 1.5}')
    assert (statement.sql, statement.request_id, statement.parameters, statement.duration_ms) == (
        "SELECT 2", "r2", '{"a": 1}', 1.5)


def test_sqlalchemy_parameters_without_statement_are_counted():
    parser = SqlAlchemyEcho()
    assert parser.feed("2026-01-01 00:00:00,000 INFO sqlalchemy.engine.Engine [generated in 0.1s] (1,)") == []
    assert parser.unparsed == 1
    # The basicConfig layout (LEVEL:logger:message) and SQLAlchemy 1.3's bare parameter tuple.
    assert parser.feed("INFO:sqlalchemy.engine.base.Engine:SELECT a FROM t WHERE id = ?") == []
    (statement,) = parser.feed("INFO:sqlalchemy.engine.base.Engine:(7,)")
    assert statement.sql == "SELECT a FROM t WHERE id = ?" and statement.parameters == "(7,)"


def test_sqlalchemy_debug_echo_result_rows_are_not_statements():
    lines = ["2026-01-01 00:00:00,000 INFO sqlalchemy.engine.Engine SELECT a.id FROM a WHERE a.id = ?",
             "2026-01-01 00:00:00,000 INFO sqlalchemy.engine.Engine [generated in 0.0001s] (3,)",
             "2026-01-01 00:00:00,001 DEBUG sqlalchemy.engine.Engine Col ('id',)",
             "2026-01-01 00:00:00,001 DEBUG sqlalchemy.engine.Engine Row (3,)",
             "2026-01-01 00:00:00,002 INFO sqlalchemy.engine.Engine COMMIT"]
    statements, unparsed = formats.parse(lines, SqlAlchemyEcho)
    assert [s.sql for s in statements] == ["SELECT a.id FROM a WHERE a.id = ?", "COMMIT"] and unparsed == 0
