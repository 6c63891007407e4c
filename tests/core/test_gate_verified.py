"""A check that ran but verified nothing (metrics.verified = false: migrations that could not be applied
anywhere) counts as skipped for the verdict: a run of it alone is never READY, yet it never hides another
check's result."""

from auditor.gate import verdict
from auditor.model import Status, Verdict
from tests.core.gating_helpers import check


def test_a_run_that_verified_nothing_is_never_a_pass():
    unverified = check("migrations", status=Status.WARN, verified=False)
    assert verdict([unverified]) is Verdict.ERROR
    assert verdict([unverified, check("coverage", status=Status.SKIPPED)]) is Verdict.ERROR
    # Another check that judged something carries the verdict; a failure stays a failure.
    assert verdict([unverified, check("dependencies", status=Status.PASS)]) is Verdict.PASS
    assert verdict([check("migrations", status=Status.FAIL, verified=False)]) is Verdict.FAIL
    assert verdict([check("migrations", status=Status.WARN, verified=True)]) is Verdict.PASS
