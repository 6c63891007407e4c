"""Precision and recall of the auditor's findings on labelled fixtures (issue 16): repositories and
services written the way real ones are, each false-positive class of the real-service triage next to the
true positives it sits beside. Fixtures are the tests' own (imported); cases.py adds only what a case needs.

Covered, one case each (cases.py):
- security on a repo: fixture and test passwords (low), a docs placeholder (info), .env.example and a
  test env file (.env.testing) placeholders, a CI `if: env.HAS_SECRETS` condition, a VITE_API_URL, Alembic
  revision ids, lock-file and content hashes (none a finding), a dev compose password (low), an AWS key
  in test fixtures (medium); bandit: B311 in a seed script and a `create_random_data` management
  command, asserts in tests (not reported), next to a real secret, a committed .env, B602 shell=True
  (high) and B311 for a reset code (low) in production code;
- security + deployment on one repo: a committed .env is ONE finding (SEC012 or DPL020, the other in
  also_seen_by); an AWS key in code is one SEC013 (no SEC010/SEC014 beside it); CI on Gitea, and on
  Woodpecker in a second repo, is no DPL041 (the checklist's CI row printed as proof);
- deployment on a --serve'd server that dies on SIGTERM: DPL030 (high) and DPL033 (plain-text logs),
  and the report's service block agrees (graceful_shutdown false beside DPL030);
- migrations + security: Alembic with hex revision ids (no SEC014) and a NOT NULL column without a
  server default (MIG002); Django: AddField on a model the same migration creates, a many-to-many
  manager and a blank=True URLField (no MIG002) next to IntegerFields without a default (MIG002), a
  dropped column (MIG001) and a RunPython without reverse (MIG003);
- security on a service: credentials in answers, cache headers, banner;
- openapi on a service: one 500 is one OAS101 naming the OAS103 it also failed; `{}` as a schema is
  said to be empty, never "no content"/"no schema"; a 401 without a schema is OAS029; optional
  authentication is OAS040 (low), not OAS401; a secured operation answering 500 to a bad token is
  OAS101 "without valid credentials", not OAS401; one that takes any bearer token is OAS401;
- openapi on a document file: a node of the wrong type is OAS001 with its JSON pointer and line;
- nplusone: a Flask list of 15 authors lazily loading books is NPQ001 "ran 15 times" (medium: no page
  parameter to confirm growth), its selectinload twin nothing; a SQLAlchemy service on PostgreSQL with
  pool_pre_ping and two sessions per request, read from the server's log (--db-url): every ping and
  BEGIN/COMMIT/ROLLBACK captured (counted in a proof line) and none NPQ003, lazy lists NPQ001 "ran 20
  times" (high: confirmed by growth), a two-relation loop two NPQ001s (no NPQ002/NPQ004), a real
  duplicate NPQ003 (low), keyset batching and eager loading nothing. Skipped, with the reason, when
  PostgreSQL (AUDIT_TEST_PG_URL) cannot be reached.
Not covered here: method sentences (the migrations method for Django).

Each case runs the real CLI; every finding at or above ``--min-severity`` (default low) must match a
label: TRUE (expected, at its severity, merged with the findings of the same defect where it names them)
or FALSE (a known false positive — a regression if it appears). A finding matching no label is printed
as UNLABELLED and counted as false (a demanding reviewer's default); so is any finding with an empty
message or an evidence heading with nothing after it ("# Server error:"), whatever its label. Prints
precision per check and per severity, recall of the TRUE labels, and how many FALSE labels held; a case's
proof line is what the report shows beyond its findings, and a report that disagrees with itself is
listed. Measured figures only; the 13 cases take about 20 s.

    python benchmarks/precision/run.py [--min-severity low] [--case SUBSTRING] [--list]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from auditor.model import Severity
from benchmarks.precision import cases


@dataclass
class Tally:
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)


def audit(args: list[str], out: Path) -> dict:
    env_args = [sys.executable, "-m", "auditor", "run", *args, "--output-dir", str(out), "--format", "json"]
    result = subprocess.run(env_args, check=False, capture_output=True, text=True, timeout=600)
    if not (out / "report.json").is_file():
        raise SystemExit(f"no report: {result.stderr[-500:]}")
    return json.loads((out / "report.json").read_text())


EMPTY_HEADING = re.compile(r"^\s*#[^:]*:\s*$")   # an evidence line such as "# Server error:" and nothing after


def matches(finding: dict, label: cases.Label) -> bool:
    where = json.dumps(finding["location"])
    return (finding["rule_id"] in label.rule.split("|") and (label.where in where or label.where in finding["message"])
            and label.says in finding["message"])


def verdict(finding: dict, label: cases.Label | None) -> str:
    """TRUE, or why not: the class a FALSE label names, a true defect at the wrong severity, one defect
    that was not merged into one finding, or no label at all."""
    hollow = [line for line in finding["evidence"].splitlines() if EMPTY_HEADING.match(line)]
    if not finding["message"].strip() or hollow:   # every finding: no sentence left without its content
        return f"FALSE (hollow sentence: {hollow[0].strip() if hollow else 'empty message'!r})"
    if label is None:
        return "UNLABELLED"
    if not label.true:
        return "FALSE (known class)"
    if label.severity not in (None, finding["severity"]):
        return f"FALSE (right defect, severity {finding['severity']} where {label.severity} is right)"
    seen_by = {other["rule_id"] for other in finding.get("also_seen_by", [])}
    if label.also and not seen_by & set(label.also.split("|")):
        return f"FALSE (one defect, more findings: {label.also} not in also_seen_by)"
    return "TRUE"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-severity", default="low", choices=[s.value for s in Severity])
    parser.add_argument("--case", default="", help="run only the cases whose name contains this")
    parser.add_argument("--list", action="store_true", help="print every finding with its verdict")
    args = parser.parse_args()
    floor = Severity(args.min_severity).rank
    by_check, by_severity = Tally(), Tally()
    unlabelled: list[str] = []
    guards = [0, 0]   # FALSE labels: seen (a known false positive is back), held
    with tempfile.TemporaryDirectory() as tmp:
        for number, case in enumerate(cases.CASES, start=1):
            if args.case not in case.name:
                continue
            work = Path(tmp) / f"case{number}"   # no spaces: paths go into --serve commands
            work.mkdir()
            try:
                with case.start(work) as audit_args:
                    report = audit(audit_args, work / "out")
            except cases.Unavailable as why:
                unlabelled.append(f"  {case.name}: NOT RUN — {why}")
                continue
            for check in report["checks"]:
                if check["status"] in ("error", "skipped"):   # a check that did not judge proves nothing
                    unlabelled.append(f"  {case.name}: check {check['id']} {check['status']}: {check['summary']}")
            found = [(c["id"], f) for c in report["checks"] for f in c["findings"]
                     if not f["suppressed"] and Severity(f["severity"]).rank >= floor]
            if args.list:
                print(f"{case.name}: {len(found)} findings, {len(case.labels)} labels")
            claimed = []   # each finding's label: the first that matches it
            for check, finding in found:
                label = next((lb for lb in case.labels if matches(finding, lb)), None)
                claimed.append(label)
                sev, what = finding["severity"], verdict(finding, label)
                line = (f"  {case.name}: {what} {finding['rule_id']} {sev} {json.dumps(finding['location'])}: "
                        f"{finding['message'][:120]}")
                if what == "TRUE":
                    by_check.tp[check] += 1
                    by_severity.tp[sev] += 1
                else:
                    by_check.fp[check] += 1
                    by_severity.fp[sev] += 1
                    unlabelled.append(line)
                if args.list:
                    print(line)
            for label in case.labels:
                below = label.severity is not None and Severity(label.severity).rank < floor
                if label.true and label not in claimed and not below:
                    by_check.fn[label.check] += 1
                    unlabelled.append(f"  {case.name}: MISSED {label.rule} {label.where} {label.says}".rstrip())
                elif not label.true:
                    guards[0 if label in claimed else 1] += 1
            if case.proof is not None:
                consistent, sentence = case.proof(report)
                print(f"{case.name}: {sentence}")
                if not consistent:
                    unlabelled.append(f"  {case.name}: REPORT DISAGREES WITH ITSELF: {sentence}")
    print(f"{'check':<14} {'true':>5} {'false':>6} {'missed':>7} {'precision':>10} {'recall':>8}")
    for check in sorted(set(by_check.tp) | set(by_check.fp) | set(by_check.fn)):
        tp, fp, fn = by_check.tp[check], by_check.fp[check], by_check.fn[check]
        print(f"{check:<14} {tp:>5} {fp:>6} {fn:>7} {_pct(tp, tp + fp):>10} {_pct(tp, tp + fn):>8}")
    tp, fp, fn = sum(by_check.tp.values()), sum(by_check.fp.values()), sum(by_check.fn.values())
    print(f"{'all':<14} {tp:>5} {fp:>6} {fn:>7} {_pct(tp, tp + fp):>10} {_pct(tp, tp + fn):>8}")
    print()
    print(f"{'severity':<14} {'true':>5} {'false':>6} {'precision':>10}")
    for sev in [s.value for s in Severity]:
        tp, fp = by_severity.tp[sev], by_severity.fp[sev]
        if tp or fp:
            print(f"{sev:<14} {tp:>5} {fp:>6} {_pct(tp, tp + fp):>10}")
    high_tp = by_severity.tp["high"] + by_severity.tp["critical"]
    high_fp = by_severity.fp["high"] + by_severity.fp["critical"]
    print(f"{'high+critical':<14} {high_tp:>5} {high_fp:>6} {_pct(high_tp, high_tp + high_fp):>10}")
    print(f"\nknown false-positive classes (FALSE labels): {guards[1]} held, {guards[0]} seen again")
    if unlabelled:
        print("\nnot true or missed:")
        print("\n".join(unlabelled))


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


if __name__ == "__main__":
    main()
