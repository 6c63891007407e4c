"""The fingerprint normaliser on a corpus of real-shaped statements (PostgreSQL, MySQL, SQLite dialects):
statements of one template group together, statements of different templates never do."""

from __future__ import annotations

import pytest

from checks.nplusone.fingerprint import fingerprint, first_keyword, is_bookkeeping

# (template id, statement, backslash_escapes). Every template appears with different values, value styles
# and whitespace; templates differ from each other in one detail only, where a careless normaliser merges.
CORPUS: list[tuple[str, str, bool]] = [
    # PostgreSQL: $n placeholders, casts, quoted identifiers, E'' strings, dollar quotes, ANY(ARRAY[...])
    ("pg-author", "SELECT authors.id, authors.name FROM authors WHERE authors.id = $1::INTEGER", False),
    ("pg-author", "SELECT authors.id,  authors.name\n\tFROM authors\n\tWHERE authors.id = $7::INTEGER", False),
    ("pg-author", "SELECT authors.id, authors.name FROM authors WHERE authors.id = 42::INTEGER", False),
    ("pg-quoted-Book", 'SELECT "Book"."id" FROM "Book" WHERE "Book"."id" = 1', False),
    ("pg-quoted-Book", 'SELECT "Book"."id" FROM "Book" WHERE "Book"."id" = $1', False),
    ("pg-quoted-book", 'SELECT "book"."id" FROM "book" WHERE "book"."id" = 1', False),
    ("pg-quoted-spaces", 'SELECT "order  line"."id" FROM "order  line" WHERE "order  line"."id" = 3', False),
    ("pg-quoted-space1", 'SELECT "order line"."id" FROM "order line" WHERE "order line"."id" = 3', False),
    ("pg-string", "SELECT id FROM users WHERE email = 'a@example.com'", False),
    ("pg-string", "SELECT id FROM users WHERE email = 'o''brien@example.com'", False),
    ("pg-string", "SELECT id FROM users WHERE email = E'it\\'s@example.com'", False),  # E'' → E?
    ("pg-string-e", "SELECT id FROM users WHERE email = E'x\\'' AND id = 1 -- it's a comment", False),
    ("pg-string-e", "SELECT id FROM users WHERE email = 'plain' AND id = 2", False),
    ("pg-backslash", "SELECT id FROM files WHERE path = 'C:\\' AND owner = 'bob'", False),
    ("pg-backslash", "SELECT id FROM files WHERE path = 'D:\\' AND owner = 'alice'", False),
    ("pg-any", "SELECT id FROM books WHERE author_id = ANY(ARRAY[$1, $2, $3])", False),
    ("pg-any", "SELECT id FROM books WHERE author_id = ANY(ARRAY[1])", False),
    ("pg-dollar", "SELECT $$literal; with 'quotes'$$ AS x FROM t", False),
    ("pg-dollar", "SELECT $fn$other body$fn$ AS x FROM t", False),
    ("pg-cast-text", "SELECT id FROM t WHERE created > '2024-01-01'::date", False),
    ("pg-cast-text", "SELECT id FROM t WHERE created > '2025-12-31 10:30:00'::date", False),
    ("pg-cast-ts", "SELECT id FROM t WHERE created > '2024-01-01'::timestamp", False),
    ("pg-jsonb", "SELECT data #>> '{a,b}' FROM docs WHERE id = $1", False),
    ("pg-jsonb", "SELECT data #>> '{c}' FROM docs WHERE id = 9", False),
    ("pg-jsonb2", "SELECT data #> '{a,b}' FROM docs WHERE id = $1", False),
    # MySQL: backticks, %s, backslash escapes, IN lists, multi-row VALUES, /* */ comments, hex
    ("my-in", "SELECT `id` FROM `books` WHERE `author_id` IN (%s, %s, %s)", True),
    ("my-in", "SELECT `id` FROM `books` WHERE `author_id` IN (%s)", True),
    ("my-in", "SELECT `id` FROM `books` WHERE `author_id` IN (1,2,3,4,5,6,7,8,9,10)", True),
    ("my-in", "/* controller:books */ SELECT `id` FROM `books` WHERE `author_id` in ( 4 , 5 )", True),
    ("my-in-orders", "SELECT `id` FROM `orders` WHERE `author_id` IN (%s, %s)", True),
    ("my-escape", "SELECT `id` FROM `users` WHERE `name` = 'it\\'s' AND `age` > 30", True),
    ("my-escape", "SELECT `id` FROM `users` WHERE `name` = 'plain' AND `age` > 31", True),
    ("my-escape-lt", "SELECT `id` FROM `users` WHERE `name` = 'x' AND `age` < 30", True),
    ("my-values", "INSERT INTO `tags` (`name`, `book_id`) VALUES ('a', 1), ('b', 2), ('c', 3)", True),
    ("my-values", "INSERT INTO `tags` (`name`, `book_id`) VALUES (%s, %s)", True),
    ("my-values", "INSERT INTO `tags` (`name`, `book_id`) VALUES (%s, %s), (%s, %s)", True),
    ("my-hex", "SELECT id FROM blobs WHERE digest = 0xDEADBEEF", True),
    ("my-hex", "SELECT id FROM blobs WHERE digest = 0x00ff", True),
    ("my-named", "SELECT id FROM users WHERE id = %(id_1)s LIMIT %(param_1)s", True),
    ("my-named", "SELECT id FROM users WHERE id = %(user_id)s LIMIT %(limit)s", True),
    # SQLite: ?, :name, numbers in identifiers, floats, negative-looking arithmetic
    ("lite-page", "SELECT books.id FROM books ORDER BY books.id LIMIT ? OFFSET ?", True),
    ("lite-page", "SELECT books.id FROM books ORDER BY books.id LIMIT 20 OFFSET 40", True),
    ("lite-page", "SELECT books.id FROM books ORDER BY books.id LIMIT :limit OFFSET :offset;", True),
    ("lite-t1", "SELECT t1.id FROM t1 WHERE t1.score > 1.5e3", True),
    ("lite-t1", "SELECT t1.id FROM t1 WHERE t1.score > .25", True),
    ("lite-t2", "SELECT t2.id FROM t2 WHERE t2.score > 1.5e3", True),
    ("lite-col1", "SELECT col1 FROM t WHERE col1 = 7", True),
    ("lite-col2", "SELECT col2 FROM t WHERE col2 = 7", True),
    ("lite-comment", "SELECT id FROM t -- a comment with 'quote\nWHERE id = 1", True),
    ("lite-comment", "SELECT id FROM t WHERE id = 2 /* it's */", True),
    ("lite-string-in-comment", "SELECT id FROM t WHERE name = '-- not a comment'", True),
    ("lite-string-in-comment", "SELECT id FROM t WHERE name = '/* nor this */'", True),
    ("lite-is-null", "SELECT id FROM t WHERE name IS NULL", True),
    ("lite-eq", "SELECT id FROM t WHERE title = ?", True),
    # Server-side cursors: the driver-generated name differs per process and per cursor, the shape does not
    ("pg-declare", 'DECLARE "_django_curs_140234_sync_1" NO SCROLL CURSOR WITH HOLD FOR SELECT id FROM t '
                   "WHERE a = $1", False),
    ("pg-declare", 'DECLARE "_django_curs_139001_sync_7" NO SCROLL CURSOR WITH HOLD FOR SELECT id FROM t '
                   "WHERE a = 5", False),
    ("pg-declare-u", 'DECLARE "_django_curs_140234_sync_1" NO SCROLL CURSOR WITH HOLD FOR SELECT id FROM u '
                     "WHERE a = $1", False),
    ("pg-fetch", 'FETCH FORWARD 2000 FROM "_django_curs_140234_sync_1"', False),
    ("pg-fetch", "FETCH FORWARD 100 FROM c_7f3a2b1c_3", False),
    ("pg-fetch-all", "FETCH ALL IN c_7f3a2b1c_3", False),
    ("pg-close", 'CLOSE "_django_curs_140234_sync_1"', False),
    ("pg-close", "CLOSE c_1", False),
    ("pg-close-all", "CLOSE ALL", False),
]


