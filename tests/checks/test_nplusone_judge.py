"""Judging saved profiles, with no service: thresholds, duplicates, MN+1, batching, growth, time."""

from __future__ import annotations

from auditor.model import Severity

from checks.nplusone.analysis import is_batching, repeating_group
from checks.nplusone.config import NPlusOneConfig
from checks.nplusone.fingerprint import fingerprint
from checks.nplusone.judge import EndpointProfile, endpoint_row, judge_endpoint
from checks.nplusone.model import ProfiledRequest, Statement
from checks.nplusone.scaling import count_items, growth, page_size_parameter, with_query

CONFIG = NPlusOneConfig()
PAGE = "SELECT books.id, books.author_id FROM books ORDER BY books.id LIMIT ? OFFSET ?"
AUTHOR = "SELECT authors.id, authors.name FROM authors WHERE authors.id = ?"
PUBLISHER = "SELECT publishers.id FROM publishers WHERE publishers.id = ?"


def _request(sqls: list[tuple[str, str]], items: int | None = None, ms: float | None = 0.1,
             path: str = "/books") -> ProfiledRequest:
    return ProfiledRequest(endpoint="GET /books", path=path, request_id="r", status=200, items=items,
                           statements=[Statement(sql=s, parameters=p, duration_ms=ms) for s, p in sqls])


def _lazy(n: int, ms: float | None = 0.1) -> ProfiledRequest:
    return _request([("BEGIN", ""), (PAGE, f"({n}, 0)")] + [(AUTHOR, f"({i},)") for i in range(1, n + 1)]
                    + [("COMMIT", "")], items=n, ms=ms)


def _rules(findings):
    return sorted((f.rule_id, str(f.severity)) for f in findings)


def test_five_different_values_is_a_potential_n_plus_one_four_is_info_two_is_nothing():
    assert _rules(judge_endpoint(EndpointProfile("GET /books", _lazy(5)), CONFIG, None)) == [("NPQ001", "medium")]
    assert _rules(judge_endpoint(EndpointProfile("GET /books", _lazy(4)), CONFIG, None)) == [("NPQ002", "info")]
    assert _rules(judge_endpoint(EndpointProfile("GET /books", _lazy(2)), CONFIG, None)) == []


def test_growth_with_the_page_confirms_and_raises_to_high():
    profile = EndpointProfile("GET /books", _lazy(20), small=_lazy(5), page_parameter="limit")
    (finding,) = judge_endpoint(profile, CONFIG, "sqlalchemy")
    assert finding.severity == Severity.HIGH
    assert "confirmed N+1" in finding.message and "5 items → 5 runs, 20 items → 20 runs" in finding.message
    assert "scaling: grows with the page" in finding.evidence
    assert "FROM authors" in finding.evidence and "values: (1,) · (2,) · (3,) · …" in finding.evidence
    assert "fingerprint: SELECT authors.id,authors.name FROM authors WHERE authors.id = ?" in finding.evidence
    assert "selectinload" in finding.remediation and "authors" in finding.remediation
    assert finding.location == {"endpoint": "GET /books"}


def test_a_constant_count_at_both_page_sizes_is_lowered():
    fixed = [(AUTHOR, f"({i},)") for i in range(1, 7)]   # six lookups whatever the page size
    small = _request([(PAGE, "(5, 0)"), *fixed], items=5)
    large = _request([(PAGE, "(20, 0)"), *fixed], items=20)
    (finding,) = judge_endpoint(EndpointProfile("GET /books", large, small=small, page_parameter="limit"), CONFIG,
                                None)
    assert finding.rule_id == "NPQ001" and finding.severity == Severity.LOW
    assert "does not grow with the page" in finding.message


def test_fifty_ms_in_total_raises_severity_without_a_page_parameter():
    (finding,) = judge_endpoint(EndpointProfile("GET /books", _lazy(10, ms=6.0)), CONFIG, "django")
    assert finding.severity == Severity.HIGH and "60.0 ms in total" in finding.message
    assert "select_related" in finding.remediation


