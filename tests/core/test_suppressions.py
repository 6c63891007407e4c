"""The ignore file: real .audit-ignore.toml files in tmp_path, real CheckResult/Finding objects."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from auditor.model import CheckResult, Finding, Section, Severity, Status
from auditor.suppressions import (
    MAX_ENTRIES,
    MAX_FILE_BYTES,
    IgnoreFileError,
    apply_suppressions,
    default_ignore_file,
    glob_match,
    load_ignore_file,
)
from tests.unprivileged import run_unprivileged, shared_directory

TODAY = date(2025, 6, 1)


def finding(rule_id: str = "SEC101", *, file: str | None = "app/settings.py", endpoint: str | None = None,
            suppressed: bool = False) -> Finding:
    location = {"endpoint": endpoint} if endpoint else {"file": file, "line": 3}
    return Finding(rule_id=rule_id, severity=Severity.HIGH, title="t", message="m", location=location,
                   suppressed=suppressed)


def check(*findings: Finding) -> CheckResult:
    return CheckResult(id="security", title="Security", section=Section.SECURITY, status=Status.FAIL,
                       summary="", findings=list(findings))


def ignore_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".audit-ignore.toml"
    path.write_text(text, encoding="utf-8")
    return path


def apply(tmp_path: Path, text: str, *findings: Finding) -> dict:
    path = ignore_file(tmp_path, text)
    return apply_suppressions([check(*findings)], load_ignore_file(path, required=True), today=TODAY,
                              file=str(path))


def test_a_valid_entry_suppresses_the_finding_and_records_why(tmp_path: Path) -> None:
    hit, other = finding(), finding("SEC102")
    gate = apply(tmp_path, '[[ignore]]\nrule = "SEC101"\nreason = "test fixture key"\n'
                           'expires = 2025-12-31\nowner = "team-api"\n', hit, other)
    assert hit.suppressed is True
    assert hit.suppression == {"entry": 1, "reason": "test fixture key", "expires": "2025-12-31",
                               "file": str(tmp_path / ".audit-ignore.toml"), "owner": "team-api"}
    assert other.suppressed is False and other.suppression is None
    assert gate == {"file": str(tmp_path / ".audit-ignore.toml"), "applied": 1, "expired": [], "unused": []}
    assert hit.to_dict()["suppression"]["reason"] == "test fixture key"


def test_rule_and_path_glob_narrow_to_matching_files(tmp_path: Path) -> None:
    in_tests, nested, outside = (finding(file="tests/test_a.py"), finding(file="tests/unit/deep/test_b.py"),
                                 finding(file="app/test_c.py"))
    apply(tmp_path, '[[ignore]]\nrule = "SEC101"\npath = "tests/**/*.py"\nreason = "fixtures"\n',
          in_tests, nested, outside)
    assert [in_tests.suppressed, nested.suppressed, outside.suppressed] == [True, True, False]


def test_a_single_star_stays_within_a_directory_and_a_trailing_slash_means_below(tmp_path: Path) -> None:
    top, deep = finding(file="legacy/a.py"), finding(file="legacy/sub/b.py")
    apply(tmp_path, '[[ignore]]\nrule = "SEC101"\npath = "legacy/*.py"\nreason = "old"\n', top, deep)
    assert (top.suppressed, deep.suppressed) == (True, False)
    deep2 = finding(file="./legacy/sub/b.py")
    apply(tmp_path, '[[ignore]]\nrule = "SEC101"\npath = "legacy/"\nreason = "old"\n', deep2)
    assert deep2.suppressed is True


def test_endpoint_exact_and_glob(tmp_path: Path) -> None:
    books, book, authors, post = (finding("LAT001", endpoint="GET /books"),
                                  finding("LAT001", endpoint="GET /books/{id}"),
                                  finding("LAT001", endpoint="GET /authors"),
                                  finding("LAT001", endpoint="POST /books"))
    apply(tmp_path, '[[ignore]]\nrule = "LAT001"\nendpoint = "get  /books"\nreason = "slow by design"\n'
                    '[[ignore]]\nrule = "LAT001"\nendpoint = "GET /books/*"\nreason = "cached upstream"\n',
          books, book, authors, post)
    assert [books.suppressed, book.suppressed, authors.suppressed, post.suppressed] == [True, True, False, False]
    assert (books.suppression or {})["entry"] == 1 and (book.suppression or {})["entry"] == 2


def test_an_endpoint_entry_never_matches_a_file_finding(tmp_path: Path) -> None:
    in_file = finding("LAT001", file="app.py")
    gate = apply(tmp_path, '[[ignore]]\nrule = "LAT001"\nendpoint = "* /**"\nreason = "r"\n', in_file)
    assert in_file.suppressed is False and [u["entry"] for u in gate["unused"]] == [1]


def test_fingerprint_only(tmp_path: Path) -> None:
    target, twin = finding(file="a.py"), finding(file="b.py")
    assert target.fingerprint != twin.fingerprint
    apply(tmp_path, f'[[ignore]]\nfingerprint = "{target.fingerprint}"\nreason = "reviewed"\n', target, twin)
    assert (target.suppressed, twin.suppressed) == (True, False)


def test_an_expired_entry_does_not_suppress_and_says_what_came_back(tmp_path: Path) -> None:
    first, second = finding(file="a.py"), finding(file="b.py")
    gate = apply(tmp_path, '[[ignore]]\nrule = "SEC101"\nreason = "until the fix ships"\n'
                           'expires = "2025-05-31"\nowner = "ana"\n', first, second)
    assert (first.suppressed, second.suppressed) == (False, False)
    assert gate["applied"] == 0
    assert gate["expired"] == [{"entry": 1, "rule": "SEC101", "reason": "until the fix ships",
                                "expires": "2025-05-31", "owner": "ana", "matches": 2}]
    assert gate["unused"] == []  # an expired entry is listed once, as expired


def test_an_entry_still_suppresses_on_its_expiry_day(tmp_path: Path) -> None:
    hit = finding()
    gate = apply(tmp_path, f'[[ignore]]\nrule = "SEC101"\nreason = "r"\nexpires = {TODAY.isoformat()}\n', hit)
    assert hit.suppressed is True and gate["expired"] == []


def test_unused_entries_are_reported(tmp_path: Path) -> None:
    gate = apply(tmp_path, '[[ignore]]\nrule = "SEC101"\nreason = "used"\n'
                           '[[ignore]]\nrule = "DEP001"\npath = "requirements.txt"\nreason = "gone"\n', finding())
    assert gate["applied"] == 1
    assert gate["unused"] == [{"entry": 2, "rule": "DEP001", "path": "requirements.txt", "reason": "gone",
                               "expires": None}]


def test_a_finding_its_check_suppressed_is_left_alone_and_is_no_match(tmp_path: Path) -> None:
    nosec = finding(suppressed=True)
    gate = apply(tmp_path, '[[ignore]]\nrule = "SEC101"\nreason = "r"\n', nosec)
    assert nosec.suppressed is True and nosec.suppression is None
    assert gate["applied"] == 0 and [u["entry"] for u in gate["unused"]] == [1]


def test_applying_twice_gives_the_same_result(tmp_path: Path) -> None:
    hit = finding()
    path = ignore_file(tmp_path, '[[ignore]]\nrule = "SEC101"\nreason = "r"\n')
    entries = load_ignore_file(path, required=True)
    first = apply_suppressions([check(hit)], entries, today=TODAY, file=str(path))
    second = apply_suppressions([check(hit)], entries, today=TODAY, file=str(path))
    assert first == second and second["applied"] == 1 and hit.suppressed is True


def test_a_missing_file_is_empty_unless_required(tmp_path: Path) -> None:
    assert load_ignore_file(tmp_path / "none.toml", required=False) == []
    with pytest.raises(IgnoreFileError, match="does not exist"):
        load_ignore_file(tmp_path / "none.toml", required=True)
    assert default_ignore_file(tmp_path) == tmp_path / ".audit-ignore.toml"
    assert default_ignore_file(None) == Path(".audit-ignore.toml")


BAD_ENTRIES = [
    ('[[ignore]]\nrule = "SEC101"\nreson = "typo"\n', "entry 1: unknown key 'reson'"),
    ('[[ignore]]\nrule = "SEC101"\n', "entry 1: reason is required"),
    ('[[ignore]]\nrule = "SEC101"\nreason = "  "\n', "entry 1: reason must not be empty"),
    ('[[ignore]]\npath = "a.py"\nreason = "r"\n', "entry 1: rule or fingerprint is required"),
    ('[[ignore]]\nrule = 101\nreason = "r"\n', "entry 1: rule must be a string, got an integer"),
    ('[[ignore]]\nrule = "secret"\nreason = "r"\n', "entry 1: rule 'SECRET' is not a rule id"),
    ('[[ignore]]\nrule = "SEC101"\nreason = "r"\n[[ignore]]\nrule = "SEC101"\nreason = ["r"]\n',
     "entry 2: reason must be a string, got an array"),
    ('[[ignore]]\nrule = "SEC101"\nreason = "r"\nexpires = "next week"\n', "entry 1: expires 'next week' is not"),
    ('[[ignore]]\nrule = "SEC101"\nreason = "r"\nexpires = "2025-02-30"\n', "entry 1: expires '2025-02-30' is not"),
    ('[[ignore]]\nrule = "SEC101"\nreason = "r"\nexpires = 2025-06-01T10:00:00\n',
     "entry 1: expires must be a date"),
    ('[[ignore]]\nrule = "SEC101"\nreason = "r"\nexpires = 20250601\n', "entry 1: expires must be a date"),
    ('[[ignore]]\nrule = "SEC101"\nreason = "r"\npath = "a"\nendpoint = "GET /a"\n', "entry 1: path and endpoint"),
    ('[[ignore]]\nrule = "SEC101"\nreason = "r"\nendpoint = "/books"\n', "entry 1: endpoint '/books' is not"),
    ('[[ignore]]\nrule = "SEC101"\nreason = "r"\nowner = 7\n', "entry 1: owner must be a string"),
    ('ignore = [1]\n', "entry 1: must be a table, got an integer"),
    ('[ignore]\nrule = "SEC101"\n', "'ignore' must be an array of tables"),
    ('[[ingore]]\nrule = "SEC101"\n', "unknown top-level key 'ingore'"),
    ('[[ignore]\nrule = ', "not valid TOML"),
    ("a = " + "[" * 5000, "not valid TOML"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_ENTRIES)
def test_bad_input_is_one_line_naming_file_entry_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = ignore_file(tmp_path, text)
    with pytest.raises(IgnoreFileError) as caught:
        load_ignore_file(path, required=False)
    message = str(caught.value)
    assert expected in message
    assert message.startswith(f"ignore file {path}") and "\n" not in message


def test_not_utf8_too_large_and_too_many_entries(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_bytes(b'[[ignore]]\nreason = "\xff"\n')
    with pytest.raises(IgnoreFileError, match="not UTF-8"):
        load_ignore_file(path, required=True)
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(IgnoreFileError, match="larger than"):
        load_ignore_file(path, required=True)
    path.write_text('[[ignore]]\nrule = "SEC101"\nreason = "r"\n' * (MAX_ENTRIES + 1), encoding="utf-8")
    with pytest.raises(IgnoreFileError, match=f"{MAX_ENTRIES + 1} entries"):
        load_ignore_file(path, required=True)


def test_a_directory_or_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    with pytest.raises(IgnoreFileError, match="is a directory"):
        load_ignore_file(tmp_path, required=True)
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(IgnoreFileError, match="not a regular file"):
        load_ignore_file(fifo, required=False)


def test_a_path_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    below_a_file = ignore_file(tmp_path, "") / "x.toml"
    with pytest.raises(IgnoreFileError) as caught:
        load_ignore_file(below_a_file, required=True)
    assert str(caught.value) == f"ignore file {below_a_file} cannot be read: Not a directory"


def test_an_unreadable_file_is_one_line() -> None:
    """As an unprivileged user (root reads any file whatever its mode): tests/unprivileged.py."""
    with shared_directory() as directory:
        path = ignore_file(directory, '[[ignore]]\nrule = "SEC101"\nreason = "r"\n')
        path.chmod(0o644)
        # the same user reads it while its mode allows: what follows is the mode's doing, nothing else's
        assert run_unprivileged(lambda: [e.rule for e in load_ignore_file(path, required=False)]) == ["SEC101"]
        path.chmod(0)
        with pytest.raises(IgnoreFileError) as caught:
            run_unprivileged(lambda: load_ignore_file(path, required=False))
    assert str(caught.value) == f"ignore file {path} cannot be read: Permission denied"


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("**/conftest.py", "conftest.py", True), ("**/conftest.py", "a/b/conftest.py", True),
    ("*.py", "a/b.py", False), ("a/**/b.py", "a/b.py", True), ("a/**/b.py", "ab.py", False),
    ("a?c", "a/c", False), ("GET /books/*", "GET /books/{id}/reviews", False),
    ("*a*a*a*a*a*a*a*a*a*a*b", "a" * 4000, False),  # no backtracking blow-up: a set of states per character
])
def test_glob_semantics(pattern: str, text: str, expected: bool) -> None:
    assert glob_match(pattern, text) is expected
