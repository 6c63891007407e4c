"""Finding fingerprints stay the same across runs (baselines gate on findings new since a run): two runs of
the judge over saved profiles whose measured parts all differ — counts, timings, bound values, request ids,
paths sent, driver-generated cursor names, where a loop's detection starts — give the same fingerprints."""

from __future__ import annotations

from auditor.model import Finding

from checks.nplusone.config import NPlusOneConfig
from checks.nplusone.judge import EndpointProfile, judge_endpoint
from checks.nplusone.model import ProfiledRequest, Statement

CONFIG = NPlusOneConfig()
PAGE = "SELECT books.id, books.author_id FROM books ORDER BY books.id LIMIT $1 OFFSET $2"
AUTHOR = "SELECT authors.id, authors.name FROM authors WHERE authors.id = $1"
PUBLISHER = "SELECT publishers.id FROM publishers WHERE publishers.id = $1"
TAGS = 'DECLARE "_django_curs_{thread}_sync_{n}" NO SCROLL CURSOR WITH HOLD FOR SELECT tags.name FROM tags ' \
       "WHERE tags.book_id = {book}"


def _request(endpoint: str, path: str, run: dict, sqls: list[tuple[str, str]], items: int | None = None
             ) -> ProfiledRequest:
    statements = [Statement(sql=sql, parameters=values, duration_ms=run["ms"], request_id=run["rid"] + path,
                            session=run["session"]) for sql, values in sqls]
    return ProfiledRequest(endpoint=endpoint, path=path, request_id=run["rid"] + path, status=200, items=items,
                           statements=statements, exact=True)


def _lazy(run: dict, n: int) -> ProfiledRequest:
    base = run["values"]
    sqls = [(PAGE, f"$1 = '{n}', $2 = '0'")] + [(run.get("author", AUTHOR), f"$1 = '{base + i}'") for i in range(n)]
    return _request("GET /books", f"/books?limit={n}", run, sqls, items=n)


def _profiles(run: dict) -> list[EndpointProfile]:
    base = run["values"]
    books = EndpointProfile("GET /books", _lazy(run, run["large"]), small=_lazy(run, 5), page_parameter="limit")
    dupes = EndpointProfile("GET /dupes", _request("GET /dupes", "/dupes", run, [
        (AUTHOR, f"$1 = '{base}'")] * run["dupes"] + [(PAGE, "$1 = '1', $2 = '0'")]))
    group: list[tuple[str, str]] = [(PAGE, f"$1 = '{run['group']}', $2 = '0'")]
    if run["cached_first"]:
        group.append((PUBLISHER, f"$1 = '{base}'"))   # the first author came from a cache: loop seen from B
    for i in range(1, run["group"]):
        group += [(AUTHOR, f"$1 = '{base + i}'"), (PUBLISHER, f"$1 = '{base + i}'")]
    grouped = EndpointProfile("GET /group", _request("GET /group", "/group", run, group))
    tags = [(TAGS.format(thread=run["thread"], n=n, book=base + n), "") for n in range(run["tags"])]
    tagged = EndpointProfile("GET /tags", _request("GET /tags", "/tags", run, [(PAGE, "$1 = '1', $2 = '0'"),
                                                                             *tags]))
    return [books, dupes, grouped, tagged]


def _judge(run: dict) -> list[Finding]:
    return [f for p in _profiles(run) for f in judge_endpoint(p, CONFIG, "django")]


RUN_A = {"ms": 0.1, "rid": "req-1f3a-", "session": "65a1.1", "values": 1, "large": 20, "dupes": 2, "group": 4,
         "cached_first": False, "thread": 140234, "tags": 4}
RUN_B = {"ms": 7.3, "rid": "req-9c0d-", "session": "65b2.9", "values": 501, "large": 21, "dupes": 3, "group": 4,
         "cached_first": True, "thread": 139001, "tags": 3}


def test_two_runs_with_different_measurements_give_the_same_fingerprints():
    first, second = _judge(RUN_A), _judge(RUN_B)
    assert sorted(f.rule_id for f in first) == ["NPQ001", "NPQ002", "NPQ003", "NPQ004"]
    # the runs really differ where it shows: messages, evidence, severity
    assert {f.rule_id: f.message for f in first} != {f.rule_id: f.message for f in second}
    assert {f.rule_id: (f.location, f.fingerprint) for f in first} == {
        f.rule_id: (f.location, f.fingerprint) for f in second}


def test_a_different_statement_is_a_different_fingerprint():
    """The stability is not bought by ignoring the SQL: another table is another finding."""
    first = next(f for f in _judge(RUN_A) if f.rule_id == "NPQ001")
    changed = next(f for f in _judge({**RUN_B, "author": AUTHOR.replace("authors", "editors")})
                   if f.rule_id == "NPQ001")
    assert changed.location == first.location and changed.fingerprint != first.fingerprint
