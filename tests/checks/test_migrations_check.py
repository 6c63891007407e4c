"""The migrations check on generated Alembic and Django fixture repos and on the sample service."""

from __future__ import annotations

import json
import subprocess

import pytest

from auditor.interface import CheckSkipped
from auditor.model import Severity
from tests.checks.migrations_helpers import (ENV_PY, MODELS_HEAD, REV_0001, REV_0002_NICKNAME, add_revision,
                                             make_alembic_repo, rule_ids, run_check, write)
from tests.conftest import REPO_ROOT, run_audit_cli

pytestmark = pytest.mark.timeout(120)


def test_clean_repo_passes_with_history_in_order(tmp_path):
    repo = make_alembic_repo(tmp_path / "repo", [REV_0002_NICKNAME, REV_0001])
    outcome, status = run_check(repo, tmp_path)
    assert status == "pass", [f.message for f in outcome.findings]
    history = outcome.metrics["history"]
    assert [(row["order"], row["id"], row["message"]) for row in history] == [
        (1, "0001", "Create users"), (2, "0002", "Add nickname")]
    assert history[1]["parents"] == "0001" and history[1]["head"] and history[0]["operations"] == "create_table users"
    assert outcome.metrics["heads"] == ["0002"]
    assert outcome.metrics["scratch"][0]["result"] == "upgrade ok; models match; downgrade ok; upgrade again ok"
    # Every engine went to the scratch database: the ini's sqlite:///./app.db was never created.
    assert not (repo / "app.db").exists() and not (tmp_path / "app.db").exists()


def test_destructive_and_irreversible_migration(tmp_path):
    drop = ("0002", "0001", "Drop email", '''\
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("email")
    op.drop_table("legacy")
''', "    pass\n")
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, drop], models=MODELS_HEAD.replace(
        "    email = sa.Column(sa.String(100), nullable=False)\n", ""))
    outcome, status = run_check(repo, tmp_path, scratch=False)
    destructive = sorted(f.message for f in outcome.findings if f.rule_id == "MIG001")
    assert destructive == ["Migration 0002 drops column users.email.", "Migration 0002 drops table legacy."]
    irreversible = [f for f in outcome.findings if f.rule_id == "MIG003"]
    assert len(irreversible) == 1 and irreversible[0].location == {"file": "migrations/versions/0002.py", "line": 23}
    assert status == "fail"


def test_missing_or_raising_downgrade_is_irreversible(tmp_path):
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, ("0002", "0001", "No way back",
                                                            '    op.add_column("users", sa.Column("x", sa.Integer()))\n',
                                                            None)])
    add_revision(repo, "0003", "0002", "Raises", '    op.drop_index("ix_x")\n', '    raise NotImplementedError()\n')
    outcome, _ = run_check(repo, tmp_path, scratch=False)
    reasons = sorted(f.message for f in outcome.findings if f.rule_id == "MIG003")
    assert reasons == ["Migration 0002 cannot be rolled back: it has no downgrade() function.",
                       "Migration 0003 cannot be rolled back: downgrade() raises NotImplementedError()."]


def test_not_null_column_without_default(tmp_path):
    not_null = ("0002", "0001", "Add age", '''\
    op.add_column("users", sa.Column("age", sa.Integer(), nullable=False))
    op.add_column("users", sa.Column("score", sa.Integer(), nullable=False, server_default="0"))
    op.alter_column("users", "email", existing_type=sa.String(100), nullable=False)
''', '    op.drop_column("users", "age")\n')
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, not_null])
    outcome, status = run_check(repo, tmp_path, scratch=False)
    found = sorted((f.severity.value, f.message) for f in outcome.findings if f.rule_id == "MIG002")
    assert found == [("high", "Migration 0002 adds NOT NULL column users.age without a server default."),
                     ("medium", "Migration 0002 makes users.email NOT NULL without a default or a backfill (an "
                                "UPDATE of the table, in it or in a migration before it): it fails if any row holds "
                                "NULL.")]
    assert status == "fail"


