"""OSV records matched locally with packaging: ranges, version lists, names, aliases, bad records; CVSS."""

from __future__ import annotations

import json
import zipfile

import pytest
from packaging.version import Version

from auditor.model import Severity

from checks.dependencies import osv
from checks.dependencies.severity import cvss_base_score, from_score, rate
from tests.checks.dependencies_helpers import OSV_DIR


def _record(events=None, versions=None, name="pkg", **extra):
    affected = {"package": {"ecosystem": "PyPI", "name": name}}
    if events is not None:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions is not None:
        affected["versions"] = versions
    return osv.parse_record({"id": "TEST-1", "affected": [affected], **extra})


def _hit(record, version):
    return osv.affects(record.affected[0], Version(version))


@pytest.mark.parametrize("version,expected", [
    ("0.1", (True, ["1.2.5", "2.0.3"])), ("1.2.4", (True, ["1.2.5", "2.0.3"])), ("1.2.5", (False, [])),
    ("1.9", (False, [])), ("2.0", (True, ["2.0.3"])), ("2.0.3rc1", (True, ["2.0.3"])), ("2.0.3", (False, [])),
    ("3.0", (False, [])),
])
def test_ecosystem_range_with_two_release_lines(version, expected):
    record = _record([{"introduced": "0"}, {"fixed": "1.2.5"}, {"introduced": "2.0"}, {"fixed": "2.0.3"}])
    hit, fixed = _hit(record, version)
    assert (hit, [str(v) for v in fixed]) == expected


def test_events_out_of_order_are_sorted():
    record = _record([{"fixed": "2.0.3"}, {"introduced": "2.0"}, {"fixed": "1.2.5"}, {"introduced": "0"}])
    assert _hit(record, "2.0.1")[0] and not _hit(record, "1.5")[0]


@pytest.mark.parametrize("version,affected", [("0.9", False), ("1.0", True), ("2.0.0", True), ("2.0", True),
                                              ("2.0.1", False)])
def test_last_affected_is_inclusive(version, affected):
    record = _record([{"introduced": "1.0"}, {"last_affected": "2.0.0"}])
    assert _hit(record, version)[0] is affected


def test_explicit_versions_compare_as_versions():
    record = _record(versions=["1.0", "1.1.0", "garbage!"])
    assert _hit(record, "1.0.0")[0] and _hit(record, "1.1")[0] and not _hit(record, "1.2")[0]


def test_range_without_introduced_is_read_as_since_the_beginning():
    assert _hit(_record([{"fixed": "1.0"}]), "0.5")[0]


def test_git_ranges_are_ignored_and_other_ecosystems_dropped():
    record = osv.parse_record({"id": "X", "affected": [
        {"package": {"ecosystem": "Maven", "name": "org.x:pkg"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]},
        {"package": {"ecosystem": "npm", "name": "Left-Pad"},
         "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.0"}]}]},
        {"package": {"ecosystem": "PyPI", "name": "Pkg_Name"},
         "ranges": [{"type": "GIT", "repo": "x", "events": [{"introduced": "abc"}]}]}]})
    # PyPI, npm and Go are matched (npm names compared in lower case); other ecosystems are dropped.
    assert [(a.ecosystem, a.key) for a in record.affected] == [("npm", "left-pad"), ("PyPI", "pkg-name")]
    assert not osv.affects(record.affected[1], Version("1.0"))[0]  # a GIT range names commits
    npm = record.affected[0]
    assert osv.affects(npm, osv.parse_version("npm", "1.2.9"))[0]
    assert not osv.affects(npm, osv.parse_version("npm", "1.3.0"))[0]


def test_withdrawn_is_none():
    assert osv.parse_record({"id": "W", "withdrawn": "2099-01-01T00:00:00Z", "affected": []}) is None


