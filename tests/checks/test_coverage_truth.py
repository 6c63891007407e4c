"""Issue 14's proofs for the coverage check, through the real `audit` command on fixture repos written here
(real interpreters, real runners): the right runner, the right interpreter, the right code, and never a
figure from a run that did not test. Each figure is compared with coverage.py's own, measured the plain
way (`coverage run --source=<package>`)."""

from __future__ import annotations

import json
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.checks.coverage_helpers import FAST_PYTEST, coverage_own_total, git_init, write
from tests.conftest import run_audit_cli

pytestmark = pytest.mark.timeout(300)

PRICING = '''\
def net(price, vat):
    return round(price * (1 + vat), 2)


def discount(price, percent):
    if percent < 0 or percent > 100:
        raise ValueError("percent out of range")
    return price * (100 - percent) / 100


def bulk(items):
    total = 0
    for price, count in items:
        total += price * count
    if total > 1000:
        total *= 0.9
    return total


def unused(x):
    y = x + 1
    return y * 2
'''


def audit_config(tmp: Path) -> Path:
    """An audit config outside the repo: the fixture suites need no pytest plugin (the auditor's venv has
    heavy ones), and the figure must not depend on the threshold."""
    path = tmp / "audit.toml"
    env = ", ".join(f'{k} = "{v}"' for k, v in FAST_PYTEST.items())
    path.write_text(f"[coverage]\nenv = {{{env}}}\n", encoding="utf-8")
    return path


def audit(tmp: Path, repo: Path | str, *extra: str, cwd: Path | None = None, checks: str = "coverage"):
    out = tmp / "out"
    done = run_audit_cli("run", "--repo", str(repo), "--checks", checks, "--config", str(audit_config(tmp)),
                         "--output-dir", str(out), "--format", "json", *extra, cwd=cwd, timeout=240)
    report = json.loads((out / "report.json").read_text())
    check = next(c for c in report["checks"] if c["id"] == checks.split(",")[0])
    return done, report, check


def test_package_repo_figure_is_coverage_run_source_package(tmp_path):
    repo = tmp_path / "shop"
    write(repo / "pyproject.toml", '[project]\nname = "shop"\nversion = "0"\n\n[tool.pytest.ini_options]\n'
                                   'pythonpath = ["."]\n')
    write(repo / "shop" / "__init__.py", "")
    write(repo / "shop" / "pricing.py", PRICING)
    write(repo / "tests" / "conftest.py", "import pytest\n\n\n@pytest.fixture\ndef vat():\n    return 0.2\n")
    write(repo / "tests" / "test_pricing.py", """\
        from shop.pricing import bulk, discount, net


        def test_net(vat):
            assert net(10, vat) == 12.0


        def test_discount():
            assert discount(200, 25) == 150


        def test_bulk_small():
            assert bulk([(10, 2)]) == 20
        """)
    own = coverage_own_total(repo, tmp_path, "shop")
    own_all = coverage_own_total(repo, tmp_path)
    done, report, check = audit(tmp_path, repo)
    m = check["metrics"]
    assert m["percent_covered"] == pytest.approx(own["totals"]["percent_covered"], abs=0.01), done.stdout
    assert m["percent_covered_with_tests"] == pytest.approx(own_all["totals"]["percent_covered"], abs=0.01)
    assert (m["tests_passed"], m["tests_failed"]) == (3, 0)
    assert m["runner"] == "pytest" and "pytest is configured" in m["runner_reason"]
    assert "of application code, tests excluded" in check["summary"] and "runner pytest" in check["summary"]
    assert {row["file"] for row in m["files"]} == {"shop/__init__.py", "shop/pricing.py"}
    # The console line says the same as the report, and the runner's choice.
    assert "tests excluded" in done.stderr and "runner pytest" in done.stderr