def test_backfill_in_a_preceding_migration_satisfies_not_null(tmp_path):
    # Add nullable + backfill in one migration, SET NOT NULL in the next: the expand/contract pattern MIG002
    # asks for, not a finding. A backfill of another column does not count.
    add = ("0002", "0001", "Add nickname", '''\
    op.add_column("users", sa.Column("nickname", sa.String(50), nullable=True))
    op.execute("UPDATE users SET nickname = email WHERE nickname IS NULL")
''', '    op.drop_column("users", "nickname")\n')
    tighten = ("0003", "0002", "Nickname required", '''\
    op.alter_column("users", "nickname", existing_type=sa.String(50), nullable=False)
    op.alter_column("users", "email", existing_type=sa.String(100), nullable=False)
''', '    op.alter_column("users", "nickname", existing_type=sa.String(50), nullable=True)\n')
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, add, tighten])
    outcome, _ = run_check(repo, tmp_path, scratch=False)
    found = [f.message for f in outcome.findings if f.rule_id == "MIG002"]
    assert len(found) == 1 and found[0].startswith("Migration 0003 makes users.email NOT NULL"), found


def test_model_drift_found_on_scratch_database(tmp_path):
    # The models have a nickname column that no migration creates.
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001])
    outcome, status = run_check(repo, tmp_path)
    drift = [f for f in outcome.findings if f.rule_id == "MIG005"]
    assert len(drift) == 1 and "users.nickname" in drift[0].evidence and "add_column" in drift[0].evidence
    assert status == "fail"
    assert outcome.metrics["scratch"][0]["drift"] == [line for line in drift[0].evidence.splitlines()]


def test_two_heads(tmp_path):
    other = ("0003", "0001", "Add index elsewhere", '    op.create_index("ix_users_email", "users", ["email"])\n',
             '    op.drop_index("ix_users_email", table_name="users")\n')
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, REV_0002_NICKNAME, other],
                             models=MODELS_HEAD.replace("nullable=False)", "nullable=False, index=True)")
                             + "    nickname = sa.Column(sa.String(50), nullable=True)\n")
    outcome, status = run_check(repo, tmp_path)
    heads = [f for f in outcome.findings if f.rule_id == "MIG004"]
    assert len(heads) == 1 and "0002" in heads[0].message and "0003" in heads[0].message
    assert sorted(outcome.metrics["heads"]) == ["0002", "0003"]
    assert status == "fail"
    # `upgrade heads` still works on both branches: the models match.
    assert "models match" in outcome.metrics["scratch"][0]["result"]


def test_type_narrowing_is_destructive(tmp_path):
    narrow = ("0002", "0001", "Shorter email", '''\
    op.alter_column("users", "email", existing_type=sa.String(length=100), type_=sa.String(20))
    op.alter_column("users", "id", existing_type=sa.Integer(), type_=sa.BigInteger())
''', '    op.alter_column("users", "email", existing_type=sa.String(20), type_=sa.String(100))\n')
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, narrow])
    outcome, _ = run_check(repo, tmp_path, scratch=False)
    messages = [f.message for f in outcome.findings if f.rule_id == "MIG001"]
    assert messages == ["Migration 0002 narrows column users.email: String(100) to String(20) truncates or rejects "
                        "longer values, depending on the database."]
    # The words fit the database: PostgreSQL refuses to cut values (the migration fails), MySQL cuts them.
    outcome, _ = run_check(repo, tmp_path, scratch=False, dialect="postgresql")
    (message,) = [f.message for f in outcome.findings if f.rule_id == "MIG001"]
    assert "fails on rows holding longer values (PostgreSQL refuses to cut them" in message
    assert "truncat" not in message
    outcome, _ = run_check(repo, tmp_path, scratch=False, dialect="mysql")
    (message,) = [f.message for f in outcome.findings if f.rule_id == "MIG001"]
    assert "truncates longer values (or fails in strict SQL mode)" in message


