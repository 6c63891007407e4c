"""Issue 14's proofs for the repo's scope and for repos that are not Python, through the real `audit`
command: `--repo backend/` in a monorepo sees the workspace lock, the compose file and the .env at the git
root (and says which root it used); a Node.js service is judged honestly (coverage and migrations skipped
with what was found, its npm lock file audited against an offline OSV database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.dependencies import nodego
from tests.checks.coverage_helpers import git_init, write
from tests.conftest import run_audit_cli

pytestmark = pytest.mark.timeout(240)

UV_LOCK = '''\
version = 1
requires-python = ">=3.11"

[manifest]
members = ["backend", "tools"]

[[package]]
name = "anyio"
version = "4.4.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "idna" }, { name = "sniffio" }]

[[package]]
name = "backend"
version = "0.1.0"
source = { editable = "backend" }
dependencies = [{ name = "anyio" }, { name = "idna" }]

[[package]]
name = "idna"
version = "3.7"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "rich"
version = "13.7.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "sniffio"
version = "1.3.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "tools"
version = "0.1.0"
source = { editable = "tools" }
dependencies = [{ name = "rich" }]
'''


def offline_db(tmp: Path) -> Path:
    """A made-up OSV database: one PyPI record (so PyPI packages count as audited) and one npm record for
    the Node.js fixture's framework, fixed in a later release."""
    db = tmp / "osv"
    write(db / "PYSEC-2099-50.json", json.dumps({"id": "PYSEC-2099-50", "affected": [
        {"package": {"ecosystem": "PyPI", "name": "not-used-here"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]}]}))
    write(db / "GHSA-2099-nest-core.json", json.dumps({
        "id": "GHSA-2099-nest-core", "summary": "Fixture: request smuggling in the router",
        "database_specific": {"severity": "HIGH"},
        "affected": [{"package": {"ecosystem": "npm", "name": "@nestjs/core"},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "10.0.0"}, {"fixed": "10.3.2"}]}]}]}))
    return db


def test_monorepo_subdirectory_uses_the_root_lock_compose_and_env(tmp_path):
    mono = tmp_path / "mono"
    write(mono / "pyproject.toml", '[tool.uv.workspace]\nmembers = ["backend", "tools"]\n')
    write(mono / "uv.lock", UV_LOCK)
    write(mono / "docker-compose.yml", """\
        services:
          api:
            build: backend
            healthcheck:
              test: ["CMD", "curl", "-f", "http://localhost:8000/livez"]
        """)
    write(mono / ".env", "SECRET_KEY=committed-at-the-root\n")
    write(mono / "README.md", "# mono\n")
    write(mono / "backend" / "pyproject.toml", '[project]\nname = "backend"\nversion = "0.1.0"\n'
                                               'dependencies = ["anyio>=4", "idna"]\n')
    write(mono / "backend" / "app.py", "import os\n\nDEBUG = os.environ.get('DEBUG')\n")
    write(mono / "tools" / "pyproject.toml", '[project]\nname = "tools"\nversion = "0.1.0"\ndependencies = ["rich"]\n')
    git_init(mono)
    out = tmp_path / "out"
    done = run_audit_cli("run", "--repo", str(mono / "backend"), "--checks", "dependencies,deployment",
                         "--vuln-db", str(offline_db(tmp_path)), "--output-dir", str(out), "--format", "json")
    checks = {c["id"]: c for c in json.loads((out / "report.json").read_text())["checks"]}
    deps = checks["dependencies"]
    assert not [f for f in deps["findings"] if f["rule_id"] == "DEP010"], deps["findings"]
    assert deps["metrics"]["parent_locks"] == ["../uv.lock"]
    lock = next(m for m in deps["metrics"]["manifests"] if m["file"] == "../uv.lock")
    assert lock["dependencies"] == 3  # anyio, idna and anyio's sniffio: not the tools member's rich
    assert deps["metrics"]["audited"] == 3 and deps["metrics"]["scope"]["root"] == str(mono)
    assert "../uv.lock" in deps["summary"] and str(mono) in deps["metrics"]["method"]
    deploy = checks["deployment"]
    rules = {f["rule_id"]: f for f in deploy["findings"]}
    assert "DPL007" not in rules  # the root compose file's healthcheck counts
    assert deploy["metrics"]["compose_files"] == ["../docker-compose.yml"]
    assert rules["DPL020"]["location"]["file"] == "../.env"  # the committed root .env
    assert deploy["metrics"]["scope"]["root"] == str(mono) and "git root" in deploy["metrics"]["method"]
    assert "../docker-compose.yml" in deploy["summary"]


def node_service(root: Path) -> Path:
    write(root / "package.json", json.dumps({
        "name": "orders-api", "version": "1.0.0", "scripts": {"test": "jest"},
        "dependencies": {"@nestjs/core": "^10.0.0", "rxjs": "^7.8.0"}, "devDependencies": {"jest": "^29.7.0"}}))
    write(root / "package-lock.json", json.dumps({
        "name": "orders-api", "lockfileVersion": 3, "requires": True, "packages": {
            "": {"name": "orders-api", "dependencies": {"@nestjs/core": "^10.0.0", "rxjs": "^7.8.0"}},
            "node_modules/@nestjs/core": {"version": "10.2.0", "dependencies": {"rxjs": "^7.1.0"}},
            "node_modules/rxjs": {"version": "7.8.1"},
            "node_modules/jest": {"version": "29.7.0", "dev": True}}}, indent=2))
    write(root / "src" / "app.service.ts", "export class AppService { hello() { return 'hi'; } }\n")
    write(root / "test" / "app.spec.ts", "test('hello', () => expect(1).toBe(1));\n")
    return root


