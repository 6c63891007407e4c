"""The migrations check's rule catalogue: every rule id, its title, default severity and remediation.
docs/checks/migrations.md mirrors it (a test keeps them in step). Rule ids are stable: never renumber."""

from __future__ import annotations

from auditor.catalogue import Catalogue, Rule
from auditor.model import Severity

DOCS = "docs/checks/migrations.md"


_RULES = (
    Rule("MIG001", "Destructive schema change", Severity.HIGH,
         "Dropping a table or column, or narrowing a column's type, loses data and breaks the version of the "
         "code still running during a rolling deploy. Expand and contract: stop using the column in one "
         "release, back the data up, drop it in a later release; widen types instead of narrowing them."),
    Rule("MIG002", "NOT NULL column without a default", Severity.HIGH,
         "Adding a NOT NULL column without a server default fails on a table that has rows (and locks it while "
         "it tries). Add it nullable, backfill, then set NOT NULL; or give it a server_default."),
    Rule("MIG003", "Irreversible migration", Severity.MEDIUM,
         "Write a downgrade() that undoes upgrade() (Django: give RunPython a reverse_code and RunSQL a "
         "reverse_sql, migrations.RunPython.noop if nothing needs undoing), so a bad release can be rolled back."),
    Rule("MIG004", "Multiple migration heads", Severity.HIGH,
         "Two migrations share a parent, so `alembic upgrade head` refuses to run (Django: \"Conflicting "
         "migrations detected\"). Merge them: `alembic merge heads -m merge` or `manage.py makemigrations --merge`."),
    Rule("MIG005", "Models differ from the migrations", Severity.HIGH,
         "The models describe a schema the migrations do not create, so the deployed database will not match "
         "the code. Generate the missing migration (`alembic revision --autogenerate`, `manage.py "
         "makemigrations`), review it and commit it."),
    Rule("MIG006", "Index created without CONCURRENTLY on PostgreSQL", Severity.MEDIUM,
         "CREATE INDEX locks the table against writes until it is built. On an existing table use "
         "op.create_index(..., postgresql_concurrently=True) inside op.get_context().autocommit_block() "
         "(Django: AddIndexConcurrently in a non-atomic migration)."),
    Rule("MIG007", "Downgrade fails on a scratch database", Severity.MEDIUM,
         "Upgrading then downgrading the migrations on an empty scratch database failed: the rollback path is "
         "broken. Fix the downgrade() named in the message and test it (alembic downgrade base)."),
    Rule("MIG008", "Migrations could not be applied to a scratch database", Severity.LOW,
         "A migration failed (or hung) on an empty scratch database of the engine it was run on, so the chain "
         "cannot be applied as it stands and drift and downgrades were not verified. Fix the migration named "
         "in the finding and apply it to an empty database of the service's engine (alembic upgrade heads / "
         "manage.py migrate)."),
    Rule("MIG009", "Broken migration chain", Severity.HIGH,
         "A migration names a parent that does not exist, two migrations share an id, or the chain loops: the "
         "migration tool cannot order them. Fix down_revision / dependencies so every migration has one "
         "existing parent."),
    Rule("MIG010", "Unparsable migration file", Severity.MEDIUM,
         "The file in the migrations directory could not be read as a migration (syntax error, no revision "
         "id). Fix or remove it: the migration tool will fail on it too."),
)

CATALOGUE: Catalogue[Rule] = Catalogue(DOCS, _RULES)
RULES: dict[str, Rule] = CATALOGUE.rules
make_finding = CATALOGUE.finding
