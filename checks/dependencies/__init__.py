"""dependencies: vulnerable dependencies — BEING BUILT (its issue); registered so the entry point resolves."""

from checks.dependencies.check import DependenciesCheck

__all__ = ["DependenciesCheck"]