def test_node_service_is_judged_honestly(tmp_path):
    repo = node_service(tmp_path / "orders-api")
    out = tmp_path / "out"
    done = run_audit_cli("run", "--repo", str(repo), "--checks", "coverage,migrations,dependencies", "--vuln-db",
                         str(offline_db(tmp_path)), "--output-dir", str(out), "--format", "json")
    report = json.loads((out / "report.json").read_text())
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["coverage"]["status"] == "skipped"
    assert checks["coverage"]["summary"] == ("Node.js project (NestJS, package.json), jest tests: Python coverage "
                                             "does not apply (this version runs Python test suites only)")
    assert checks["migrations"]["status"] == "skipped" and "Node.js project" in checks["migrations"]["summary"]
    deps = checks["dependencies"]
    (vuln,) = [f for f in deps["findings"] if f["rule_id"] == "DEP001"]
    assert vuln["title"] == "@nestjs/core 10.2.0: GHSA-2099-nest-core (fixed in 10.3.2)"
    assert vuln["location"]["file"] == "package-lock.json" and vuln["severity"] == "high"
    assert deps["metrics"]["ecosystems"] == ["npm"] and deps["metrics"]["audited"] == 3
    assert not [f for f in deps["findings"] if f["rule_id"] == "DEP010"]  # the lock pins package.json's ranges
    # Not INCOMPLETE because of the checks that do not apply: the gate speaks about the vulnerability.
    assert report["verdict"] == "fail" and done.returncode == 1


def test_npm_packages_are_said_not_audited_online(tmp_path):
    """Without --vuln-db the online source is pip-audit, which knows PyPI only: npm pins are not audited,
    and the finding says so (never a clean pass)."""
    repo = node_service(tmp_path / "orders-api")
    out = tmp_path / "out"
    run_audit_cli("run", "--repo", str(repo), "--checks", "dependencies", "--output-dir", str(out), "--format", "json")
    check = json.loads((out / "report.json").read_text())["checks"][0]
    assert check["status"] == "warn"
    (dep020,) = [f for f in check["findings"] if f["rule_id"] == "DEP020"]
    assert "pip-audit audits PyPI packages only: npm packages need --vuln-db" in dep020["message"]


def test_yarn_pnpm_and_go_sum_are_read():
    yarn_classic = ('# yarn lockfile v1\n\n"@babel/core@^7.0.0", "@babel/core@^7.1.0":\n  version "7.24.0"\n'
                    '  resolved "https://registry.yarnpkg.com/x"\n\nlodash@^4.17.20:\n  version "4.17.21"\n\n'
                    'local@file:../local:\n  version "0.0.1"\n')
    declared, _, _ = nodego.parse_yarn_lock(Path("yarn.lock"), "yarn.lock", yarn_classic)
    assert [(d.name, d.version, d.line) for d in declared] == [("@babel/core", "7.24.0", 3), ("lodash", "4.17.21", 7)]
    berry = '__metadata:\n  version: 6\n\n"lodash@npm:^4.17.20":\n  version: 4.17.21\n\n"app@workspace:.":\n  version: 0.0.0-use.local\n'
    declared, _, _ = nodego.parse_yarn_lock(Path("yarn.lock"), "yarn.lock", berry)
    assert [(d.name, d.version) for d in declared] == [("lodash", "4.17.21")]
    pnpm = ("lockfileVersion: '9.0'\n\npackages:\n\n  '@nestjs/core@10.2.0':\n    resolution: {integrity: x}\n\n"
            "  rxjs@7.8.1:\n    resolution: {integrity: y}\n")
    declared, _, _ = nodego.parse_pnpm_lock(Path("pnpm-lock.yaml"), "pnpm-lock.yaml", pnpm)
    assert [(d.name, d.version, d.ecosystem) for d in declared] == [("@nestjs/core", "10.2.0", "npm"),
                                                                    ("rxjs", "7.8.1", "npm")]
    old_pnpm = "lockfileVersion: 5.4\npackages:\n  /lodash/4.17.21:\n    dev: false\n  /@types/node/20.1.0_x@1.0.0:\n    dev: true\n"
    declared, _, _ = nodego.parse_pnpm_lock(Path("pnpm-lock.yaml"), "pnpm-lock.yaml", old_pnpm)
    assert [(d.name, d.version) for d in declared] == [("lodash", "4.17.21"), ("@types/node", "20.1.0")]
    go_sum = ("golang.org/x/net v0.17.0 h1:abc=\ngolang.org/x/net v0.17.0/go.mod h1:def=\n"
              "github.com/x/y v0.0.0-20191109021931-daa7c04131f5 h1:ghi=\n")
    declared, _, _ = nodego.parse_go_sum(Path("go.sum"), "go.sum", go_sum)
    assert [(d.name, d.version, d.ecosystem) for d in declared] == [
        ("golang.org/x/net", "v0.17.0", "Go"), ("github.com/x/y", "v0.0.0-20191109021931-daa7c04131f5", "Go")]


def test_go_module_pins_match_osv_go_records(tmp_path):
    from checks.dependencies import osv

    db_dir = tmp_path / "osv"
    write(db_dir / "GO-2099-1.json", json.dumps({"id": "GO-2099-1", "affected": [
        {"package": {"ecosystem": "Go", "name": "golang.org/x/net"},
         "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.23.0"}]}]}]}))
    db = osv.load(db_dir, keys={("Go", "golang.org/x/net")})
    assert [v.fixed for v in osv.match(db, "golang.org/x/net", "v0.17.0", "Go")] == [("0.23.0",)]
    assert osv.match(db, "golang.org/x/net", "v0.23.0", "Go") == []
    assert db.knows("Go") and not db.knows("npm")
