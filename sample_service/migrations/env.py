"""Alembic environment: online migrations against sqlalchemy.url (set in code from DATABASE_URL).

Logging is deliberately not configured here (no fileConfig): the app's JSON logging stays in force.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import engine_from_config, pool

import sample_service.models  # noqa: F401  (registers the tables on Base.metadata)
from sample_service.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    section = config.get_section(config.config_ini_section, {})
    if os.environ.get("DATABASE_URL") and config.cmd_opts is not None:
        # Only for the alembic command line: the app always sets the URL itself.
        section["sqlalchemy.url"] = os.environ["DATABASE_URL"]
    connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        # render_as_batch: SQLite cannot ALTER most things; batch mode copies tables instead.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