def test_unittest_only_repo_runs_unittest_discover(tmp_path):
    repo = tmp_path / "inventory"
    write(repo / "inventory" / "__init__.py", "")
    write(repo / "inventory" / "stock.py", PRICING)
    write(repo / "tests" / "__init__.py", "")
    write(repo / "tests" / "test_stock.py", """\
        import unittest

        from inventory.stock import bulk, discount


        class StockTests(unittest.TestCase):
            def test_discount(self):
                self.assertEqual(discount(100, 10), 90)

            def test_discount_range(self):
                with self.assertRaises(ValueError):
                    discount(100, 101)

            def test_bulk_fails(self):
                self.assertEqual(bulk([(1, 1)]), 2)

            @unittest.skip("later")
            def test_later(self):
                pass
        """)
    own = coverage_own_total(repo, tmp_path, "inventory", runner=("-m", "unittest", "discover"))
    done, report, check = audit(tmp_path, repo)
    m = check["metrics"]
    assert m["runner"] == "unittest" and m["command"] == "python -m unittest discover", m
    assert (m["tests_passed"], m["tests_failed"], m["tests_skipped"]) == (2, 1, 1)
    assert m["percent_covered"] == pytest.approx(own["totals"]["percent_covered"], abs=0.01)
    assert m["failed_tests"] == ["tests.test_stock.StockTests.test_bulk_fails"]
    assert done.returncode == 1 and check["status"] == "fail"


def test_import_crash_is_an_error_without_a_figure_naming_the_cause(tmp_path):
    repo = tmp_path / "crashy"
    write(repo / "pyproject.toml", "[tool.pytest.ini_options]\npythonpath = [\".\"]\n")
    write(repo / "crashy.py", "def f():\n    return 1\n")
    write(repo / "tests" / "test_a.py", "import crashy\n\n\ndef test_ok():\n    assert crashy.f() == 1\n")
    write(repo / "tests" / "test_b.py", "import not_installed_anywhere_pkg\n\n\ndef test_b():\n    pass\n")
    done, report, check = audit(tmp_path, repo)
    assert done.returncode == 2 and report["verdict"] == "error"
    assert check["status"] == "error" and check["metrics"]["percent_covered"] is None
    assert not [f for f in check["findings"] if f["rule_id"] == "COV001"]
    summary = check["summary"]
    assert "ModuleNotFoundError: No module named 'not_installed_anywhere_pkg'" in summary, summary
    # The auditor's own interpreter ran it (no venv here): the cause says what to do.
    assert "give --python" in summary and "\n" not in summary
    assert "AUDITOR'S OWN interpreter" in check["metrics"]["method"] or \
        check["metrics"]["python_source"].startswith("the auditor's own interpreter")


def test_zero_tests_is_cov004_without_a_figure(tmp_path):
    repo = tmp_path / "empty"
    write(repo / "pyproject.toml", "[tool.pytest.ini_options]\npythonpath = [\".\"]\n")
    write(repo / "lib.py", "def f():\n    return 1\n")
    write(repo / "tests" / "test_nothing.py", "# tests to come\nimport lib\n")
    done, report, check = audit(tmp_path, repo)
    assert [f["rule_id"] for f in check["findings"]] == ["COV004"]
    assert check["metrics"]["percent_covered"] is None and check["status"] == "fail"
    assert "no tests ran" in check["summary"] and done.returncode == 1


@pytest.fixture(scope="module")
def monorepo(tmp_path_factory) -> Path:
    """parent/ (a git work tree) with parent/.venv holding a small real package from the registry that the
    auditor's own venv lacks, and the service in parent/service/. The venv reaches coverage and pytest
    through a .pth line to the auditor's site-packages (so the test installs one package, not three)."""
    root = tmp_path_factory.mktemp("mono") / "parent"
    root.mkdir()
    with pytest.raises(ImportError):
        __import__("humanize")  # the proof needs a package the auditor's interpreter does not have
    venv = root / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    site_dir = next((venv / "lib").glob("python3*/site-packages"))
    (site_dir / "auditor-tools.pth").write_text(site.getsitepackages()[0] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site_dir),
                    "humanize==4.17.0"], check=True, capture_output=True, timeout=180)
    service = root / "service"
    write(service / "pyproject.toml", "[tool.pytest.ini_options]\npythonpath = [\".\"]\n")
    write(service / "fmt.py", "import humanize\n\n\ndef size(n):\n    return humanize.naturalsize(n)\n\n\n"
                              "def never(n):\n    return n * 2\n")
    write(service / "tests" / "test_fmt.py", "from fmt import size\n\n\ndef test_size():\n"
                                              "    assert size(3000) == '3.0 kB'\n")
    (root / "elsewhere").mkdir()
    git_init(root)
    return root


