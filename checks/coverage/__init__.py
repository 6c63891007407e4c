"""coverage: test coverage and passing status of the audited repo (rule ids COV###).

Gather (gather.py: fresh coverage data in the repo, else the repo's tests run under coverage in its own
environment, in a bounded subprocess) then judge (judge.py: pure functions). Rules: rules.py, mirrored
in docs/checks/coverage.md."""

from checks.coverage.check import CoverageCheck
from checks.coverage.config import CoverageConfig

__all__ = ["CoverageCheck", "CoverageConfig"]