def test_every_template_groups_to_exactly_one_fingerprint_and_no_two_templates_merge():
    by_template: dict[str, set[str]] = {}
    for template, sql, backslash in CORPUS:
        by_template.setdefault(template, set()).add(fingerprint(sql, backslash_escapes=backslash))
    split = {t: fps for t, fps in by_template.items() if len(fps) != 1}
    assert not split, f"templates split into several fingerprints: {split}"
    owners: dict[str, str] = {}
    for template, fps in by_template.items():
        (fp,) = fps
        assert fp not in owners, f"{template} and {owners.get(fp)} merged into {fp!r}"
        owners[fp] = template


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT a FROM t WHERE id IN (1, 2, 3)", "SELECT a FROM t WHERE id IN (?+)"),
    ("SELECT a FROM t WHERE id = ANY(ARRAY[$1,$2])", "SELECT a FROM t WHERE id = ANY(ARRAY[?+])"),
    ('SELECT "My Table".x FROM "My Table"', 'SELECT "My Table".x FROM "My Table"'),
    ("SELECT x::int FROM t WHERE a = :a AND b = %(b)s AND c = %s AND d = ? AND e = $12",
     "SELECT x::int FROM t WHERE a = ? AND b = ? AND c = ? AND d = ? AND e = ?"),
    ("  SELECT 1 ;  ", "SELECT ?"),
    ("SELECT a FROM t /* hint */ WHERE b = 'x' -- end", "SELECT a FROM t WHERE b = ?"),
    ('DECLARE "c_7f 3a" CURSOR FOR SELECT "a b" FROM t', 'DECLARE <cursor> CURSOR FOR SELECT "a b" FROM t'),
    ("fetch next in my_cursor;", "fetch next in <cursor>"),
    ("MOVE ABSOLUTE 3 FROM c1", "MOVE ABSOLUTE ? FROM <cursor>"),
])
def test_normal_form(sql, expected):
    assert fingerprint(sql) == expected


