"""Findings a reviewer can trust (issue 16): repository findings judged by where they sit.

A fixture repository written the way real ones are: test fixtures full of fake passwords, an
.env.example and a docs snippet with placeholders, a CI workflow condition on a secret's presence, a
frontend API URL, Alembic revision ids, a lock file full of hashes, a seed script using random, tests
with asserts — next to one real secret in production code and one real insecure call. The real ones stay
found at their severity; the rest are identifier shapes (dropped), low or info, or not applicable."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.model import Outcome
from auditor.repo_context import FileContext, RepoContext, classify
from checks.security.check import SecurityCheck
from checks.security.config import SecurityConfig
from tests.conftest import check_context

REAL_SECRET = "Zq8#vN3pL6wR1tY9"  # pragma: allowlist secret — fixture value for this test
AWS_KEY = "AKIAZ7Q3WLXS4NDK2RTB"  # pragma: allowlist secret — a made-up key of the AWS format

FILES = {
    # production code: a real secret and a real shell injection
    "app/settings.py": f'DATABASE_PASSWORD = "{REAL_SECRET}"\n',
    "app/run.py": "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n",
    # tests and fixtures
    "tests/conftest.py": 'ADMIN_PASSWORD = "Xk29fjQ0zpLm7Ty4"\n',  # pragma: allowlist secret
    "tests/test_login.py": 'def test_login():\n    password = "hunter2hunter2"\n    assert len(password) > 3\n',
    "app/tests.py": 'def test_x():\n    assert True\n',   # Django's tests.py
    "tests/fixtures/aws.py": f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n',
    # examples and docs
    ".env.example": "POSTGRES_PASSWORD=changethis\nSECRET_KEY=changethis\n",
    "README.md": '```sh\nexport POSTGRES_PASSWORD="changethis"\n```\n',
    # CI: a condition on a secret's presence
    ".github/workflows/ci.yml": "jobs:\n  deploy:\n    if: env.HAS_SECRETS == 'true'\n    steps: []\n",
    ".gitea/workflows/build.yml": "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n",
    # a frontend API URL (no credential)
    "frontend/.env.production": "VITE_API_URL=https://api.example.test/v1\n",
    # migrations: revision ids
    "migrations/versions/3f2a9c81be4d_add_users.py": ('"""add users\n\nRevision ID: 3f2a9c81be4d\nRevises: 9b1e7d30c2aa\n"""\n'
                                                      'revision = "3f2a9c81be4d"\ndown_revision = "9b1e7d30c2aa"\n'),
    # a lock file full of hashes
    "package-lock.json": ('{"packages": {"node_modules/a": {"integrity": "sha512-'
                          'z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="}}}\n'),
    # a seed script with random
    "scripts/seed_data.py": "import random\n\n\ndef author():\n    return random.choice(['a', 'b'])\n",
    # a management command generating demo content (wagtail/bakerydemo's create_random_data)
    "app/management/commands/create_random_data.py": "import random\n\n\ndef n():\n    return random.randint(1, 9)\n",
    # content hashes of a data fixture's images (Wagtail: "hash", "file_hash")
    "app/fixtures/content.json": ('[{"model": "images.image", "fields": {"file_hash": '
                                  '"214c67da2b04efc27497219d23a03c8abb284a9d", "hash": "38d4e3d21edf927c9e686fe858c0d8c5"}}]\n'),
}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    repo = tmp_path_factory.mktemp("ctxrepo")
    for rel, text in FILES.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    work = tmp_path_factory.mktemp("work")
    ctx = check_context(None, SecurityConfig(service=False), work, repo=repo)
    with ctx.http:
        return SecurityCheck().run(ctx)


def _by_file(outcome: Outcome) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for f in outcome.findings:
        out.setdefault(f.location.get("file", ""), []).append((f.rule_id, str(f.severity)))
    return out


def test_real_secrets_and_real_defects_in_production_code_stay_high(outcome):
    found = _by_file(outcome)
    assert ("SEC010", "high") in found["app/settings.py"]
    assert any(rule == "SEC001" and sev == "high" for rule, sev in found["app/run.py"])  # B602 shell=True
    assert REAL_SECRET not in str([f.to_dict() for f in outcome.findings])


def test_fixture_example_and_ci_secrets_are_low_or_info_never_high(outcome):
    found = _by_file(outcome)
    high = [(file, rule) for file, items in found.items() for rule, sev in items
            if sev in ("high", "critical") and file not in ("app/settings.py", "app/run.py")]
    assert high == []
    assert found["tests/conftest.py"] == [("SEC010", "low")]
    # a verified provider-token format outside production: still found, medium (a test key is often real)
    assert ("SEC013", "medium") in found["tests/fixtures/aws.py"]
    for placeholder in (".env.example", "README.md"):
        assert all(sev in ("info", "low") for _, sev in found.get(placeholder, [])), found.get(placeholder)


def test_identifier_shapes_are_never_secret_findings(outcome):
    found = _by_file(outcome)
    assert "migrations/versions/3f2a9c81be4d_add_users.py" not in found
    assert "package-lock.json" not in found
    assert "app/fixtures/content.json" not in found          # content hashes under keys that name them
    assert ".github/workflows/ci.yml" not in found          # `HAS_SECRETS == 'true'` is a condition
    assert not [f for f in outcome.findings if f.location.get("file") == "frontend/.env.production"
                and f.rule_id != "SEC012"]                  # a URL without credentials
    assert outcome.metrics["secret_identifiers_dropped"] >= 2


def test_bandit_rules_that_mean_nothing_where_they_sit_are_not_reported(outcome):
    rules = {(f.location.get("file"), f.title.split()[0]) for f in outcome.findings if f.rule_id == "SEC001"}
    assert ("scripts/seed_data.py", "B311") not in rules      # random seeds data
    assert ("app/management/commands/create_random_data.py", "B311") not in rules
    assert not [r for r in rules if r[0] in ("app/tests.py", "tests/test_login.py")]  # tests not scanned by default
    assert outcome.metrics["bandit_not_applicable"] >= 1


@pytest.mark.parametrize(("rel", "context"), [
    ("app/main.py", FileContext.PRODUCTION), ("app/tasks.py", FileContext.PRODUCTION),
    ("src/config/settings.py", FileContext.PRODUCTION), (".env", FileContext.PRODUCTION),
    ("requirements.txt", FileContext.PRODUCTION), ("scripts/deploy.sh", FileContext.PRODUCTION),
    ("tests/test_x.py", FileContext.TEST), ("app/tests.py", FileContext.TEST), ("pkg/conftest.py", FileContext.TEST),
    ("app/fixtures/users.json", FileContext.TEST), ("web/src/app.test.ts", FileContext.TEST),
    ("spec/models/user_spec.rb", FileContext.TEST), ("pkg/handler_test.go", FileContext.TEST),
    ("docs/setup.md", FileContext.EXAMPLE), ("README.md", FileContext.EXAMPLE), (".env.example", FileContext.EXAMPLE),
    ("examples/client.py", FileContext.EXAMPLE),
    (".github/workflows/ci.yml", FileContext.TOOLING), (".gitea/workflows/x.yml", FileContext.TOOLING),
    (".gitlab-ci.yml", FileContext.TOOLING), ("docker-compose.yml", FileContext.TOOLING),
    ("compose.dev.yaml", FileContext.TOOLING), ("Makefile", FileContext.TOOLING), ("tasks.py", FileContext.TOOLING),
    (".env.development", FileContext.TOOLING),
    ("migrations/versions/ab12_x.py", FileContext.MIGRATION), ("app/migrations/0001_initial.py", FileContext.MIGRATION),
    ("scripts/seed_db.py", FileContext.SEED), ("app/management/commands/seed.py", FileContext.SEED),
    ("app/management/commands/create_random_data.py", FileContext.SEED),
    ("scripts/generate_fake_data.py", FileContext.SEED),
])
def test_file_contexts(rel, context):
    assert classify(rel) is context


def test_the_repos_own_pytest_testpaths_count_as_tests(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["checks_suite"]\n')
    context = RepoContext(tmp_path)
    assert context("checks_suite/login.py") is FileContext.TEST and context("app/login.py") is FileContext.PRODUCTION


def test_a_weak_hash_for_an_avatar_url_is_low_and_one_for_passwords_stays_high(tmp_path):
    """Seen on a real Flask app (microblog): md5 of the e-mail for a Gravatar URL is what Gravatar's API
    asks for, not a security use."""
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "models.py").write_text(
        "from hashlib import md5\n\n\n"
        "def avatar(email, size):\n"
        "    digest = md5(email.lower().encode('utf-8')).hexdigest()\n"
        "    return f'https://www.gravatar.com/avatar/{digest}?s={size}'\n\n\n"
        "def hash_password(password):\n"
        "    return md5(password.encode()).hexdigest()\n")
    ctx = check_context(None, SecurityConfig(service=False, secrets=False), tmp_path / "work", repo=repo)
    with ctx.http:
        outcome = SecurityCheck().run(ctx)
    by_line = {f.location["line"]: f for f in outcome.findings if f.title.startswith("B324")}
    assert str(by_line[5].severity) == "low" and "non-security use (avatar)" in by_line[5].message
    assert str(by_line[10].severity) == "high"


def test_mark_safe_is_one_finding_and_none_on_a_literal(tmp_path):
    """bandit reports a Django mark_safe call as B308 (any call) and B703 (reads the argument): one call is
    one finding, and mark_safe of a string literal (a fixed banner) is none — no input reaches it."""
    repo = tmp_path / "repo"
    (repo / "web").mkdir(parents=True)
    (repo / "web" / "tags.py").write_text(
        "from django.utils.safestring import mark_safe\n\n\n"
        "def banner():\n"
        "    return mark_safe(\"<div class='warn'>Debug mode</div>\")\n\n\n"
        "def greet(name):\n"
        "    return mark_safe('<b>' + name + '</b>')\n")
    ctx = check_context(None, SecurityConfig(service=False, secrets=False), tmp_path / "work", repo=repo)
    with ctx.http:
        outcome = SecurityCheck().run(ctx)
    flagged = sorted((f.location["line"], f.title.split()[0]) for f in outcome.findings if f.rule_id == "SEC001")
    assert flagged == [(9, "B703")]
    assert outcome.metrics["bandit_redundant"] == 2


def test_a_weak_hash_naming_a_rate_limit_bucket_is_low_and_a_token_hash_stays_high(tmp_path):
    """A salted SHA-1 of an e-mail used as the key of a rate-limit counter (its use two lines below) is not a
    security use of the hash; SHA-1 of a reset token is."""
    repo = tmp_path / "repo"
    (repo / "shop").mkdir(parents=True)
    (repo / "shop" / "limits.py").write_text(
        "import hashlib\n\n\n"
        "def allow_login(email, secret):\n"
        "    digest = hashlib.sha1((email + secret).encode()).hexdigest()\n\n"
        "    # 10 attempts an hour\n"
        "    return TokenBucket.authorize(f'login-{digest}', 10, 3600)\n\n\n"
        "def reset_token(user):\n"
        "    return hashlib.sha1(user.password.encode()).hexdigest()\n")
    ctx = check_context(None, SecurityConfig(service=False, secrets=False), tmp_path / "work", repo=repo)
    with ctx.http:
        outcome = SecurityCheck().run(ctx)
    by_line = {f.location["line"]: f for f in outcome.findings if f.title.startswith("B324")}
    assert str(by_line[5].severity) == "low" and "non-security use (TokenBucket)" in by_line[5].message
    assert str(by_line[12].severity) == "high"


def test_a_keyword_hit_on_a_status_or_a_flag_named_after_a_credential_is_no_secret(tmp_path):
    """detect-secrets' keyword detector fires on any key containing password/api_key: a view setting the
    status of the password form, and a context flag looked up by its own name, are no credentials; a
    password beside them stays high, and `password = "password"` stays reported (a weak password)."""
    repo = tmp_path / "repo"
    (repo / "accounts").mkdir(parents=True)
    (repo / "accounts" / "views.py").write_text(
        "def profile(request, ctx):\n"
        "    if request.session.pop('changed', False):\n"
        "        ctx[\"email_password_status\"] = \"success\"\n"
        "    ctx.update({\n"
        "        \"show_api_keys\": \"show_api_keys\" in request.GET,\n"
        "    })\n"
        "    return ctx\n\n\n"
        f"SMTP_PASSWORD = \"{REAL_SECRET}\"\n"
        "password = \"password\"\n")
    ctx = check_context(None, SecurityConfig(service=False, bandit=False), tmp_path / "work", repo=repo)
    with ctx.http:
        outcome = SecurityCheck().run(ctx)
    lines = {f.location["line"]: str(f.severity) for f in outcome.findings if f.rule_id == "SEC010"}
    assert lines == {10: "high", 11: "low"}
    assert outcome.metrics["secret_identifiers_dropped"] == 2
