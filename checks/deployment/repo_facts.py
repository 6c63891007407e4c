"""Static facts about the repository: configuration from the environment, committed .env files, a
runbook or operations docs, CI configuration. Pure functions over the walked files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from auditor.model import Finding, Severity
from auditor.defects import committed_env_defect
from auditor.repofiles import env_keys
from checks.deployment.repo_files import RepoFiles, matches_any, read_text, up_to_git_root
from checks.deployment.rules import make_finding
from checks.deployment.secrets import is_secret_name

MAX_PY_FILES = 2000
MAX_PY_BYTES = 300_000
MAX_ENV_BYTES = 200_000

# Ways Python services read their settings from the environment.
ENV_READERS = re.compile(
    r"os\.environ|os\.getenv\(|\bgetenv\(|\benviron\[|\benviron\.get\(|BaseSettings\b|pydantic_settings|"
    r"\benviron\.Env\(|from\s+environs\s+import|import\s+environs|from\s+decouple\s+import|dynaconf|"
    r"load_dotenv\(")

# Self-hosting guides (self_hosted.md, self-hosting.md) and production guides (production.md) are how an
# open-source service documents its operation: rank as operations docs.
RUNBOOK_NAMES = re.compile(r"^(?:runbook|runbooks|operations|ops|playbook|oncall|on-call|deployment|deploy|"
                           r"operating|sre|self[-_]?host(?:ed|ing)?|production)(?:[-_.][\w.-]*)?\.(?:md|rst|txt|adoc)$",
                           re.IGNORECASE)
RUNBOOK_DIRS = frozenset({"runbooks", "runbook", "ops", "operations", "playbooks"})
# The CI systems recognised (docs/checks/deployment.md has the table): GitHub Actions, GitLab CI,
# Gitea/Forgejo Actions, Woodpecker, Drone, CircleCI, Jenkins, Azure Pipelines, Bitbucket Pipelines,
# Buildkite, Travis CI, and a few more.
CI_FILES = (".gitlab-ci.yml", ".gitlab-ci.yaml", ".travis.yml", "Jenkinsfile", "azure-pipelines.yml",
            "azure-pipelines.yaml", "bitbucket-pipelines.yml", ".drone.yml", ".drone.yaml", ".woodpecker.yml",
            ".woodpecker.yaml", "appveyor.yml", "cloudbuild.yaml", "cloudbuild.yml", "buildspec.yml", "codefresh.yml",
            ".circleci/config.yml", ".circleci/config.yaml", ".buildkite/pipeline.yml", ".buildkite/pipeline.yaml",
            ".semaphore/semaphore.yml")
CI_DIRS = (".github/workflows", ".gitea/workflows", ".forgejo/workflows", ".woodpecker", ".tekton", ".ci",
           ".buildkite", ".azure-pipelines", ".jenkins")
# Workflow directories whose entries are YAML workflow files (anything else there is not a pipeline).
_WORKFLOW_DIRS = frozenset({".github/workflows", ".gitea/workflows", ".forgejo/workflows"})


@dataclass
class ConfigFacts:
    readers: list[str] = field(default_factory=list)   # "settings.py:12" where the environment is read
    scanned: int = 0


def _is_test(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    return (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            or any(p in ("tests", "test", "testing") for p in parts[:-1]))


def config_from_env(files: RepoFiles) -> ConfigFacts:
    """Where the service's own code (tests left out: they prove nothing about the service) reads the
    environment."""
    facts = ConfigFacts()
    sources = [p for p in files.python_files if not _is_test(files.rel(p))]
    for path in sources[:MAX_PY_FILES]:
        try:
            text = read_text(path, MAX_PY_BYTES)
        except OSError:
            continue
        facts.scanned += 1
        match = ENV_READERS.search(text)
        if match:
            facts.readers.append(f"{files.rel(path)}:{text.count(chr(10), 0, match.start()) + 1}")
    return facts


# Code that bounds or handles shutdown: a hint for the checklist's detail when nothing was measured.
SHUTDOWN_HINTS = re.compile(r"timeout_graceful_shutdown|timeout-graceful-shutdown|graceful_timeout|graceful-timeout|"
                            r"signal\.SIGTERM|add_signal_handler\(|terminationGracePeriodSeconds|preStop")


def shutdown_hints(files: RepoFiles, limit: int = 3) -> list[str]:
    """Where the service's sources or manifests configure shutdown ("app/main.py:12 (graceful_timeout)")."""
    hints: list[str] = []
    candidates = [p for p in files.python_files if not _is_test(files.rel(p))] + files.yaml_files
    for path in candidates[:MAX_PY_FILES]:
        try:
            text = read_text(path, MAX_PY_BYTES)
        except OSError:
            continue
        match = SHUTDOWN_HINTS.search(text)
        if match:
            hints.append(f"{files.rel(path)}:{text.count(chr(10), 0, match.start()) + 1} ({match.group(0)})")
            if len(hints) >= limit:
                break
    return hints


def judge_config(facts: ConfigFacts) -> tuple[list[Finding], str]:
    if facts.readers:
        shown = ", ".join(facts.readers[:3]) + (f" and {len(facts.readers) - 3} more" if len(facts.readers) > 3 else "")
        return [], f"read from the environment in {shown}"
    if not facts.scanned:
        return [], "no Python sources to look at"
    return [make_finding("DPL021", f"None of the {facts.scanned} Python files reads the environment (os.environ, "
                         "os.getenv, pydantic-settings, django-environ, environs, python-decouple, dynaconf).",
                         {"file": ".", "line": 1})], f"no environment reads in {facts.scanned} Python files"


