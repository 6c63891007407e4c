"""[tool.auditor.migrations]: the migrations check's own config section (unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

import pydantic

from auditor.interface import CheckConfig
from auditor.sandbox import SandboxOptions


class MigrationsConfig(CheckConfig, SandboxOptions):
    # Run the repo's migrations on a scratch database (on the server of --db-url or scratch_db_url, else a
    # SQLite file in the audit's temp dir) to compare them with the models (drift) and to test the
    # downgrades. This runs the repo's migration code in a subprocess of the repo's own interpreter.
    scratch: bool = True
    # Downgrade to base and upgrade again after the first upgrade (reversibility test).
    roundtrip: bool = True
    # Seconds the scratch run (and makemigrations --check) may take.
    timeout: float = pydantic.Field(default=120, gt=0)
    # The database the migrations target, for dialect rules (CONCURRENTLY, what narrowing a column does)
    # and for telling SQLite's limits from the migrations' faults: auto = from --db-url, alembic.ini's URL,
    # the migrations' imports and the repo's requirements.
    dialect: Literal["auto", "postgresql", "mysql", "sqlite", "other"] = "auto"
