"""Issue 14's proofs for the migrations check, through the real `audit` command: migrations run on the
service's engine (a scratch PostgreSQL database with --db-url), SQLite only as the fallback where its
limits are "not verified", never a MIG finding against the repo; Flask-Migrate layouts inside the app's
context; Django migrate + makemigrations --check on the scratch database; one-line console summaries; and
a run that verified nothing is never READY."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.checks.migrations_helpers import REV_0001, make_alembic_repo, add_revision, run_check, write
from tests.conftest import run_audit_cli
from tests.services import PG_URL, require_postgres

pytestmark = pytest.mark.timeout(300)

# env.py that builds its URL from a settings class accepting only PostgreSQL, as pydantic settings do.
PG_ONLY_ENV_PY = '''\
import os

from alembic import context
from sqlalchemy import create_engine, pool

from app.models import Base


class Settings:
    def __init__(self):
        url = os.environ.get("DATABASE_URL", "postgresql://app@db/app")
        if not url.startswith(("postgresql", "postgres")):
            raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got scheme {url.split(':', 1)[0]!r}")
        self.database_url = url


target_metadata = Base.metadata
engine = create_engine(Settings().database_url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
'''
MODELS = '''\
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(200), nullable=False)
'''
# PostgreSQL-only SQL, multi-line, as real migrations write it: SQLite cannot run it.
PG_ONLY_REV = ("0002", "0001", "Widen email", '''\
    op.execute("""
        ALTER TABLE users
            ALTER COLUMN email TYPE varchar(200)
            USING email::varchar(200)
    """)
''', '''\
    op.execute("ALTER TABLE users ALTER COLUMN email TYPE varchar(100)")
''')


def pg_only_repo(root: Path) -> Path:
    repo = make_alembic_repo(root, [REV_0001, PG_ONLY_REV], models=MODELS, url="postgresql://app@db/app",
                             env_py=PG_ONLY_ENV_PY)
    write(repo / "requirements.txt", "sqlalchemy\nalembic\npsycopg[binary]\n")
    return repo


def audit(tmp: Path, repo: Path, *extra: str):
    out = tmp / "out"
    done = run_audit_cli("run", "--repo", str(repo), "--checks", "migrations", "--output-dir", str(out),
                         "--format", "json", *extra, timeout=240)
    report = json.loads((out / "report.json").read_text())
    return done, report, report["checks"][0]


def test_postgresql_only_migrations_are_not_verified_on_sqlite_and_never_ready(tmp_path):
    repo = pg_only_repo(tmp_path / "repo")
    done, report, check = audit(tmp_path, repo)
    assert check["status"] == "warn" and not check["findings"], check["findings"]
    row = check["metrics"]["scratch"][0]
    assert row["verified"] is False and row["result"].startswith("not verified on SQLite: give --db-url")
    assert "DATABASE_URL must be a PostgreSQL URL" in row["error"]
    assert check["metrics"]["verified"] is False
    # Verified nothing, alone in the run: never READY.
    assert report["verdict"] == "error" and done.returncode == 2
    assert "INCOMPLETE" in done.stdout and "READY (" not in done.stdout.replace("NOT READY", "")
    # One console line per check, whatever the error.
    line = next(li for li in done.stderr.splitlines() if " migrations " in li)
    assert "not verified on SQLite" in line and line in done.stderr.splitlines()


def test_postgresql_only_migrations_verified_on_a_scratch_postgresql_database(tmp_path):
    require_postgres()
    repo = pg_only_repo(tmp_path / "repo")
    done, report, check = audit(tmp_path, repo, "--db-url", PG_URL)
    assert done.returncode == 0, done.stdout + done.stderr
    assert check["status"] == "pass" and not check["findings"]
    row = check["metrics"]["scratch"][0]
    assert row["engine"] == "postgresql" and row["verified"] is True
    assert row["result"] == "upgrade ok; models match; downgrade ok; upgrade again ok"
    assert "scratch PostgreSQL database" in check["summary"] and report["verdict"] == "pass"
    assert check["metrics"]["sandbox"]["scratch_database"]["engine"] == "postgresql"


def test_a_migration_that_fails_on_its_own_engine_is_mig008_with_a_one_line_summary(tmp_path):
    require_postgres()
    repo = pg_only_repo(tmp_path / "repo")
    add_revision(repo, "0003", "0002", "Broken", '''\
    op.execute("""
        UPDATE users
           SET no_such_column = 1
    """)
''', "    pass\n")
    done, report, check = audit(tmp_path, repo, "--db-url", PG_URL)
    (finding,) = [f for f in check["findings"] if f["rule_id"] == "MIG008"]
    assert finding["location"]["file"] == "migrations/versions/0003.py"
    assert "no_such_column" in finding["message"] and "PostgreSQL" in finding["message"]
    assert "\n" not in check["summary"] and "\n" not in finding["message"]
    assert check["metrics"]["scratch"][0]["verified"] is False


FLASK_APP = '''\
import os

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
migrate = Migrate()


class Note(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    text = db.Column(db.String(200), nullable=False)


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///production.db")
    db.init_app(app)
    migrate.init_app(app, db)
    return app
'''


def test_flask_migrate_layout_runs_inside_the_app_context(tmp_path):
    flask_migrate = pytest.importorskip("flask_migrate")
    pytest.importorskip("flask_sqlalchemy")
    template = Path(flask_migrate.__file__).parent / "templates" / "flask"
    repo = tmp_path / "notes"
    write(repo / "app.py", FLASK_APP)
    (repo / "migrations" / "versions").mkdir(parents=True)
    shutil.copy(template / "env.py", repo / "migrations" / "env.py")
    shutil.copy(template / "alembic.ini.mako", repo / "migrations" / "alembic.ini")
    write(repo / "migrations" / "versions" / "0001_notes.py", '''\
        """notes

        Revision ID: 0001
        Revises:
        Create Date: 2024-01-01 00:00:00
        """
        import sqlalchemy as sa
        from alembic import op

        revision = "0001"
        down_revision = None
        branch_labels = None
        depends_on = None


        def upgrade():
            op.create_table("note", sa.Column("id", sa.Integer(), primary_key=True),
                            sa.Column("text", sa.String(200), nullable=False))


        def downgrade():
            op.drop_table("note")
        ''')
    done, report, check = audit(tmp_path, repo)
    row = check["metrics"]["scratch"][0]
    assert row["result"] == "upgrade ok; models match; downgrade ok; upgrade again ok", row
    assert check["status"] == "pass" and done.returncode == 0
    assert not (repo / "production.db").exists() and not (repo / "instance").exists()


def test_flask_migrate_without_an_app_says_why(tmp_path):
    flask_migrate = pytest.importorskip("flask_migrate")
    template = Path(flask_migrate.__file__).parent / "templates" / "flask"
    repo = make_alembic_repo(tmp_path / "repo", [REV_0001])
    shutil.copy(template / "env.py", repo / "migrations" / "env.py")
    (repo / "alembic.ini").unlink()
    shutil.copy(template / "alembic.ini.mako", repo / "migrations" / "alembic.ini")
    outcome, status = run_check(repo, tmp_path)
    row = outcome.metrics["scratch"][0]
    assert row["verified"] is False and not outcome.findings and status == "warn"
    assert row["result"].startswith("not verified: load the Flask app failed before any migration ran")
    assert "FLASK_APP" in row["result"]


DJANGO_SETTINGS = '''\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "fixture-only"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "production", "HOST": "db.invalid"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
'''


def django_site(tmp_path: Path, extra_field: str = "") -> Path:
    """A Django project (its settings name a production PostgreSQL host) with an app `shop`: model Item
    (name, plus ``extra_field``) and one initial migration creating Item(id, name)."""
    repo = tmp_path / "site"
    write(repo / "manage.py", 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")\n')
    write(repo / "config" / "__init__.py", "")
    write(repo / "config" / "settings.py", DJANGO_SETTINGS)
    write(repo / "shop" / "__init__.py", "")
    write(repo / "shop" / "models.py", "from django.db import models\n\n\nclass Item(models.Model):\n"
                                       f"    name = models.CharField(max_length=50)\n{extra_field}")
    write(repo / "shop" / "migrations" / "__init__.py", "")
    write(repo / "shop" / "migrations" / "0001_initial.py", '''\
        from django.db import migrations, models


        class Migration(migrations.Migration):
            initial = True
            dependencies = []
            operations = [migrations.CreateModel(name="Item", fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=50))])]
        ''')
    return repo


def test_django_migrate_and_makemigrations_check_on_the_scratch_database(tmp_path):
    pytest.importorskip("django")
    repo = django_site(tmp_path, extra_field="    price = models.IntegerField(default=0)\n")
    # The settings name a production PostgreSQL host: every alias is forced onto the scratch SQLite file.
    outcome, status = run_check(repo, tmp_path)
    row = outcome.metrics["scratch"][0]
    assert row["framework"] == "django" and row["engine"] == "sqlite" and row["verified"] is True, row
    assert row["result"].startswith("upgrade ok; 1 difference(s) between models and migrations")
    assert row["result"].endswith("downgrade ok; upgrade again ok")
    (drift,) = [f for f in outcome.findings if f.rule_id == "MIG005"]
    assert drift.evidence == "Add field price to item" and status == "fail"


def test_django_downgrade_stopped_by_a_migration_without_reverse_code_is_mig003_once(tmp_path):
    """A RunPython without reverse_code is MIG003 on its file; `migrate <app> zero` then stops there with
    IrreversibleError, the same problem: the scratch row says where it stopped, no MIG007 repeats it."""
    pytest.importorskip("django")
    repo = django_site(tmp_path)
    write(repo / "shop" / "migrations" / "0002_fill_names.py", '''\
        from django.db import migrations


        def fill(apps, schema_editor):
            apps.get_model("shop", "Item").objects.filter(name="").update(name="unnamed")


        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]
            operations = [migrations.RunPython(fill)]
        ''')
    outcome, _status = run_check(repo, tmp_path)
    row = outcome.metrics["scratch"][0]
    assert row["verified"] is True and row["result"] == (
        "upgrade ok; models match; downgrade stops at shop.0002_fill_names (irreversible, MIG003)"), row
    assert [f.location["file"] for f in outcome.findings if f.rule_id == "MIG003"] == \
        ["shop/migrations/0002_fill_names.py"]
    assert not [f for f in outcome.findings if f.rule_id == "MIG007"]
