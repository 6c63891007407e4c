"""Precision and recall of the auditor's findings on labelled fixtures (issue 16): repositories and
services written here the way real ones are, covering every false-positive class the real-service triage
found (fixture passwords, placeholders in docs and .env.example, CI conditions, revision ids, lock-file
hashes, dev compose passwords, seed scripts, a 500 seen by two schemathesis checks, a committed .env seen
by two checks, pool pings, a lazily loaded list) next to the true positives they sit beside.

Each case runs the real CLI; every finding at or above ``--min-severity`` (default low) must match a
label: TRUE (expected) or FALSE (a known false positive — a regression if it appears). A finding matching
no label is printed as UNLABELLED and counted as false (a demanding reviewer's default). Prints precision
per check and per severity, and recall of the TRUE labels. Measured figures only.

    python benchmarks/precision/run.py [--min-severity low]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from auditor.model import Severity  # noqa: E402
from benchmarks.precision import cases  # noqa: E402


@dataclass
class Tally:
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)


def audit(args: list[str], out: Path) -> dict:
    env_args = [sys.executable, "-m", "auditor", "run", *args, "--output-dir", str(out), "--format", "json"]
    result = subprocess.run(env_args, capture_output=True, text=True, timeout=600)
    if not (out / "report.json").is_file():
        raise SystemExit(f"no report: {result.stderr[-500:]}")
    return json.loads((out / "report.json").read_text())


def matches(finding: dict, label: cases.Label) -> bool:
    where = json.dumps(finding["location"])
    return finding["rule_id"] == label.rule and (label.where in where or label.where in finding["message"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-severity", default="low", choices=[s.value for s in Severity])
    args = parser.parse_args()
    floor = Severity(args.min_severity).rank
    by_check, by_severity = Tally(), Tally()
    unlabelled: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, case in enumerate(cases.CASES, start=1):
            work = Path(tmp) / f"case{number}"   # no spaces: paths go into --serve commands
            work.mkdir()
            with case.start(work) as audit_args:
                report = audit(audit_args, work / "out")
            found = [(c["id"], f) for c in report["checks"] for f in c["findings"]
                     if not f["suppressed"] and Severity(f["severity"]).rank >= floor]
            for check, finding in found:
                label = next((lb for lb in case.labels if matches(finding, lb)), None)
                sev = finding["severity"]
                if label is not None and label.true and label.severity not in (None, sev):
                    label = cases.Label(label.check, label.rule, label.where, true=False)  # right thing, wrong weight
                if label is not None and label.true:
                    by_check.tp[check] += 1
                    by_severity.tp[sev] += 1
                else:
                    by_check.fp[check] += 1
                    by_severity.fp[sev] += 1
                    what = "FALSE (known class)" if label is not None else "UNLABELLED"
                    unlabelled.append(f"  {case.name}: {what} {finding['rule_id']} {sev} "
                                      f"{json.dumps(finding['location'])}: {finding['message'][:120]}")
            for label in case.labels:
                if label.true and not any(matches(f, label) for _, f in found):
                    by_check.fn[label.check] += 1
                    unlabelled.append(f"  {case.name}: MISSED {label.rule} {label.where}")
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
    if unlabelled:
        print("\nnot true or missed:")
        print("\n".join(unlabelled))


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


if __name__ == "__main__":
    main()
