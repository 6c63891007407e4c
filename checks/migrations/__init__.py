"""migrations: database migrations — BEING BUILT (its issue); registered so the entry point resolves."""

from checks.migrations.check import MigrationsCheck

__all__ = ["MigrationsCheck"]
