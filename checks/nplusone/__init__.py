"""nplusone: N+1 SQL queries found from outside the service (rule ids NPQ###).

Gather (check.py: each GET operation requested alone, its SQL read from a source in sources/ — a log the
service writes, in a format of formats/, or PostgreSQL server-side capture) then judge (analysis.py,
judge.py, scaling.py: pure functions over the profiled requests; fingerprint.py groups statements).
Rules: rules.py, mirrored in docs/checks/nplusone.md."""

from checks.nplusone.check import NPlusOneCheck
from checks.nplusone.config import NPlusOneConfig

__all__ = ["NPlusOneCheck", "NPlusOneConfig"]