@pytest.mark.parametrize("data,message", [
    ([], "not an OSV object"), ({"affected": []}, "no id"), ({"id": "A"}, "no affected list"),
    ({"id": "A", "affected": [{"package": {}}]}, "without package.name"),
    ({"id": "A", "affected": [{"package": {"ecosystem": "PyPI", "name": "p"},
                               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "not/a/version"}]}]}]},
     "not a PEP 440 version"),
    ({"id": "A", "affected": [{"package": {"ecosystem": "PyPI", "name": "p"},
                               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1"}]}]}]},
     "exactly one"),
    ({"id": "A", "affected": [{"package": {"ecosystem": "PyPI", "name": "p"},
                               "ranges": [{"type": "ECOSYSTEM", "events": [{"broken": "1"}]}]}]},
     "unknown range event"),
])
def test_malformed_records_raise_one_line(data, message):
    with pytest.raises(osv.MalformedRecord, match=message):
        osv.parse_record(data)


def test_fixture_database_loads_with_its_problems_counted():
    db = osv.load(OSV_DIR)
    # The npm record (NPM-2099-1) is read too since npm lock files are audited.
    assert (db.records, db.withdrawn, db.other_ecosystems, len(db.malformed)) == (7, 1, 0, 2)
    assert {name for eco, name in db.index if eco == "PyPI"} == {"fixture-web", "fixture-parser", "fixture-old",
                                                                 "fixture-last", "fixture-lock"}
    assert ("npm", "fixture-clean") in db.index  # the same name on npm is another package
    (vuln,) = osv.match(db, "fixture-web", "1.2.0")
    assert vuln.id == "PYSEC-2099-1" and vuln.aliases == ("GHSA-w3b1-aaaa-bbbb", "CVE-2099-0001")
    assert vuln.fixed == ("1.2.5", "2.0.3") and vuln.severity is Severity.CRITICAL and vuln.score == 9.8
    assert osv.match(db, "fixture-old", "3.1.0") == []
    assert [v.id for v in osv.match(db, "fixture-old", "2.9")] == ["PYSEC-2099-2"]


def test_zip_export_hidden_dirs_and_non_utf8(tmp_path):
    db_dir = tmp_path / "db"
    (db_dir / ".git").mkdir(parents=True)
    (db_dir / ".git" / "ignored.json").write_text("{not json")
    with zipfile.ZipFile(db_dir / "all.zip", "w") as archive:
        archive.writestr("PYSEC-2099-9.json", json.dumps({"id": "PYSEC-2099-9", "affected": [
            {"package": {"ecosystem": "PyPI", "name": "zipped"}, "versions": ["1.0"]}]}))
        archive.writestr("bad.json", '{"id": "B", "affected": [{"package": {"ecosystem": "PyPI"')
    (db_dir / "latin1.yaml").write_bytes(b"id: caf\xe9\n")
    (db_dir / "npm.json").write_text("{")  # broken, but no PyPI record: not this audit's business
    (db_dir / "fake.zip").write_bytes(b"not a zip")
    db = osv.load(db_dir)
    assert [v.id for v in osv.match(db, "zipped", "1.0")] == ["PYSEC-2099-9"]
    problems = dict(db.malformed)
    assert problems["all.zip!bad.json"].startswith("invalid JSON")
    assert problems["latin1.yaml"] == "not UTF-8" and "zip" in problems["fake.zip"]
    assert not any(".git" in name for name in problems) and "npm.json" not in problems
    assert db.other_ecosystems == 1


def test_oversized_record_and_symlink_leaving_the_database(tmp_path):
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    (db_dir / "huge.json").write_text(" " * 2000)
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    (db_dir / "link.json").symlink_to(secret)
    db = osv.load(db_dir, max_bytes=1000)
    problems = dict(db.malformed)
    assert "over the" in problems["huge.json"] and "outside the database" in problems["link.json"]


def test_keys_prefilter_parses_only_records_naming_the_audited_packages():
    db = osv.load(OSV_DIR, keys={"fixture-web", "fixture-parser"})
    assert {name for _, name in db.index} == {"fixture-web", "fixture-parser"}
    assert (db.records, db.unrelated) == (3, 7)  # -old, -last, -lock, -clean, npm and the broken ones: not parsed
    assert [name for name, _ in db.malformed] == []  # the broken records name fixture-clean only
    assert db.knows_pypi
    assert osv.match(db, "fixture-web", "1.2.0")[0].fixed == ("1.2.5", "2.0.3")
    # Names are compared normalised: Fixture.Parser in the record, fixture-parser asked.
    assert [v.id for v in osv.match(db, "fixture-parser", "0.9.0")] == ["GHSA-p4r5-cccc-dddd"]


def test_load_rejects_a_file_path(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(OSError, match="not a directory"):
        osv.load(tmp_path / "f")


@pytest.mark.parametrize("vector,score", [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8), ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
    ("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9), ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:N", 0.0), ("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.8),
    ("CVSS:3.1/AV:N/AC:L", None), ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3),
    ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5), ("CVSS:4.0/AV:N", None), ("not a vector", None),
])
def test_cvss_base_scores_match_the_specification_calculator(vector, score):
    assert cvss_base_score(vector) == score


def test_rating_prefers_cvss_then_the_database_word():
    assert from_score(9.0) is Severity.CRITICAL and from_score(6.9) is Severity.MEDIUM
    assert from_score(0.1) is Severity.LOW and from_score(0) is Severity.INFO
    assert rate({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                 "database_specific": {"severity": "LOW"}}, [])[0] is Severity.CRITICAL
    assert rate({"database_specific": {"severity": "MODERATE"}}, []) == (Severity.MEDIUM, None,
                                                                        "rated MODERATE by the database")
    assert rate({"severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N"}]}, []) == (None, None, "")
    assert rate({}, [{"severity": [{"type": "X", "score": "7.5"}]}])[0] is Severity.HIGH