def test_parent_venv_is_found_without_python(monorepo, tmp_path):
    done, report, check = audit(tmp_path, monorepo / "service")
    m = check["metrics"]
    assert m["python"] == str(monorepo / ".venv" / "bin" / "python"), m["python_source"]
    assert "a parent of the repo" in m["python_source"]
    assert (m["tests_passed"], m["tests_failed"]) == (1, 0) and check["status"] == "pass"
    assert m["percent_covered"] == 80.0 and "AUDITOR'S OWN" not in check["summary"]  # never()'s body: 1 of 5 missed


def test_relative_python_from_another_directory(monorepo, tmp_path):
    done, report, check = audit(tmp_path, "../service", "--python", "../.venv/bin/python",
                                cwd=monorepo / "elsewhere")
    m = check["metrics"]
    assert m["python_source"] == "--python" and m["python"] == str(monorepo / ".venv" / "bin" / "python")
    assert (m["tests_passed"], m["tests_failed"]) == (1, 0) and m["percent_covered"] == 80.0
    missing = run_audit_cli("run", "--repo", "../service", "--checks", "coverage", "--python", "no/such/python",
                            "--output-dir", str(tmp_path / "out2"), cwd=monorepo / "elsewhere")
    assert missing.returncode == 2
    assert f"--python {monorepo}/elsewhere/no/such/python: no such file" in missing.stderr


DJANGO_SETTINGS = '''\
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "apps"))
SECRET_KEY = "fixture-only"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "blog"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE_DIR / "db.sqlite3")}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
'''


