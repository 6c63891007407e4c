"""migrations: database schema changes and migrations (rule ids MIG###).

Read (alembic_repo.py, django_repo.py: ast only), order (graph.py), judge (judge.py: pure functions),
and apply on a scratch database of the service's engine (else SQLite) in the repo's interpreter (scratch.py). Rules: rules.py, mirrored
in docs/checks/migrations.md."""

from checks.migrations.check import MigrationsCheck
from checks.migrations.config import MigrationsConfig

__all__ = ["MigrationsCheck", "MigrationsConfig"]
