"""nplusone: n+1 sql queries — BEING BUILT (its issue); registered so the entry point resolves."""

from checks.nplusone.check import NPlusOneCheck

__all__ = ["NPlusOneCheck"]