def test_index_without_concurrently_only_on_postgresql(tmp_path):
    index = ("0002", "0001", "Index email", '''\
    op.create_index("ix_users_email", "users", ["email"])
    op.create_index("ix_users_email2", "users", ["email"], postgresql_concurrently=True)
''', '    op.drop_index("ix_users_email", table_name="users")\n')
    pg = make_alembic_repo(tmp_path / "pg", [REV_0001, index], url="postgresql://app@db.internal/app")
    outcome, _ = run_check(pg, tmp_path, scratch=False)
    found = [f for f in outcome.findings if f.rule_id == "MIG006"]
    assert len(found) == 1 and found[0].location["line"] == 18 and outcome.metrics["postgresql"] is True
    # (postgresql_concurrently=... in a migration is itself a PostgreSQL hint: the SQLite twin goes without.)
    plain = ("0002", "0001", "Index email", index[3].splitlines(keepends=True)[0], index[4])
    lite = make_alembic_repo(tmp_path / "lite", [REV_0001, plain])
    outcome, _ = run_check(lite, tmp_path, scratch=False)
    assert "MIG006" not in rule_ids(outcome) and outcome.metrics["postgresql"] is False


def test_downgrade_that_fails_on_scratch_database(tmp_path):
    broken = ("0002", "0001", "Bad downgrade", REV_0002_NICKNAME[3], '    op.drop_table("no_such_table")\n')
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, broken])
    outcome, status = run_check(repo, tmp_path)
    failed = [f for f in outcome.findings if f.rule_id == "MIG007"]
    assert len(failed) == 1 and "no_such_table" in failed[0].message
    assert status == "warn"


def test_broken_chain_and_unparsable_file(tmp_path):
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, ("0002", "nope", "Orphan", "    pass\n", "    pass\n")])
    write(repo / "migrations" / "versions" / "0003_bad.py", "def upgrade(:\n")
    outcome, status = run_check(repo, tmp_path)
    assert {"MIG009", "MIG010"} <= rule_ids(outcome) and status == "fail"
    assert outcome.metrics["scratch"][0]["result"].startswith("not run")


def test_env_py_with_its_own_url_still_uses_the_scratch_database(tmp_path):
    prod = tmp_path / "production.db"
    env_py = ENV_PY.replace('engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",\n'
                            '                                     poolclass=pool.NullPool)',
                            f'__import__("sqlalchemy").create_engine("sqlite:///{prod}", pool_size=5)')
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, REV_0002_NICKNAME], env_py=env_py)
    outcome, status = run_check(repo, tmp_path)
    assert status == "pass", [f.message for f in outcome.findings]
    assert not prod.exists()


def test_schema_changes_since_base_ref(tmp_path):
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001])
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    add_revision(repo, *REV_0002_NICKNAME)
    outcome, _ = run_check(repo, tmp_path, settings={"base_ref": "main"}, scratch=False)
    assert outcome.metrics["changes_since_base"] == [
        {"change": "added", "file": "migrations/versions/0002.py", "id": "0002", "message": "Add nickname",
         "operations": "add_column users.nickname"}]


def test_no_migrations_is_skipped(tmp_path):
    write(tmp_path / "repo" / "app.py", "print('hi')\n")
    with pytest.raises(CheckSkipped, match="no Alembic or Django migrations"):
        run_check(tmp_path / "repo", tmp_path)


DJANGO_0001 = '''\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(name="Order", fields=[("id", models.AutoField(primary_key=True)),
                                                     ("note", models.TextField(null=True))]),
    ]
'''
DJANGO_0002 = '''\
from django.db import migrations, models


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [
        migrations.RemoveField(model_name="order", name="note"),
        migrations.AddField(model_name="order", name="total", field=models.IntegerField()),
        migrations.AddField(model_name="order", name="paid", field=models.BooleanField(default=False)),
        migrations.RunPython(forwards),
    ]
'''
DJANGO_LEAF = '''\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_changes")]
    operations = []
'''


def test_django_migrations_are_read_and_judged(tmp_path):
    app = tmp_path / "repo" / "shop" / "migrations"
    write(app / "__init__.py", "")
    write(app / "0001_initial.py", DJANGO_0001)
    write(app / "0002_changes.py", DJANGO_0002)
    write(app / "0003_a.py", DJANGO_LEAF)
    write(app / "0003_b.py", DJANGO_LEAF)
    outcome, status = run_check(tmp_path / "repo", tmp_path)
    assert outcome.metrics["frameworks"] == ["django"]
    assert [row["id"] for row in outcome.metrics["history"]] == [
        "shop.0001_initial", "shop.0002_changes", "shop.0003_a", "shop.0003_b"]
    messages = {f.rule_id: f.message for f in outcome.findings}
    assert messages["MIG001"] == "Migration shop.0002_changes drops column order.note."
    assert messages["MIG002"] == "Migration shop.0002_changes adds NOT NULL field order.total without a default."
    assert "RunPython at line 14 has no reverse_code" in messages["MIG003"]
    assert "shop.0003_a, shop.0003_b" in messages["MIG004"]
    assert "MIG009" not in messages  # auth's migration lives outside the repo: not a broken chain
    assert status == "fail"