def judge_env_files(files: RepoFiles) -> tuple[list[Finding], str]:
    """DPL020 for each .env file git tracks (or, outside git, that is simply there) and that sets at least
    one value: `KEY=` with nothing, comments and blank lines are a template's, not configuration."""
    findings: list[Finding] = []
    committed: list[str] = []
    templates: list[str] = []
    for path in files.env_files:
        tracked = files.is_tracked(path)
        if tracked is False:
            continue  # a local, untracked .env is how it should be
        rel = files.rel(path)
        keys = _keys_with_values(path)
        if not keys:
            templates.append(rel)
            continue
        committed.append(rel)
        secret_keys = [k for k in keys if is_secret_name(k)]
        where = "is committed" if tracked else "is in the repository (not a git checkout: cannot tell if committed)"
        sets = f"; it sets {', '.join(secret_keys[:5])}" if secret_keys else ""
        message = f"{rel} {where} with {len(keys)} value{'s' if len(keys) != 1 else ''}{sets}."
        finding = make_finding("DPL020", message, {"file": rel, "line": 1},
                               evidence=", ".join(f"{k}=***" for k in keys[:8]),
                               severity=Severity.HIGH if secret_keys else Severity.MEDIUM)
        finding.defect = committed_env_defect(path)  # the security check's SEC012 names the same file
        findings.append(finding)
    detail = f"committed: {', '.join(committed)}" if committed else "no committed .env"
    if templates:
        detail += f"; without values (a template, not reported): {', '.join(templates)}"
    return findings, detail


def _keys_with_values(path: Path) -> list[str]:
    """The keys that carry a value (parsed as the security check parses .env files), public build-time
    variables left out."""
    try:
        text = read_text(path, MAX_ENV_BYTES)
    except OSError:
        return []
    return list(dict.fromkeys(key for key, has_value in env_keys(text) if has_value and not key.startswith(PUBLIC_PREFIXES)))


# Frontend build tools inline these into the shipped bundle on purpose (Vite, Next.js, Create React App, Nuxt,
# Expo, Gatsby): public by design, committed in .env.production by convention — not deployment secrets.
PUBLIC_PREFIXES = ("VITE_", "NEXT_PUBLIC_", "REACT_APP_", "NUXT_PUBLIC_", "EXPO_PUBLIC_", "GATSBY_", "PUBLIC_")


def find_runbook(files: RepoFiles, extra_globs: list[str]) -> str | None:
    """The best operations doc: a configured path, a runbook-named file, an operations one, a deploy
    one, a file in a runbooks/ or ops/ directory; else a README section about operations; in the repo
    and up to the git root."""
    ranked: list[tuple[int, int, str]] = []
    for path in files.docs:
        rel = files.rel(path)
        rank = _doc_rank(path.name, rel, extra_globs)
        if rank is not None:
            ranked.append((rank, len(rel), rel))
    for directory in up_to_git_root(files.root, files.git_root)[1:]:  # the repo itself was walked
        for name in ("RUNBOOK.md", "OPERATIONS.md", "docs/runbook.md", "docs/operations.md"):
            if files.readable(directory / name):
                ranked.append((_doc_rank(Path(name).name, name, []) or 0, 0, files.rel(directory / name)))
    if ranked:
        return min(ranked)[2]
    for directory in up_to_git_root(files.root, files.git_root):
        for readme in ("README.md", "README.rst", "README"):
            path = directory / readme
            if files.readable(path):
                try:
                    text = read_text(path, 500_000)
                except OSError:
                    continue
                heading = _ops_heading(text)
                if heading:
                    return f"{files.rel(path)} (section “{heading}”)"
    return None


def _doc_rank(name: str, rel: str, extra_globs: list[str]) -> int | None:
    """0 best: configured; 1 runbook-like; 2 operations-like; 3 deploy docs; 4 in an ops directory."""
    if extra_globs and matches_any(rel, extra_globs):
        return 0
    match = RUNBOOK_NAMES.match(name)
    if match:
        stem = name.lower()
        if stem.startswith(("runbook", "playbook", "oncall", "on-call")):
            return 1
        return 3 if stem.startswith("deploy") else 2
    if any(part.lower() in RUNBOOK_DIRS for part in Path(rel).parts[:-1]):
        return 4
    return None


def _ops_heading(text: str) -> str | None:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        is_heading = line.startswith("#") or (i + 1 < len(lines) and re.fullmatch(r"[=-]{3,}", lines[i + 1].strip()))
        # "Running in Production", "Production setup", "Self-hosting" are operations sections as much as
        # "Deployment" is.
        if is_heading and re.search(r"\b(?:runbook|operations|operating|deploy(?:ing|ment)?|troubleshooting|"
                                    r"on-?call|incident|production|self-?host(?:ed|ing)?)\b", line, re.IGNORECASE):
            return line.lstrip("# ").strip()[:80]
    return None


def find_ci(files: RepoFiles) -> list[str]:
    found: list[str] = []
    for directory in up_to_git_root(files.root, files.git_root):
        for name in CI_FILES:
            if files.readable(directory / name):
                found.append(files.rel(directory / name))
        for name in CI_DIRS:
            folder = directory / name
            if folder.is_dir():
                entries = sorted(p for p in folder.iterdir() if files.readable(p))
                if name in _WORKFLOW_DIRS:
                    entries = [p for p in entries if p.suffix in (".yml", ".yaml")]
                found.extend(files.rel(p) for p in entries[:3])
    return found
