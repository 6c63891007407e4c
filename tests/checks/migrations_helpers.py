"""Fixture repos for the migrations check's tests, generated into tmp_path: a small SQLAlchemy app with
Alembic migrations whose revisions each test picks."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from auditor.gate import check_status
from auditor.model import Outcome
from checks.migrations import MigrationsCheck, MigrationsConfig
from tests.conftest import check_context

ENV_PY = '''\
from alembic import context
from sqlalchemy import engine_from_config, pool

import app.models  # noqa: F401
from app.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online():
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                     poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
'''

MODELS_HEAD = '''\
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(100), nullable=False)
'''
NICKNAME = '    nickname = sa.Column(sa.String(50), nullable=True)\n'

REV_0001 = ("0001", None, "Create users", '''\
    op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("email", sa.String(100), nullable=False))
''', '''\
    op.drop_table("users")
''')
REV_0002_NICKNAME = ("0002", "0001", "Add nickname", '''\
    op.add_column("users", sa.Column("nickname", sa.String(50), nullable=True))
''', '''\
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("nickname")
''')


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def revision(rev: str, down: str | tuple[str, ...] | None, message: str, upgrade: str, downgrade: str | None) -> str:
    text = (f'"""{message}\n\nRevision ID: {rev}\nRevises: {down or ""}\nCreate Date: 2024-01-0{rev[-1]} 00:00:00\n"""\n\n'
            "import sqlalchemy as sa\nfrom alembic import op\n\n"
            f"revision = {rev!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n{upgrade}")
    if downgrade is not None:
        text += f"\n\ndef downgrade():\n{downgrade}"
    return text


def make_alembic_repo(root: Path, revisions: list[tuple[Any, ...]], *, models: str = MODELS_HEAD + NICKNAME,
                      url: str = "sqlite:///./app.db", env_py: str = ENV_PY) -> Path:
    write(root / "alembic.ini", f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n")
    write(root / "app" / "__init__.py", "")
    write(root / "app" / "models.py", models)
    write(root / "migrations" / "env.py", env_py)
    (root / "migrations" / "versions").mkdir(parents=True, exist_ok=True)
    for rev in revisions:
        add_revision(root, *rev)
    return root


def add_revision(root: Path, rev: str, down: Any, message: str, upgrade: str, downgrade: str | None,
                 name: str | None = None) -> Path:
    path = root / "migrations" / "versions" / f"{name or rev}.py"
    path.write_text(revision(rev, down, message, upgrade, downgrade), encoding="utf-8")
    return path


def run_check(repo: Path, tmp: Path, settings: dict[str, Any] | None = None, **config: Any) -> tuple[Outcome, str]:
    work = tmp / "check-tmp"
    work.mkdir(parents=True, exist_ok=True)
    ctx = check_context(None, MigrationsConfig(**config), work, repo=repo, seconds=120, settings=settings)
    with ctx.http:
        outcome = MigrationsCheck().run(ctx)
    return outcome, str(check_status(outcome.findings, "high", outcome.status))


def rule_ids(outcome: Outcome) -> set[str]:
    return {f.rule_id for f in outcome.findings}
