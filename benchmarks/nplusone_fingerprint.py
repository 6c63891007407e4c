"""Fingerprint throughput of the nplusone check, one core: statements per second on generated statements
from known templates, and how many distinct fingerprints come out against the number of templates (exact
grouping: equal; a wrong merge: fewer; a split: more). Next to a sqlparse-based normaliser on a sample of
the same corpus (sqlparse is about a hundred times slower, so it gets fewer statements), and the whole log
pipeline (JSON lines parsed, then fingerprinted). Prints measured figures only.

    python benchmarks/nplusone_fingerprint.py [--statements 100000] [--sqlparse-sample 3000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable

import sqlparse
from sqlparse import tokens as T

from checks.nplusone import formats
from checks.nplusone.fingerprint import fingerprint

# Templates: {i} integer, {f} float, {s} string literal, {in} IN list of 1-30 integers, {p} the
# dialect's placeholder (repeated with the right numbering), {date} a quoted date. Each pair of
# near-identical templates differs in one detail a careless normaliser merges (table case, quoted
# identifier, operator, column).
TEMPLATES: list[tuple[str, str]] = [
    ("pg", 'SELECT "Book"."id", "Book"."title" FROM "Book" WHERE "Book"."id" = {p}'),
    ("pg", 'SELECT "book"."id", "book"."title" FROM "book" WHERE "book"."id" = {p}'),
    ("pg", "SELECT authors.id, authors.name FROM authors WHERE authors.id = {p}::INTEGER"),
    ("pg", "SELECT authors.id, authors.name FROM authors WHERE authors.id = ANY(ARRAY[{inp}])"),
    ("pg", "SELECT id FROM events WHERE created_at > {date}::timestamptz ORDER BY created_at LIMIT {i}"),
    ("pg", "SELECT id FROM events WHERE created_at < {date}::timestamptz ORDER BY created_at LIMIT {i}"),
    ("pg", "SELECT data #>> '{{a,b}}' FROM docs WHERE id = {p}"),
    ("pg", "UPDATE accounts SET balance = balance - {f} WHERE id = {p} RETURNING balance"),
    ("pg", "INSERT INTO audit_log (actor, action, at) VALUES ({s}, {s}, now())"),
    ("pg", "SELECT count(*) AS count_1 FROM (SELECT books.id FROM books WHERE books.author_id = {p}) AS anon_1"),
    ("pg", "WITH recent AS (SELECT id FROM orders WHERE user_id = {p} ORDER BY id DESC LIMIT {i}) "
           "SELECT * FROM recent"),
    ("pg", "SELECT id FROM users WHERE email = {s} /* controller:users,action:show */"),
    ("pg", "SELECT id FROM users WHERE lower(email) = lower({s})"),
    ("mysql", "SELECT `id`, `title` FROM `books` WHERE `author_id` IN ({in})"),
    ("mysql", "SELECT `id`, `title` FROM `Books` WHERE `author_id` IN ({in})"),
    ("mysql", "SELECT `id` FROM `users` WHERE `name` = {s} AND `age` > {i}"),
    ("mysql", "SELECT `id` FROM `users` WHERE `name` = {s} AND `age` < {i}"),
    ("mysql", "INSERT INTO `tags` (`name`, `book_id`) VALUES ({s}, {i}), ({s}, {i})"),
    ("mysql", "UPDATE `books` SET `stock` = `stock` - {i} WHERE `id` = {i}"),
    ("mysql", "DELETE FROM `sessions` WHERE `expires` < {i}"),
    ("mysql", "SELECT `o`.`id` FROM `orders` `o` JOIN `users` `u` ON `u`.`id` = `o`.`user_id` WHERE `u`.`id` = {i}"),
    ("mysql", "SELECT `id` FROM `blobs` WHERE `digest` = 0x{hex}"),
    ("mysql", "SELECT `id` FROM `products` WHERE `price` BETWEEN {f} AND {f}"),
    ("sqlite", "SELECT books.id, books.title FROM books ORDER BY books.id LIMIT {p} OFFSET {p}"),
    ("sqlite", "SELECT books.id, books.title FROM books ORDER BY books.title LIMIT {p} OFFSET {p}"),
    ("sqlite", "SELECT authors.id, authors.name, authors.bio FROM authors WHERE authors.id = {p}"),
    ("sqlite", "SELECT authors.id, authors.name, authors.bio FROM authors WHERE authors.id IN ({inp})"),
    ("sqlite", "SELECT t1.id FROM t1 WHERE t1.score > {f}"),
    ("sqlite", "SELECT t2.id FROM t2 WHERE t2.score > {f}"),
    ("sqlite", "SELECT id FROM notes WHERE body LIKE {s} ESCAPE '\\'"),
    ("sqlite", "INSERT INTO notes (body, author_id) VALUES ({p}, {p})"),
    ("sqlite", "SELECT id FROM notes -- trailing comment\nWHERE author_id = {p}"),
    ("sqlite", "SELECT col1 FROM wide WHERE col1 = {i}"),
    ("sqlite", "SELECT col2 FROM wide WHERE col2 = {i}"),
    ("named", "SELECT users.id FROM users WHERE users.id = :id_1 LIMIT :param_1"),
    ("named", "SELECT users.id FROM users WHERE users.email = :email_1"),
    ("pyformat", "SELECT users.id FROM users WHERE users.id = %(id_1)s"),
    ("pyformat", "SELECT orders.id FROM orders WHERE orders.user_id = %(user_id_1)s AND orders.id > %(id_1)s"),
    ("format", "SELECT orders.id FROM orders WHERE orders.user_id = %s AND orders.status = %s"),
    ("django", 'SELECT "shop_book"."id" FROM "shop_book" WHERE "shop_book"."author_id" = {i} LIMIT 21'),
]
WORDS = ["alpha", "O'Brien", "it's", "back\\slash\\", "semi;colon", "-- not a comment", "/* nor this */", "ünïcödé",
         "x", ""]


def _string(rng: random.Random, dialect: str) -> str:
    word = rng.choice(WORDS)
    if dialect == "mysql":   # backslash escapes
        return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + word.replace("'", "''") + "'"   # standard SQL: only '' escapes


def _placeholder(dialect: str, n: int) -> str:
    return {"pg": f"${n}", "sqlite": "?", "named": f":p{n}", "pyformat": f"%(p{n})s", "format": "%s"}.get(dialect, "?")


def generate(count: int, seed: int) -> list[tuple[int, str, bool | None]]:
    """(template index, statement, backslash_escapes as the check passes it: False for PostgreSQL statements,
    which come from the server log where standard_conforming_strings holds; None, decide per statement,
    for the rest)."""
    rng = random.Random(seed)
    out: list[tuple[int, str, bool | None]] = []
    for k in range(count):
        index = k % len(TEMPLATES)
        dialect, template = TEMPLATES[index]
        counter = iter(range(1, 100))
        use_literal = rng.random() < 0.4   # some statements are logged with values, others with placeholders
        text = template
        while "{" in text and any(tag in text for tag in ("{i}", "{f}", "{s}", "{in}", "{inp}", "{p}", "{date}",
                                                          "{hex}")):
            text = (text.replace("{i}", str(rng.randint(0, 10**6)), 1)
                    .replace("{f}", f"{rng.uniform(0, 1000):.2f}", 1)
                    .replace("{s}", _string(rng, dialect), 1)
                    .replace("{in}", ", ".join(str(rng.randint(1, 999)) for _ in range(rng.randint(1, 30))), 1)
                    .replace("{inp}", ", ".join((str(rng.randint(1, 99)) if use_literal else _placeholder(dialect, next(counter)))
                                                for _ in range(rng.randint(1, 30))), 1)
                    .replace("{p}", str(rng.randint(1, 10**5)) if use_literal else _placeholder(dialect, next(counter)), 1)
                    .replace("{date}", f"'2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}'", 1)
                    .replace("{hex}", f"{rng.getrandbits(32):08x}", 1))
        text = text.replace("{{", "{").replace("}}", "}")
        if rng.random() < 0.3:
            text = text.replace(" ", "  ").replace(" FROM", "\n  FROM")   # whitespace as loggers vary it
        out.append((index, text, False if dialect == "pg" else None))
    return out


def ours(sql: str, backslash: bool | None) -> str:
    return fingerprint(sql, backslash_escapes=backslash)


def sqlparse_fingerprint(sql: str, _backslash: bool | None = None) -> str:
    """The straightforward sqlparse normaliser: literals and placeholders → ?, comments out, IN lists collapsed."""
    parts: list[str] = []
    for token in sqlparse.parse(sql)[0].flatten():
        if token.ttype in T.Comment or token.ttype in T.Comment.Single or token.ttype in T.Comment.Multiline:
            continue
        if token.ttype in T.Literal or token.ttype in T.Name.Placeholder:
            parts.append("?")
        elif token.ttype in T.Whitespace or token.ttype in T.Newline:
            parts.append(" ")
        else:
            parts.append(token.value)
    text = " ".join("".join(parts).split())
    import re
    return re.sub(r"\(\s*\?(?:\s*,\s*\?)*\s*\)", "(?+)", text)


def measure(name: str, fn: Callable[[str, bool | None], str], corpus: list[tuple[int, str, bool | None]]) -> None:
    began = time.process_time()
    groups: dict[str, set[int]] = defaultdict(set)
    per_template: dict[int, set[str]] = defaultdict(set)
    for template, sql, backslash in corpus:
        fp = fn(sql, backslash)
        groups[fp].add(template)
        per_template[template].add(fp)
    elapsed = time.process_time() - began
    merges = sum(1 for templates in groups.values() if len(templates) > 1)
    splits = sum(1 for fps in per_template.values() if len(fps) > 1)
    print(f"{name:28s} {len(corpus):>8,d} statements  {len(corpus) / elapsed:>10,.0f} statements/s  "
          f"{len(groups):>4d} fingerprints for {len(per_template)} templates  "
          f"({merges} wrong merges, {splits} templates split)")


def pipeline(corpus: list[tuple[int, str, bool | None]]) -> None:
    lines = [json.dumps({"ts": "2026-01-01T00:00:00.000+00:00", "level": "INFO", "logger": "sql",
                         "request_id": f"r{k // 20}", "statement": sql, "parameters": [], "duration_ms": 0.1})
             for k, (_, sql, _b) in enumerate(corpus)]
    began = time.process_time()
    statements, _ = formats.parse(lines, formats.detect(lines[:100]))  # type: ignore[arg-type]
    shapes = {fingerprint(s.sql) for s in statements}
    elapsed = time.process_time() - began
    print(f"{'JSON log: parse+fingerprint':28s} {len(lines):>8,d} lines       {len(lines) / elapsed:>10,.0f} lines/s"
          f"       {len(shapes):>4d} fingerprints")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--sqlparse-sample", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    corpus = generate(args.statements, args.seed)
    print(f"corpus: {len(corpus):,d} statements from {len(TEMPLATES)} templates (seed {args.seed}); CPU time, one core")
    measure("fingerprint (this check)", ours, corpus)
    measure("sqlparse normaliser (sample)", sqlparse_fingerprint, corpus[: args.sqlparse_sample])
    pipeline(corpus)


if __name__ == "__main__":
    main()