def test_quoted_identifiers_keep_their_case_and_digits():
    assert fingerprint('SELECT * FROM "Table1"') != fingerprint('SELECT * FROM "Table2"')
    assert fingerprint('SELECT * FROM "Users"') != fingerprint('SELECT * FROM "users"')
    assert "`order2`" in fingerprint("SELECT * FROM `order2` WHERE id = 5")


def test_unterminated_literals_do_not_crash_or_swallow_silently():
    for sql in ("SELECT 'unterminated FROM t", 'SELECT "open FROM t', "SELECT $$ open", "/* open comment",
                "", "   ", "\x00\x01"):
        assert isinstance(fingerprint(sql), str)


def test_bookkeeping_statements_are_recognised():
    for sql in ("BEGIN", "COMMIT", "ROLLBACK", "BEGIN (implicit)", "SET search_path = x", "SHOW x",
                "/* c */ SAVEPOINT sp1", "pragma foreign_keys=ON",
                # pool pings (pool_pre_ping) and driver probes
                ";", "", "SELECT 1", "select 1;", "SELECT 1 AS ping", "select pg_catalog.version()",
                "SELECT current_schema()", "SELECT @@version_comment",
                "SELECT CAST('test plain returns' AS VARCHAR(60)) AS anon_1"):
        assert is_bookkeeping(sql), sql
    for sql in ("SELECT 1 FROM books WHERE id = ?", "  insert into t values (1)",
                "WITH x AS (SELECT 1) SELECT * FROM x", "SELECT version FROM migrations"):
        assert not is_bookkeeping(sql), sql
    assert first_keyword("-- hi\n  select 1") == "SELECT"


def test_auto_mode_reads_backslashes_the_way_the_statement_needs():
    # MySQL-style escape: the standard reading would leave a stray quote, so backslash escapes are used.
    mysql = "SELECT id FROM users WHERE name = 'it\\'s' AND age > 30"
    assert fingerprint(mysql) == fingerprint(mysql, backslash_escapes=True) == (
        "SELECT id FROM users WHERE name = ? AND age > ?")
    # Standard strings with a trailing backslash: the standard reading is complete, so it is kept.
    standard = "SELECT id FROM files WHERE path = 'C:\\' AND owner = 'bob'"
    assert fingerprint(standard) == fingerprint(standard, backslash_escapes=False) == (
        "SELECT id FROM files WHERE path = ? AND owner = ?")
    # Every template of the corpus groups the same way when the dialect is not known.
    by_template: dict[str, set[str]] = {}
    for template, sql, _backslash in CORPUS:
        by_template.setdefault(template, set()).add(fingerprint(sql))
    assert all(len(fps) == 1 for fps in by_template.values()), {t: f for t, f in by_template.items() if len(f) > 1}
    assert len({next(iter(f)) for f in by_template.values()}) == len(by_template)