def test_a_loop_that_opens_a_server_side_cursor_per_item_is_one_shape():
    # Django's .iterator() on PostgreSQL: every cursor gets a new generated name, the statement is the same.
    declare = ('DECLARE "_django_curs_140234_sync_{n}" NO SCROLL CURSOR WITH HOLD FOR SELECT id FROM tags '
               "WHERE book_id = {n}")
    request = _request([(PAGE, "(6, 0)")] + [(declare.format(n=n), "") for n in range(1, 7)])
    (finding,) = judge_endpoint(EndpointProfile("GET /books", request), CONFIG, None)
    assert finding.rule_id == "NPQ001" and "6 times" in finding.message


def test_same_values_twice_is_a_duplicate_not_an_n_plus_one():
    request = _request([(AUTHOR, "(1,)"), (AUTHOR, "(1,)"), (PAGE, "(5, 0)")])
    (finding,) = judge_endpoint(EndpointProfile("GET /books", request), CONFIG, None)
    assert finding.rule_id == "NPQ003" and finding.severity == Severity.LOW
    slow = _request([(AUTHOR, "(1,)"), (AUTHOR, "(1,)")], ms=30.0)
    assert judge_endpoint(EndpointProfile("GET /books", slow), CONFIG, None)[0].severity == Severity.MEDIUM


def test_a_repeating_group_below_the_threshold_is_one_mn_plus_one_finding():
    sqls = [(PAGE, "(4, 0)")]
    for i in range(1, 5):
        sqls += [(AUTHOR, f"({i},)"), (PUBLISHER, f"({i},)")]
    findings = judge_endpoint(EndpointProfile("GET /books", _request(sqls, items=4)), CONFIG, None)
    assert _rules(findings) == [("NPQ004", "medium")]   # neither statement reaches 5 runs by itself
    assert "group of 2 statements 4 times" in findings[0].message
    group = repeating_group(_request(sqls).statements)
    assert group is not None and group.repeats == 4 and group.start == 1


def test_statements_of_a_group_that_cross_the_threshold_are_n_plus_ones_at_their_own_count():
    """15 books whose tags and author are lazy-loaded: the tag query ran 15 times — that is the count
    reported and gated, not "a group of 2 statements repeated" (the loop is context)."""
    sqls = [(PAGE, "(15, 0)")]
    for i in range(1, 16):
        sqls += [(AUTHOR, f"({i},)"), (PUBLISHER, f"({i},)")]
    findings = judge_endpoint(EndpointProfile("GET /books", _request(sqls, items=15)), CONFIG, None)
    assert [f.rule_id for f in findings] == ["NPQ001", "NPQ001"]
    assert all("ran 15 times" in f.message and "loop of 2 statements repeated 15 times" in f.message
               for f in findings)


def test_keyset_and_offset_batching_walks_are_not_n_plus_one():
    keyset = "SELECT books.id FROM books WHERE books.id > ? ORDER BY books.id LIMIT ?"
    walk = _request([(keyset, f"({i * 10}, 10)") for i in range(8)])
    assert judge_endpoint(EndpointProfile("GET /walk", walk), CONFIG, None) == []
    assert is_batching(fingerprint(keyset))
    assert is_batching(fingerprint("SELECT id FROM t ORDER BY id LIMIT 100 OFFSET 300"))
    assert not is_batching(fingerprint(AUTHOR))
    assert not is_batching(fingerprint("SELECT id FROM t WHERE price > ? ORDER BY id"))   # no LIMIT: not a walk


def test_single_object_endpoints_get_no_info_findings_for_a_few_lookups():
    request = _request([("SELECT * FROM books WHERE id = ?", "(3,)")] + [(AUTHOR, f"({i},)") for i in (1, 2, 3)],
                       path="/books/3")
    profile = EndpointProfile("GET /books/{book_id}", request, single_object=True)
    assert judge_endpoint(profile, CONFIG, None) == []


def test_values_not_logged_still_count_as_repeats_but_never_as_duplicates():
    request = _request([(AUTHOR, "")] * 6)
    (finding,) = judge_endpoint(EndpointProfile("GET /books", request), CONFIG, None)
    assert finding.rule_id == "NPQ001" and "values not logged" in finding.message


