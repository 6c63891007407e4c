"""coverage: test coverage and passing status — BEING BUILT (its issue); registered so the entry point resolves."""

from checks.coverage.check import CoverageCheck

__all__ = ["CoverageCheck"]