def test_sample_service_passes(tmp_path):
    outcome, status = run_check(REPO_ROOT / "sample_service", tmp_path)
    assert status == "pass", [f.message for f in outcome.findings]
    assert outcome.metrics["history"][0]["id"] == "0001_initial"
    assert outcome.metrics["scratch"][0]["result"] == "upgrade ok; models match; downgrade ok; upgrade again ok"


def test_history_appears_in_the_rendered_report(tmp_path):
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, REV_0002_NICKNAME])
    out = tmp_path / "out"
    proc = run_audit_cli("run", "--repo", str(repo), "--checks", "migrations", "--output-dir", str(out),
                         "--format", "html,json,md")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    check = next(c for c in report["checks"] if c["id"] == "migrations")
    assert [row["message"] for row in check["metrics"]["history"]] == ["Create users", "Add nickname"]
    html = (out / "report.html").read_text()
    assert "Add nickname" in html and "Create users" in html


def test_scratch_run_that_hangs_is_bounded(tmp_path):
    env_py = "import time\ntime.sleep(60)\n" + ENV_PY
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, REV_0002_NICKNAME], env_py=env_py)
    outcome, status = run_check(repo, tmp_path, timeout=2)
    finding = next(f for f in outcome.findings if f.rule_id == "MIG008")
    assert "did not finish within 2 s" in finding.message and status == "warn"


def test_async_env_py_never_reaches_its_own_database(tmp_path):
    """An asyncio env.py that hard-codes its own database: the scratch run swaps its async engine for one on
    the scratch file (aiosqlite, from the dev extra), migrates there in full, and never creates the
    env.py's database. The env.py records the URL its engine really got."""
    prod = tmp_path / "production.db"
    seen = tmp_path / "engine-urls.txt"
    env_py = f'''\
import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from app.models import Base

target_metadata = Base.metadata


def do_run(connection):
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def main():
    engine = create_async_engine("sqlite+aiosqlite:///{prod}")
    with open({str(seen)!r}, "a", encoding="utf-8") as out:
        out.write(engine.url.render_as_string(hide_password=False) + "\\n")
    async with engine.connect() as connection:
        await connection.run_sync(do_run)
    await engine.dispose()


asyncio.run(main())
'''
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, REV_0002_NICKNAME], env_py=env_py)
    outcome, status = run_check(repo, tmp_path)
    assert not prod.exists()
    urls = set(seen.read_text(encoding="utf-8").splitlines())
    assert len(urls) == 1, urls  # every run of env.py (upgrade, downgrade, upgrade again) got the same engine
    (url,) = urls
    scratch = url.removeprefix("sqlite+aiosqlite:///")
    assert url.startswith("sqlite+aiosqlite:///") and scratch.endswith("/scratch.sqlite")
    assert scratch.startswith(f"{tmp_path / 'check-tmp'}/")  # the check's own temp dir, nothing of the repo's
    assert outcome.metrics["scratch"][0]["result"] == "upgrade ok; models match; downgrade ok; upgrade again ok"
    assert rule_ids(outcome) == set() and status == "pass"


def test_base_ref_outside_git_is_one_line_error(tmp_path):
    from auditor.interface import CheckError

    repo = make_alembic_repo(tmp_path / "repo", [REV_0001])
    with pytest.raises(CheckError, match="not in a git repository"):
        run_check(repo, tmp_path, settings={"base_ref": "main"}, scratch=False)