def test_thresholds_come_from_config():
    strict = NPlusOneConfig(threshold=3, info_threshold=2)
    assert _rules(judge_endpoint(EndpointProfile("GET /books", _lazy(3)), strict, None)) == [("NPQ001", "medium")]


def test_endpoint_row_counts_queries_and_shapes():
    row = endpoint_row(EndpointProfile("GET /books", _lazy(20), small=_lazy(5)))
    assert row["method"] == "GET" and row["path"] == "/books"
    assert (row["queries"], row["data_queries"], row["distinct_shapes"], row["max_repeats"]) == (23, 21, 2, 20)
    assert row["queries_small_page"] == 8 and row["items_small_page"] == 5


def test_growth_verdicts():
    assert growth(fingerprint(AUTHOR), _lazy(5), _lazy(20)).verdict == "grows"
    same_items = _lazy(20)
    assert growth(fingerprint(AUTHOR), same_items, same_items).verdict == "unclear"


def test_page_size_parameter_and_items():
    from auditor.operations import operations

    doc = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
        "/a": {"get": {"parameters": [{"name": "per_page", "in": "query",
                                       "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                       "responses": {"200": {"description": "ok"}}}},
        "/b": {"get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 8}}],
                       "responses": {"200": {"description": "ok"}}}},
        "/c": {"get": {"parameters": [{"name": "size", "in": "query", "schema": {"type": "string"}}],
                       "responses": {"200": {"description": "ok"}}}}}}
    ops = {op.path: op for op in operations(doc)}
    page = page_size_parameter(ops["/a"], 5, 20)
    assert page is not None and (page.name, page.small, page.large) == ("per_page", 5, 20)
    assert page_size_parameter(ops["/b"], 5, 20) is None    # max 8 leaves no room for two clear sizes
    assert page_size_parameter(ops["/c"], 5, 20) is None    # not a number
    assert with_query("/a?x=1&per_page=3", "per_page", 20) == "/a?x=1&per_page=20"
    assert count_items('{"items": [{}, {}], "total": 9}') == 2
    assert count_items('[1, 2, 3]') == 3
    assert count_items('{"id": 1, "name": "x"}') is None
    assert count_items("not json") is None


def test_pg_stat_statements_deltas_add_calls_and_rows_and_unmask_a_one_row_walk():
    from checks.nplusone.model import StatementStats
    from checks.nplusone.sources.postgres_live import stat_deltas

    before = {1: (10, 10, "SELECT a FROM t WHERE id = $1"), 2: (3, 3, "SELECT 'backend-auditor-nplusone:begin:x'")}
    after = {1: (30, 30, "SELECT a FROM t WHERE id = $1"), 2: (4, 4, "SELECT 'backend-auditor-nplusone:begin:x'"),
             3: (1, 50, "SELECT * FROM pg_stat_statements"), 4: (2, 7, "SELECT b FROM u WHERE x > $1 LIMIT $2")}
    deltas = stat_deltas(before, after)
    assert [(d.query, d.calls, d.rows) for d in deltas] == [
        ("SELECT a FROM t WHERE id = $1", 20, 20), ("SELECT b FROM u WHERE x > $1 LIMIT $2", 2, 7)]
    # A keyset-shaped statement that returned one row per run is no batching walk: one query per item.
    keyset = "SELECT books.id FROM books WHERE books.id > $1 ORDER BY books.id LIMIT $2"
    walk = _request([(keyset, f"$1 = '{i}', $2 = '1'") for i in range(8)])
    assert judge_endpoint(EndpointProfile("GET /walk", walk), CONFIG, None) == []
    walk.stats = [StatementStats(keyset, calls=8, rows=8)]
    (finding,) = judge_endpoint(EndpointProfile("GET /walk", walk), CONFIG, None)
    assert finding.rule_id == "NPQ001" and "pg_stat_statements: 8 calls, 8 rows" in finding.evidence
    walk.stats = [StatementStats(keyset, calls=8, rows=80)]   # ten rows a run: a real walk
    assert judge_endpoint(EndpointProfile("GET /walk", walk), CONFIG, None) == []
