"""What the migrations check knows about a repo's migrations, whatever the framework: scripts with their
ids, parents, messages and the operations of their upgrade and downgrade, read from source with ``ast``
(the repo's code is never imported into the auditor)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Op:
    """One schema operation as written: op.add_column(...), migrations.RemoveField(...), op.execute(...)."""

    name: str                          # add_column, drop_table, RemoveField, execute, ...
    line: int
    table: str | None = None
    column: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)   # literal keyword values (others as source text)
    source: str = ""                   # the call as written, shortened
    sql: str | None = None             # op.execute / RunSQL text when literal
    column_kwargs: dict[str, Any] = field(default_factory=dict)  # of the Column()/Field() being added
    type_new: str | None = None        # alter_column type_ (source text)
    type_old: str | None = None        # alter_column existing_type (source text)

    index: str | None = None           # create_index / drop_index: the index name

    def describe(self) -> str:
        target = ".".join(p for p in (self.table, self.column) if p)
        if self.index:
            target = f"{self.index} on {target}" if target else self.index
        return f"{self.name} {target}".strip()


@dataclass
class Migration:
    framework: str                     # "alembic" | "django"
    id: str                            # Alembic revision id; Django "app.0002_name"
    parents: list[str]                 # down_revision(s) / dependencies (same app and others)
    file: str                          # repo-relative
    message: str = ""
    create_date: str = ""
    upgrade: list[Op] = field(default_factory=list)
    downgrade: list[Op] | None = None  # None: no downgrade function at all (Alembic)
    downgrade_line: int | None = None
    upgrade_line: int = 1
    irreversible_reason: str | None = None   # why it cannot be reverted, when it cannot
    labels: list[str] = field(default_factory=list)
    app: str | None = None             # Django app label


@dataclass
class History:
    framework: str
    location: str                      # repo-relative dir of the scripts (or of alembic.ini)
    migrations: list[Migration] = field(default_factory=list)
    problems: list[tuple[str, int, str]] = field(default_factory=list)   # (file, line, message): unparsable
    ini: str | None = None             # alembic.ini, repo-relative
    script_location: str | None = None  # absolute, for the scratch run
    url_hint: str = ""                 # sqlalchemy.url of the ini (dialect hint only; never shown with a password)
    flask: bool = False                # Flask-Migrate: env.py takes its engine from current_app