def test_django_tests_outside_packages_found_through_the_makefile_label(tmp_path):
    pytest.importorskip("django")
    repo = tmp_path / "site"
    write(repo / "manage.py", """\
        import os
        import sys

        if __name__ == "__main__":
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
            from django.core.management import execute_from_command_line
            execute_from_command_line(sys.argv)
        """)
    write(repo / "config" / "__init__.py", "")
    write(repo / "config" / "settings.py", DJANGO_SETTINGS)
    write(repo / "Makefile", "test:\n\tpython manage.py test apps\n")
    write(repo / "apps" / "blog" / "__init__.py", "")
    write(repo / "apps" / "blog" / "models.py", """\
        from django.db import models


        class Post(models.Model):
            title = models.CharField(max_length=100)

            def slug(self):
                return self.title.lower().replace(" ", "-")

            def shout(self):
                return self.title.upper()
        """)
    write(repo / "apps" / "blog" / "migrations" / "__init__.py", "")
    write(repo / "apps" / "blog" / "migrations" / "0001_initial.py", """\
        from django.db import migrations, models


        class Migration(migrations.Migration):
            initial = True
            dependencies = []
            operations = [migrations.CreateModel(name="Post", fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=100))])]
        """)
    write(repo / "apps" / "blog" / "tests.py", """\
        from django.test import TestCase

        from blog.models import Post


        class PostTests(TestCase):
            def test_slug(self):
                self.assertEqual(Post.objects.create(title="Hello World").slug(), "hello-world")

            def test_count(self):
                Post.objects.create(title="a")
                self.assertEqual(Post.objects.count(), 1)
        """)
    data, out = tmp_path / "own.data", tmp_path / "own.json"
    subprocess.run([sys.executable, "-m", "coverage", "run", f"--data-file={data}", f"--source={repo}",
                    f"--omit={repo}/apps/blog/tests.py", "manage.py", "test", "apps"], cwd=repo, check=True,
                   capture_output=True, env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    subprocess.run([sys.executable, "-m", "coverage", "json", f"--data-file={data}", "-o", str(out)], cwd=repo,
                   check=True, capture_output=True)
    own = json.loads(out.read_text())
    done, report, check = audit(tmp_path, repo)
    m = check["metrics"]
    assert m["runner"] == "django" and m["command"] == "python manage.py test apps", m
    assert "Makefile:2" in m["runner_reason"]
    assert (m["tests_passed"], m["tests_failed"]) == (2, 0)
    assert m["percent_covered"] == pytest.approx(own["totals"]["percent_covered"], abs=0.01)
    assert not (repo / "db.sqlite3").exists()  # Django's test database was in memory, nothing left


def test_one_error_failing_most_tests_is_one_finding_and_no_figure(tmp_path):
    repo = tmp_path / "needs_db"
    write(repo / "pyproject.toml", "[tool.pytest.ini_options]\npythonpath = [\".\"]\n")
    write(repo / "store.py", "def rows(conn):\n    return conn.recv(10)\n")
    write(repo / "tests" / "conftest.py", """\
        import socket

        import pytest


        @pytest.fixture
        def conn():
            # The test database the suite expects: nothing listens on port 9 here.
            return socket.create_connection(("127.0.0.1", 9), timeout=2)
        """)
    body = "".join(f"\n\ndef test_query_{i}(conn):\n    assert conn\n" for i in range(6))
    write(repo / "tests" / "test_store.py", "from store import rows" + body
          + "\n\ndef test_pure():\n    assert rows is not None\n")
    done, report, check = audit(tmp_path, repo)
    assert done.returncode == 2 and check["status"] == "error"
    assert check["metrics"]["percent_covered"] is None
    assert [f["rule_id"] for f in check["findings"]] == ["COV008"]
    finding = check["findings"][0]
    assert "ConnectionRefusedError" in finding["message"] and "6 of 7 tests" in finding["message"]
    assert "[tool.auditor.coverage] env" in finding["message"]
    assert "test environment broken" in check["summary"] and check["metrics"]["shared_failures"][0]["tests"] == 6


def test_a_suite_distributed_by_xdist_is_measured_in_one_process(tmp_path):
    """addopts = -n 2: `coverage run` would measure only xdist's controller (the modules imported, no function
    body run) — a real repo at 100 % read 78 %. The audit runs the suite with -n 0 and says so."""
    repo = tmp_path / "shop"
    write(repo / "pyproject.toml", '[project]\nname = "shop"\nversion = "0"\n\n[tool.pytest.ini_options]\n'
                                   'pythonpath = ["."]\naddopts = "-p xdist -n 2"\n')
    write(repo / "shop" / "__init__.py", "")
    write(repo / "shop" / "pricing.py", PRICING)
    write(repo / "tests" / "test_pricing.py", """\
        from shop.pricing import bulk, discount, net


        def test_net():
            assert net(10, 0.2) == 12.0


        def test_discount():
            assert discount(200, 25) == 150
        """)
    serial = coverage_own_total(repo, tmp_path / "serial", "shop",
                                runner=("-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0"))
    controller_only = coverage_own_total(repo, tmp_path / "distributed", "shop")
    assert controller_only["totals"]["percent_covered"] < serial["totals"]["percent_covered"]  # the trap is real
    done, _report, check = audit(tmp_path, repo)
    m = check["metrics"]
    assert m["percent_covered"] == pytest.approx(serial["totals"]["percent_covered"], abs=0.01), done.stdout
    assert (m["tests_passed"], m["tests_failed"]) == (2, 0)
    assert any("pytest-xdist turned off (-n 0)" in note for note in m["notes"])