def test_batch_blocks_of_one_migration_keep_their_own_tables(tmp_path):
    # Autogenerate writes one `with op.batch_alter_table(t) as batch_op` block per table: an index on the
    # table the migration creates is not an index on the next block's existing table (seen on microblog).
    messages = ("0002", "0001", "Messages", '''\
    op.create_table("message", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("sender_id", sa.Integer()))
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_sender_id"), ["sender_id"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_read", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_users_last_read", ["last_read"], unique=False)
''', '    op.drop_table("message")\n')
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, messages])
    outcome, _ = run_check(repo, tmp_path, scratch=False, dialect="postgresql")
    found = [f.message for f in outcome.findings if f.rule_id == "MIG006"]
    assert found == ["Migration 0002 creates an index on existing table users without CONCURRENTLY: writes to "
                     "the table block until it is built."]


def test_dialect_read_from_requirements_directory(tmp_path):
    # A root requirements.txt that only includes requirements/base.txt (seen on HackSoftware's styleguide).
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001], url="")
    write(repo / "requirements.txt", "-r requirements/base.txt\n")
    write(repo / "requirements" / "base.txt", "psycopg2==2.9.11\n")
    outcome, _ = run_check(repo, tmp_path, scratch=False)
    assert outcome.metrics["dialect"] == "postgresql"


DJANGO_SAFE_NOT_NULL = '''\
from django.db import migrations, models
import django.db.models.deletion
import modelcluster.contrib.taggit


class Migration(migrations.Migration):
    initial = True
    dependencies = [("shop", "0002_changes")]
    operations = [
        migrations.CreateModel(name="FormField", fields=[("id", models.AutoField(primary_key=True))]),
        # Django splits a new model's foreign keys into AddField after CreateModel: the table is empty.
        migrations.AddField(model_name="formfield", name="page",
                            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="shop.order")),
        # No column: a join table.
        migrations.AddField(model_name="order", name="tags",
                            field=modelcluster.contrib.taggit.ClusterTaggableManager(to="taggit.Tag", blank=True)),
        # blank=True on a string field: Django fills existing rows with "" (its effective default).
        migrations.AddField(model_name="order", name="mastodon_url", field=models.URLField(blank=True)),
        # ... but not on an integer: there is no empty string to fill it with.
        migrations.AddField(model_name="order", name="rank", field=models.IntegerField(blank=True)),
    ]
'''


def test_django_not_null_fields_that_cannot_fail_are_not_findings(tmp_path):
    """Seen on wagtail/bakerydemo: five MIG002 highs, none of which can fail on a populated table."""
    app = tmp_path / "repo" / "shop" / "migrations"
    write(app / "__init__.py", "")
    write(app / "0001_initial.py", DJANGO_0001)
    write(app / "0002_changes.py", DJANGO_0002)
    write(app / "0003_fields.py", DJANGO_SAFE_NOT_NULL)
    outcome, _status = run_check(tmp_path / "repo", tmp_path)
    not_null = sorted(f.message for f in outcome.findings if f.rule_id == "MIG002")
    assert not_null == ["Migration shop.0002_changes adds NOT NULL field order.total without a default.",
                        "Migration shop.0003_fields adds NOT NULL field order.rank without a default."]


def test_with_a_base_ref_merged_migrations_are_history_not_a_change_under_review(tmp_path):
    """A column dropped in a migration merged before the base is info (it ran wherever the base runs); the
    same kind of defect in a migration the change adds stays high."""
    drop_email = ("0002", "0001", "Drop email", '    op.drop_column("users", "email")\n',
                  '    op.add_column("users", sa.Column("email", sa.String(100), nullable=True))\n')
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001, drop_email])
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    add_revision(repo, "0003", "0002", "Drop users", '    op.drop_table("users")\n', "    pass\n")
    outcome, _ = run_check(repo, tmp_path, settings={"base_ref": "main"}, scratch=False)
    destructive = {f.location["file"]: f for f in outcome.findings if f.rule_id == "MIG001"}
    merged, added = destructive["migrations/versions/0002.py"], destructive["migrations/versions/0003.py"]
    assert merged.severity is Severity.INFO and "merged before main" in merged.message
    assert added.severity is Severity.HIGH and "merged before" not in added.message
    # Without a base every file is judged as it is.
    outcome, _ = run_check(repo, tmp_path, scratch=False)
    assert all(f.severity is Severity.HIGH for f in outcome.findings if f.rule_id == "MIG001")
